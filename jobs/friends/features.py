"""The sixteen features of a candidate friend, computed for candidate pairs only.

:class:`Structure` holds the sparse matrices that the pair features come from (friendships,
shared content, taste), and :func:`candidate_features` computes every feature of the pairs
(chunk user, one of their candidates) by sparse lookups, so that a pair costs the smaller of its
two degrees and no row of all users is ever built.  :mod:`jobs.friends.model` weights them into
a score; :mod:`jobs.friends.candidates` chooses the candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from graph.arrays import SortedRows, expand_rows
from jobs.gnn.social import SocialGraph

PAIR_FEATURES = (
    "gnn_dot", "log_adamic_adar", "log_resource_allocation", "text_cosine", "log_shared_content", "taste_cosine",
    "log_degree", "log_paths3",
)
FEATURES = PAIR_FEATURES + tuple(f"{name}_by_own_degree" for name in PAIR_FEATURES)
"""Each pair feature, and the same times the log degree of the user the suggestion is for."""
TEXT_COSINE = PAIR_FEATURES.index("text_cosine")


def _inverse_log_degree(degree: np.ndarray) -> sp.dia_matrix:
    return sp.diags(np.where(degree > 1, 1.0 / np.log(np.maximum(degree, 2)), 0.0).astype(np.float32))


def _unit_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    # Not sklearn's normalize: it refuses a matrix with no columns, a graph without posts.
    norm = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return (sp.diags(np.where(norm > 0, 1.0 / np.maximum(norm, 1e-12), 0.0).astype(np.float32)) @ matrix).tocsr()


def _pair_sums(pair: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(pair, weights=weights, minlength=n).astype(np.float32)


class Structure:
    """Pair scores from the network, for any list of user pairs: common neighbours, Adamic-Adar,
    resource allocation and 3-step paths over friendships; over content, Adamic-Adar over the posts
    both interacted with (rarer posts counting more) and the cosine of TF-IDF-weighted interaction
    strengths.

    Each score of a pair ``(u, v)`` is a sum over what the two rows share (:meth:`SortedRows.intersect`),
    so its cost is the smaller of the two degrees, not the number of users.
    """

    def __init__(self, friends: sp.csr_matrix, interactions: sp.csr_matrix | None = None,
                 strengths: sp.csr_matrix | None = None) -> None:
        self.friends = friends.tocsr()
        self.friend_rows = SortedRows(self.friends)
        self.degree = np.asarray(self.friends.sum(axis=1)).ravel().astype(np.float32)
        self.inverse_log_degree = _inverse_log_degree(self.degree).diagonal()
        if interactions is None:
            interactions = sp.csr_matrix((friends.shape[0], 0), dtype=np.float32)
        self.content = SortedRows((interactions > 0).astype(np.float32))
        self.post_weight = _inverse_log_degree(np.asarray((interactions > 0).sum(axis=0)).ravel()).diagonal()
        strengths = interactions if strengths is None else strengths
        users = max(friends.shape[0], 1)
        strengths = strengths.tocsr()
        idf = np.log((users + 1) / (np.bincount(strengths.indices, minlength=strengths.shape[1]) + 1)).astype(np.float32)
        self.taste = SortedRows(_unit_rows((strengths @ sp.diags(idf)).tocsr()))

    @classmethod
    def of(cls, graph: SocialGraph, friendships: torch.Tensor) -> "Structure":
        """Returns the structure of ``graph`` with only ``friendships`` (``[2, M]``) as its friendships."""
        return cls(graph.friend_matrix(friendships), graph.interaction_matrix(), graph.interaction_matrix(weighted=True))

    def mutual(self, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Returns ``([n] common neighbours, [n] Adamic-Adar, [n] resource allocation)`` of the pairs ``(src[p], dst[p])``."""
        pair, middle, _, _ = self.friend_rows.intersect(src, dst)
        n = src.size
        allocation = np.where(self.degree[middle] > 0, 1.0 / np.maximum(self.degree[middle], 1), 0.0)
        return np.bincount(pair, minlength=n).astype(np.float32), _pair_sums(pair, self.inverse_log_degree[middle], n), _pair_sums(pair, allocation, n)

    def shared_content(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Returns ``[n]`` Adamic-Adar scores over the posts both users of each pair interacted with."""
        pair, post, _, _ = self.content.intersect(src, dst)
        return _pair_sums(pair, self.post_weight[post], src.size)

    def taste_cosine(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Returns ``[n]`` cosines of the pairs' TF-IDF-weighted interaction strengths."""
        pair, _, left, right = self.taste.intersect(src, dst)
        return _pair_sums(pair, left * right, src.size)

    def paths3(self, lines: np.ndarray, dst: np.ndarray, two_steps: SortedRows) -> np.ndarray:
        """Returns ``[n]`` counts of 3-step friendship paths from user ``lines[p]`` to ``dst[p]``, with
        ``two_steps`` holding the 2-step path counts from each line's user (``[lines, U]``)."""
        pair, position = expand_rows(self.friends.indptr, dst)
        return _pair_sums(pair, two_steps.lookup(lines[pair], self.friends.indices[position]), dst.size)


@dataclass
class ChunkFeatures:
    """Features of the pairs (chunk user, one of their ``C`` candidates).

    Candidate lists are padded to the longest in the chunk; a padded slot is not ``allowed``.
    The second half of :data:`FEATURES` (each pair feature times the chunk user's log degree)
    is not stored: :func:`_combine` folds it into per-user coefficients, which halves the
    memory of a chunk and skips a ``[16, c, C]`` stack.

    Attributes:
        pair: ``[P, c, C]`` raw :data:`PAIR_FEATURES`.
        own_degree: ``[c]`` log degree of each chunk user.
        allowed: ``[c, C]`` bool, a real candidate (never self, a friend or opted out).
        mutual: ``[c, C]`` mutual-friend counts.
        candidates: ``[c, C]`` int64 user rows of the candidates, ``-1`` in padded slots.
    """

    pair: torch.Tensor
    own_degree: torch.Tensor
    allowed: torch.Tensor
    mutual: torch.Tensor
    candidates: torch.Tensor

    def values(self) -> torch.Tensor:
        """Returns ``[F, c, C]``, every raw feature of :data:`FEATURES`."""
        return torch.cat([self.pair, self.pair * self.own_degree[None, :, None]])


def unit_text(graph: SocialGraph) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Returns ``([U, F]`` unit profile vectors or None when no user has text, ``[U]`` bool has-text``)."""
    has = graph.has_x[: graph.num_users]
    if graph.x is None or not bool(has.any()):
        return None, has
    return F.normalize(graph.x[: graph.num_users], dim=1), has


def _candidate_dots(vectors: torch.Tensor, chunk: np.ndarray, candidates: np.ndarray, budget: int = 2**24) -> np.ndarray:
    """Returns ``[c, C]`` float32 ``vectors[chunk[i]] . vectors[candidates[i, j]]`` (0 in padded slots),
    gathering at most ``budget`` cells of candidate vectors at once."""
    c, width = candidates.shape
    out = np.zeros((c, width), dtype=np.float32)
    step = max(1, budget // max(width * vectors.shape[1], 1))
    for start in range(0, c, step):
        block = torch.from_numpy(np.maximum(candidates[start : start + step], 0))
        left = vectors[torch.from_numpy(chunk[start : start + step])]
        out[start : start + step] = torch.bmm(vectors[block], left[:, :, None])[:, :, 0].numpy()
    return np.where(candidates >= 0, out, 0.0)


def candidate_features(
    z: torch.Tensor, text: torch.Tensor | None, has_text: torch.Tensor, structure: Structure,
    chunk: np.ndarray, candidates: np.ndarray, two_steps: SortedRows,
) -> ChunkFeatures:
    """Returns the :class:`ChunkFeatures` of the users ``chunk`` (``[c]``) against their candidates
    (``[c, C]`` user rows, ``-1`` padded), ``two_steps`` holding the chunk's 2-step path counts
    (``[c, U]``, from :meth:`jobs.friends.candidates.CandidateGenerator.for_users`)."""
    allowed = candidates >= 0
    lines, slots = np.nonzero(allowed)
    src, dst = chunk[lines], candidates[lines, slots]
    mutual, adamic_adar, allocation = structure.mutual(src, dst)
    cosine = np.zeros(src.size, dtype=np.float32)
    if text is not None:
        both = (has_text[torch.from_numpy(src)] & has_text[torch.from_numpy(dst)]).numpy()
        cosine = _candidate_dots(text, chunk, candidates)[lines, slots] * both
    columns = [
        _candidate_dots(z, chunk, candidates)[lines, slots], np.log1p(adamic_adar), np.log1p(allocation), cosine, np.log1p(structure.shared_content(src, dst)),
        structure.taste_cosine(src, dst), np.log1p(structure.degree[dst]), np.log1p(structure.paths3(lines, dst, two_steps)),
    ]
    pair = np.zeros((len(PAIR_FEATURES), *candidates.shape), dtype=np.float32)
    pair[:, lines, slots] = np.stack(columns)
    counts = np.zeros(candidates.shape, dtype=np.float32)
    counts[lines, slots] = mutual
    own_degree = torch.log1p(torch.from_numpy(structure.degree[chunk]))
    return ChunkFeatures(torch.from_numpy(pair), own_degree, torch.from_numpy(allowed), torch.from_numpy(counts), torch.from_numpy(candidates))
