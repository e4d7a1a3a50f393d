"""Evaluating friend suggestions: hide a seeded 10% of friendships, then try to find them again.

The model and the baselines (common neighbours, Adamic-Adar) see the same 90% and rank every
user who is not already a friend; Recall@k and Hits@k are averaged over users with at least
one hidden friend.  The model is measured with and without text features, so the text's
contribution is visible.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np
import torch

from jobs.friends.features import Structure
from jobs.friends.model import FriendsConfig, fit_friend_scorer, suggest_friends
from jobs.common.ranking import csr_from_pairs, ranking_metrics
from jobs.common.runtime import seed_everything
from jobs.gnn.social import SocialGraph

log = logging.getLogger(__name__)


def split_friendships(friendships: torch.Tensor, hidden_share: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns ``(visible, hidden)`` ``[2, *]`` pairs, a seeded random split of ``friendships``."""
    order = torch.randperm(friendships.shape[1], generator=torch.Generator().manual_seed(seed))
    n_hidden = int(round(friendships.shape[1] * hidden_share))
    return friendships[:, order[n_hidden:]], friendships[:, order[:n_hidden]]


def _truth(hidden: torch.Tensor, num_users: int) -> tuple[np.ndarray, np.ndarray]:
    src, dst = hidden.numpy()
    return csr_from_pairs(np.concatenate([src, dst]), np.concatenate([dst, src]), num_users)


def _baseline_top_k(structure: Structure, queries: np.ndarray, k: int, score: str) -> np.ndarray:
    out = []
    step = max(1, 8_000_000 // max(structure.friends.shape[0], 1))
    for start in range(0, len(queries), step):
        rows = queries[start : start + step]
        scores = structure.common_neighbours(rows) if score == "common_neighbours" else structure.adamic_adar(rows)
        scores = scores.masked_fill(torch.from_numpy(structure.friends[rows].toarray() > 0), float("-inf"))
        scores[torch.arange(len(rows)), torch.from_numpy(rows)] = float("-inf")
        values, index = torch.topk(scores, k, dim=1)
        out.append(torch.where(torch.isfinite(values) & (values > 0), index, -1).numpy())
    return np.concatenate(out) if out else np.zeros((0, k), dtype=np.int64)


def _model_top_k(graph: SocialGraph, visible: torch.Tensor, queries: np.ndarray, config: FriendsConfig, seed: int,
                 on_epoch: Callable[[int, float], None] | None) -> np.ndarray:
    generator = seed_everything(seed)
    scorer = fit_friend_scorer(graph, visible, config, generator, torch.device("cpu"), on_epoch)
    found = suggest_friends(graph, visible, scorer, config, users=queries)
    predicted = np.full((len(queries), config.k), -1, dtype=np.int64)
    line = np.searchsorted(queries, found.src)
    predicted[line, found.rank - 1] = found.dst
    return predicted


def evaluate_friends(
    graph: SocialGraph,
    seed: int = 0,
    config: FriendsConfig | None = None,
    hidden_share: float = 0.1,
    on_epoch: Callable[[int, float], None] | None = None,
) -> dict[str, dict]:
    """Runs the hide-and-find evaluation.

    Returns:
        ``{"model": {metric: value}, "model_without_text": {…}, "baselines": {"adamic_adar": {…},
        "common_neighbours": {…}}}`` with ``recall@k``, ``hits@k``, ``ndcg@k`` (graph opt-outs are ignored
        here: every user may be found).
    """
    config = config or FriendsConfig()
    graph = dataclasses.replace(graph, opt_out=np.zeros(graph.num_users, dtype=bool))
    visible, hidden = split_friendships(graph.friendships, hidden_share, seed)
    indptr, indices = _truth(hidden, graph.num_users)
    queries = np.flatnonzero(np.diff(indptr) > 0)
    k = config.k
    structure = Structure(graph.friend_matrix(visible))
    result: dict[str, dict] = {"baselines": {}}
    for name in ("adamic_adar", "common_neighbours"):
        result["baselines"][name] = ranking_metrics(_baseline_top_k(structure, queries, k, name), indptr, indices, queries, k)
    result["model"] = ranking_metrics(_model_top_k(graph, visible, queries, config, seed, on_epoch), indptr, indices, queries, k)
    if graph.x is not None:
        plain = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, use_text=False))
        result["model_without_text"] = ranking_metrics(
            _model_top_k(graph, visible, queries, plain, seed, on_epoch), indptr, indices, queries, k
        )
    best = max(result["baselines"].values(), key=lambda m: m[f"recall@{k}"])[f"recall@{k}"]
    result["model"][f"recall@{k}_vs_best_baseline"] = result["model"][f"recall@{k}"] / best if best else float("inf")
    log.info("friends evaluation: %s", result)
    return result
