"""The posts worth scoring for each user, when the catalogue is too large to score whole (:class:`CandidatePool`).

The fused score of :mod:`jobs.recommend.fusion` has three parts, and each part has its own way to
the posts it would rank high, so each contributes candidates:

- the collaborative filter: its neighbour walk and the most popular posts
  (:meth:`jobs.recommend.candidates.CandidateFilter.walked`);
- the text: the posts nearest the user's profile vector (:class:`jobs.common.nearest.VectorIndex`,
  exact on small catalogues, HNSW on large ones), which is how a post nobody has interacted with
  yet reaches anyone;
- the social graph: the posts most interacted with by the people within two follows of the user.

Their union, less what the user has seen and what may not be recommended, is scored exactly by
every part.  A user's candidates number at most the sum of the caps, so ranking costs
``O(U · caps)`` lookups however many posts there are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from graph.arrays import SortedRows
from jobs.common.nearest import VectorIndex
from jobs.common.ranking import ragged_top
from jobs.recommend.candidates import CandidateFilter
from jobs.recommend.graph_filter import GraphFilter
from jobs.recommend.signals import SocialSignal, TextSignal


@dataclass(frozen=True)
class PoolConfig:
    """When the recommend job ranks candidates instead of the whole catalogue, and how many of each.

    Attributes:
        above_items: catalogues with at least this many posts are ranked through candidates (with
            the graph filter); smaller ones are scored whole.
        neighbours: entries of the filter's item-item operator kept per post.
        walk: candidates per user from the filter's neighbour walk.
        popular: the most interacted posts, candidates of every user.
        text: the posts nearest the user's profile vector: a user with a bio and no interaction
            chooses among these and the popular posts alone, so keep it at least the job's ``k``.
        social: the posts most interacted with within two follows of the user.
        rank: eigenvectors of the filter's ideal low-pass part; the scale path keeps fewer than the
            whole-catalogue filter, whose ``[I, k]`` factors (three of them) would not fit in memory
            at millions of posts.
        oversample: extra columns of the randomised eigensolver.
    """

    above_items: int = 50_000
    neighbours: int = 64
    walk: int = 200
    popular: int = 32
    text: int = 50
    social: int = 50
    rank: int = 64
    oversample: int = 64

    def applies(self, num_items: int) -> bool:
        """Returns whether a catalogue of ``num_items`` posts is ranked through candidates."""
        return num_items >= self.above_items

    def candidate_filter(self) -> CandidateFilter:
        """Returns an unfitted :class:`CandidateFilter` around a graph filter of this rank, with these caps."""
        model = GraphFilter(rank=self.rank, oversample=self.oversample)
        return CandidateFilter(model, neighbours=self.neighbours, candidates=self.walk, popular=self.popular)


class CandidatePool:
    """Each user's candidate posts: the union of what the filter, the text and the social graph would rank high.

    Args:
        walk: the fitted candidate filter (its interactions are the ones never recommended again).
        text: the text signal, or None.
        social: the social signal, or None.
        allowed: ``[I]`` bool, the posts that may be recommended; None: all.
        config: the caps.
    """

    def __init__(self, walk: CandidateFilter, text: TextSignal | None, social: SocialSignal | None,
                 allowed: np.ndarray | None, config: PoolConfig) -> None:
        self.walk = walk
        self.known = walk.model.known
        self.allowed = np.ones(self.known.shape[1], dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
        self.social = social
        self.config = config
        self.text = text
        self.text_items = np.zeros(0, dtype=np.int64)
        if text is not None and config.text > 0:
            self.text_items = np.flatnonzero(self.allowed & (np.abs(text.items).sum(axis=1) > 0))
            whole = self.text_items.size == text.items.shape[0]  # no copy of a catalogue's vectors then
            self.text_index = VectorIndex(torch.from_numpy(text.items if whole else text.items[self.text_items]))

    def columns(self, users: np.ndarray, social_counts: sp.csr_matrix | None = None) -> np.ndarray:
        """Returns ``[n, W]`` int64, the candidate posts of ``users``: each once, unseen and allowed,
        ``-1`` for none; every part of the fused score is evaluated on these columns.

        Args:
            social_counts: ``[n, I]`` :meth:`SocialSignal.counts` of ``users`` when already computed.
        """
        rows = self.known[users]
        sources = [self.walk.walked(rows)]
        if self.text_items.size:
            sources.append(self._nearest_text(users))
        if self.social is not None and self.config.social > 0:
            counts = self.social.counts(users) if social_counts is None else social_counts
            best = ragged_top(counts.indptr, counts.data.astype(np.float32), self.config.social)
            sources.append(np.where(best >= 0, counts.indices[np.maximum(best, 0)], -1))
        return self._usable(rows, np.concatenate(sources, axis=1))

    def _nearest_text(self, users: np.ndarray) -> np.ndarray:
        """Returns ``[n, text]`` the posts nearest each user's profile, ``-1`` for a user without one."""
        found = self.text_index.search(torch.from_numpy(self.text.profiles[users]), self.config.text)
        posts = np.where(found >= 0, self.text_items[np.maximum(found, 0)], -1)
        posts[~self.text.has_profile(users)] = -1
        return posts

    def _usable(self, rows: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        """Returns ``candidates`` (``[n, W]``) sorted per row, duplicates, seen and disallowed posts as
        ``-1``, and the columns that are ``-1`` in every row dropped."""
        n = candidates.shape[0]
        local = np.repeat(np.arange(n), candidates.shape[1])
        flat = candidates.reshape(-1)
        valid = flat >= 0
        valid[valid] = self.allowed[flat[valid]]
        seen = SortedRows(rows).lookup(local, np.maximum(flat, 0)) != 0
        out = np.where(valid & ~seen, flat, -1).reshape(candidates.shape)
        out.sort(axis=1)
        out[:, 1:][out[:, 1:] == out[:, :-1]] = -1
        out.sort(axis=1)
        used = (out >= 0).any(axis=0)
        return out[:, used.argmax():] if used.any() else out[:, :0]
