"""Scoring users against the catalogue in chunks, and the metrics of a ranking on held-out pairs.

A *scorer* is anything with ``score(users) -> [len(users), I]`` float32: the graph filter, the
LightGCN embeddings (:class:`EmbeddingScorer`), the signals of :mod:`jobs.recommend.signals`
and their fusion (:class:`jobs.recommend.fusion.FusedScorer`).  :func:`top_items` ranks a set
of users through any of them, a chunk at a time, so that no ``[U, I]`` matrix is ever built.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp
import torch

from jobs.common.ranking import ranking_metrics

K = 20
"""The cut-off of the validation and evaluation metrics (Recall@20, NDCG@20, as LightGCN reports)."""


class Scorer(Protocol):
    """Scores users against every item."""

    def score(self, users: np.ndarray) -> np.ndarray:
        """Returns ``[len(users), I]`` float32 scores, higher is better."""
        ...


@runtime_checkable
class Ranker(Protocol):
    """A scorer that ranks the catalogue itself, faster than :func:`top_items` ranks its scores."""

    def recommend(
        self, users: np.ndarray, k: int = K, exclude_seen: bool = True, known: sp.csr_matrix | None = None,
        item_mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Returns ``(items [n, k] int64, scores [n, k] float32)`` of ``users``, best first, ``-1`` for none."""
        ...


@dataclass
class EmbeddingScorer:
    """Dot products of user and item embeddings (LightGCN's scores).

    Args:
        users: ``[U, D]`` user embeddings; ``items``: ``[I, D]`` item embeddings.
    """

    users: torch.Tensor
    items: torch.Tensor

    @torch.no_grad()
    def score(self, users: np.ndarray) -> np.ndarray:
        """Returns ``[len(users), I]`` float32 dot products."""
        rows = torch.from_numpy(users).to(self.users.device)
        return (self.users[rows] @ self.items.T).float().cpu().numpy()


def chunks(users: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Yields consecutive slices of ``users`` of at most ``size``."""
    for start in range(0, users.size, size):
        yield users[start : start + size]


def mask_seen(scores: np.ndarray, users: np.ndarray, known: sp.csr_matrix, item_mask: np.ndarray | None) -> np.ndarray:
    """Sets ``-inf``, in place, on each user's known items and on items outside ``item_mask``; returns ``scores``."""
    rows = known[users]
    scores[np.repeat(np.arange(users.size), np.diff(rows.indptr)), rows.indices] = -np.inf
    if item_mask is not None:
        scores[:, ~item_mask] = -np.inf
    return scores


def top_of(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(values [n, k] float32, items [n, k] int64)`` of masked scores, best first, ``-1`` for none."""
    k = min(k, scores.shape[1])
    values, items = torch.topk(torch.from_numpy(scores), k, dim=1, sorted=True)
    items[torch.isinf(values)] = -1
    return values.numpy(), items.numpy()


def top_items(
    scorer: Scorer, users: np.ndarray, known: sp.csr_matrix, k: int, item_mask: np.ndarray | None = None, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks every item for ``users`` through ``scorer``, known items (``[U, I]`` CSR) excluded.

    Returns:
        ``(scores [len(users), k] float32, items [len(users), k] int64)``, best first.
    """
    if isinstance(scorer, Ranker):
        ranked, values = scorer.recommend(users, k, known=known, item_mask=item_mask)
        return values, ranked
    return rank_scores(scorer, users, known, k, item_mask, chunk)


def rank_scores(
    scorer: Scorer, users: np.ndarray, known: sp.csr_matrix, k: int, item_mask: np.ndarray | None = None, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Returns :func:`top_items` of ``scorer`` computed from its full scores, a chunk of users at a time."""
    values, items = [], []
    for part in chunks(users, chunk):
        v, i = top_of(mask_seen(scorer.score(part), part, known, item_mask), k)
        values.append(v)
        items.append(i)
    if not values:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return np.concatenate(values), np.concatenate(items)


def held_out_metrics(
    scorer: Scorer, users: np.ndarray, known: sp.csr_matrix, truth: sp.csr_matrix, item_mask: np.ndarray | None = None
) -> dict[str, float]:
    """Returns ``recall@20``, ``ndcg@20``, ``hits@20`` and ``precision@20`` of ``scorer`` on the
    held-out pairs ``truth`` (``[U, I]`` CSR), for the ``users`` that have any."""
    _, top = top_items(scorer, users, known, K, item_mask)
    return ranking_metrics(top, truth.indptr, truth.indices, users, K)


def holdout(known: sp.csr_matrix, share: float, seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Splits each user's items: a seeded ``share`` (at least one) of the users with two or more.

    Returns:
        ``(kept [U, I], held [U, I])`` binary CSR matrices that add up to ``known``.
    """
    known = known.tocsr()
    counts = np.diff(known.indptr)
    rng = np.random.default_rng(seed)
    # A random key per pair, ranked within its row: a row's lowest keys are held out.
    order = np.lexsort((rng.random(known.nnz), np.repeat(np.arange(known.shape[0]), counts)))
    position = np.empty(known.nnz, dtype=np.int64)
    position[order] = np.arange(known.nnz) - np.repeat(known.indptr[:-1], counts)
    quota = np.where(counts >= 2, np.maximum(1, np.round(share * counts)), 0).astype(np.int64)
    held = position < np.repeat(quota, counts)
    coo = known.tocoo()

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((coo.data[mask], (coo.row[mask], coo.col[mask])), shape=known.shape)

    return part(~held), part(held)
