"""Candidate friends, a few hundred per user at most, so that ranking is linear in the graph.

A user's candidates (:class:`CandidateGenerator`) are the union of four capped sources:

1. **friends of friends**, by resource allocation (each mutual friend counts ``1 / degree``,
   Zhou et al., "Predicting missing links via local information", 2009).  The walk starts from at
   most ``walk_friends`` of the user's friends and goes on to at most ``walk_fanout`` of each of
   theirs, sampled uniformly where a user has more, and each step is weighted by ``degree / kept``
   so that the scores stay unbiased estimates; below the caps they are exact.  A hub with thousands
   of friends therefore costs ``walk_friends * walk_fanout`` entries, not the square of its degree,
   and each friend of a sampled hub gets ``1 / walk_fanout``, the least any mutual friend gives:
   ranked by raw path counts instead, the sampled friends of hubs crowded out the friends of
   friends with several small mutual circles (on Epinions' validation split, 0.20 against 0.28
   of the hidden friends among the first 100).
2. the nearest users in the GNN's embedding space (dot product) and 3. in profile-text space
   (cosine), from :func:`jobs.common.nearest.nearest_rows` (exact on small graphs, HNSW on large ones);
4. **co-interaction neighbours**: the users sharing the most posts with the user, rarer posts
   counting more (a post's audience sampled to ``content_fanout``, weighted the same way).

The user, their friends and opted-out users are never candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from jobs.common.nearest import nearest_rows
from jobs.common.ranking import ragged_top
from graph.arrays import SortedRows
from jobs.friends.features import Structure


@dataclass(frozen=True)
class CandidateConfig:
    """How many candidates each source gives a user.

    Attributes:
        friends_of_friends: kept per user from the 2-step walk, the highest resource allocation first.
        walk_friends: friends of a user that the walk starts from (sampled when more).
        walk_fanout: friends of each of those that the walk reaches (sampled when more).
        embedding: nearest users by the GNN's dot product.
        text: nearest users by profile-text cosine.
        content: users sharing the most posts.
        content_fanout: users of one post that the co-interaction walk reaches (sampled when more).
    """

    friends_of_friends: int = 200
    walk_friends: int = 100
    walk_fanout: int = 100
    embedding: int = 50
    text: int = 50
    content: int = 50
    content_fanout: int = 100

    @property
    def most(self) -> int:
        """The most candidates one user can have."""
        return self.friends_of_friends + self.embedding + self.text + self.content


def sample_rows(matrix: sp.csr_matrix, cap: int, rng: np.random.Generator) -> sp.csr_matrix:
    """Returns ``matrix`` with each row cut to at most ``cap`` uniformly sampled entries, each kept
    entry multiplied by ``row length / kept`` so that a product through it stays unbiased."""
    matrix = matrix.tocsr()
    length = np.diff(matrix.indptr)
    if length.max(initial=0) <= cap:
        return matrix
    keys = rng.random(matrix.nnz).astype(np.float32)
    kept = ragged_top(matrix.indptr, keys, cap)
    kept = kept[kept >= 0]
    # ragged_top lists each row's kept positions in row order, so they line up with ``rows``.
    rows = np.repeat(np.arange(matrix.shape[0]), np.minimum(length, cap))
    scale = (length / np.maximum(np.minimum(length, cap), 1)).astype(np.float32)
    return sp.csr_matrix((matrix.data[kept] * scale[rows], (rows, matrix.indices[kept])), shape=matrix.shape)


def _padded(lines: np.ndarray, values: np.ndarray, rows: int) -> np.ndarray:
    """Returns ``[rows, longest]`` int64: the ``values`` of each line in order, ``-1`` padded (``lines`` sorted)."""
    counts = np.bincount(lines, minlength=rows)
    out = np.full((rows, int(counts.max(initial=0))), -1, dtype=np.int64)
    slot = np.arange(lines.size) - np.repeat(np.cumsum(counts) - counts, counts)
    out[lines, slot] = values
    return out


class CandidateGenerator:
    """The candidate lists of any chunk of users (see the module).

    Args:
        structure: the friendships and interactions the candidates come from.
        z: ``[U, D]`` GNN embeddings of the users.
        text: ``[U, F]`` unit profile vectors, or None.
        has_text: ``[U]`` bool, users with a profile text.
        blocked: ``[U]`` bool, users never suggested (opted out).
        config: the caps of each source.
        seed: seed of the walks' sampling.
        users: the only users :meth:`for_users` will be asked for (default: everyone); the nearest
            neighbours are searched for them alone.
    """

    def __init__(self, structure: Structure, z: torch.Tensor, text: torch.Tensor | None, has_text: torch.Tensor,
                 blocked: np.ndarray, config: CandidateConfig, seed: int = 0, users: np.ndarray | None = None) -> None:
        rng = np.random.default_rng(seed)
        self.structure, self.blocked, self.config = structure, blocked, config
        self.walk_start = sample_rows(structure.friends, config.walk_friends, rng)
        self.walk_step = sample_rows(structure.friends, config.walk_fanout, rng)
        inverse_degree = np.where(structure.degree > 0, 1.0 / np.maximum(structure.degree, 1), 0.0).astype(np.float32)
        self.allocation_step = (sp.diags(inverse_degree) @ self.walk_step).tocsr()
        audiences = (sp.diags(structure.post_weight) @ structure.content.matrix.T).tocsr()
        self.audience = sample_rows(audiences, config.content_fanout, rng)
        self.users = np.arange(structure.friends.shape[0]) if users is None else np.sort(users)
        self.neighbours = [nearest_rows(z, config.embedding, self.users)]
        if text is not None:
            self.neighbours.append(self._text_neighbours(text, has_text, config.text))

    def _text_neighbours(self, text: torch.Tensor, has_text: torch.Tensor, m: int) -> np.ndarray:
        """Returns ``[len(self.users), m]`` each user's nearest users by text among those with text, ``-1`` padded."""
        rows = np.flatnonzero(has_text.numpy())
        queries = np.flatnonzero(has_text.numpy()[self.users])
        out = np.full((self.users.size, min(m, max(rows.size - 1, 0))), -1, dtype=np.int64)
        found = nearest_rows(text[torch.from_numpy(rows)], m, np.searchsorted(rows, self.users[queries]))
        out[queries] = np.where(found >= 0, rows[np.maximum(found, 0)], -1)
        return out

    def for_users(self, chunk: np.ndarray) -> tuple[np.ndarray, SortedRows]:
        """Returns ``([c, C]`` int64 candidate rows of each user of ``chunk``, ``-1`` padded, and the
        chunk's ``[c, U]`` 2-step path counts``), which :meth:`Structure.paths3` reads.

        Raises:
            ValueError: when ``chunk`` holds a user outside the generator's ``users``.
        """
        starts = self.walk_start[chunk]
        two_steps = (starts @ self.walk_step).tocsr()
        sources = [self._top(starts @ self.allocation_step, chunk, self.config.friends_of_friends)]
        position = np.minimum(np.searchsorted(self.users, chunk), self.users.size - 1)
        if chunk.size and not np.array_equal(self.users[position], chunk):
            raise ValueError("candidates asked for users the generator was not built for")
        sources += [table[position] for table in self.neighbours]
        if self.config.content and self.audience.nnz:
            sources.append(self._top(self.structure.content.matrix[chunk] @ self.audience, chunk, self.config.content))
        return self._allowed(chunk, np.concatenate(sources, axis=1)), SortedRows(two_steps)

    def _top(self, scores: sp.csr_matrix, chunk: np.ndarray, m: int) -> np.ndarray:
        """Returns ``[c, m]`` the columns of each row's ``m`` largest entries that may be suggested
        (see :meth:`_suggestible`), ``-1`` padded."""
        scores = scores.tocoo()
        keep = self._suggestible(chunk[scores.row], scores.col) & (scores.data > 0)
        kept = sp.csr_matrix((scores.data[keep], (scores.row[keep], scores.col[keep])), shape=scores.shape)
        position = ragged_top(kept.indptr, kept.data, m)
        out = np.full((kept.shape[0], m), -1, dtype=np.int64)
        out[:, : position.shape[1]] = np.where(position >= 0, kept.indices[np.maximum(position, 0)], -1)
        return out

    def _suggestible(self, users: np.ndarray, others: np.ndarray) -> np.ndarray:
        """Returns ``[n]`` bool, whether ``others[p]`` may be suggested to ``users[p]``: not themself,
        not a friend, not blocked."""
        keep = (others != users) & ~self.blocked[others]
        return keep & (self.structure.friend_rows.lookup(users, others) == 0)

    def _allowed(self, chunk: np.ndarray, proposed: np.ndarray) -> np.ndarray:
        """Returns ``proposed`` (``[c, *]``) without duplicates, padding, the users themselves, their
        friends and blocked users, as ``[c, C]`` padded with ``-1``."""
        lines, slots = np.nonzero(proposed >= 0)
        users = proposed[lines, slots]
        keep = self._suggestible(chunk[lines], users)
        width = self.structure.friends.shape[0]
        codes = np.unique(lines[keep].astype(np.int64) * width + users[keep])
        return _padded(codes // width, codes % width, chunk.size)
