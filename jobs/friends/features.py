"""The sixteen features of a candidate friend, computed densely for a chunk of users against everyone.

:class:`Structure` holds the sparse matrices that the pair features are products of
(friendships, shared content, taste), and :func:`chunk_features` computes every feature of
(chunk user, any user) with the mask of allowed candidates.  :mod:`jobs.friends.model` weights
them into a score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

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


def _rows_product(left_rows: sp.csr_matrix, right_t: sp.csr_matrix, budget: int = 8_000_000) -> torch.Tensor:
    """Returns ``left_rows @ right_t.T`` as a dense ``[c, U]`` float32 tensor.

    It is computed as ``right_t @ dense(left_rows).T``, a sparse-times-dense product, a block of
    rows at a time so that the dense block stays within ``budget`` cells.  A sparse-times-sparse
    product of the same rows spent most of its time on fill-in bookkeeping; this way gives equal
    values in a fraction of the time (see ``bench/RESULTS.md``, Scaling, and its history).
    """
    c, k = left_rows.shape
    out = np.empty((c, right_t.shape[0]), dtype=np.float32)
    step = max(1, budget // max(k, 1))
    for start in range(0, c, step):
        block = left_rows[start : start + step].toarray()
        out[start : start + step] = (right_t @ block.T).T
    return torch.from_numpy(out)


class Structure:
    """Pair scores from the network, per chunk of users: common neighbours, Adamic-Adar, resource
    allocation and 3-step paths over friendships; over content, Adamic-Adar over the posts both
    interacted with (rarer posts counting more) and the cosine of TF-IDF-weighted interaction strengths.

    Each score is a product ``left[rows] @ right`` of sparse matrices; ``right`` is kept transposed
    (as ``*_t`` attributes, the symmetric friendship matrix being its own) for :func:`_rows_product`.
    """

    def __init__(self, friends: sp.csr_matrix, interactions: sp.csr_matrix | None = None,
                 strengths: sp.csr_matrix | None = None) -> None:
        self.friends = friends
        self.degree = np.asarray(friends.sum(axis=1)).ravel().astype(np.float32)
        self.weighted = (friends @ _inverse_log_degree(self.degree)).tocsr()
        self.allocated = (friends @ sp.diags(np.where(self.degree > 0, 1.0 / np.maximum(self.degree, 1), 0.0).astype(np.float32))).tocsr()
        if interactions is None:
            interactions = sp.csr_matrix((friends.shape[0], 0), dtype=np.float32)
        self.content = interactions.tocsr()
        self.content_t = (self.content @ _inverse_log_degree(np.asarray(interactions.sum(axis=0)).ravel())).tocsr()
        strengths = self.content if strengths is None else strengths.tocsr()
        users = max(friends.shape[0], 1)
        idf = np.log((users + 1) / (np.bincount(strengths.indices, minlength=strengths.shape[1]) + 1)).astype(np.float32)
        self.taste = _unit_rows((strengths @ sp.diags(idf)).tocsr())

    @classmethod
    def of(cls, graph: SocialGraph, friendships: torch.Tensor) -> "Structure":
        """Returns the structure of ``graph`` with only ``friendships`` (``[2, M]``) as its friendships."""
        return cls(graph.friend_matrix(friendships), graph.interaction_matrix(), graph.interaction_matrix(weighted=True))

    def shared_content(self, rows: np.ndarray) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 Adamic-Adar scores over shared posts."""
        return _rows_product(self.content[rows], self.content_t)

    def taste_cosine(self, rows: np.ndarray) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 cosines of the users' TF-IDF-weighted interaction strengths."""
        return _rows_product(self.taste[rows], self.taste)

    def common_neighbours(self, rows: np.ndarray) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 mutual-friend counts."""
        return _rows_product(self.friends[rows], self.friends)

    def adamic_adar(self, rows: np.ndarray) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 Adamic-Adar scores."""
        return _rows_product(self.weighted[rows], self.friends)

    def resource_allocation(self, rows: np.ndarray) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 resource-allocation scores (mutual friends weighted by 1/degree)."""
        return _rows_product(self.allocated[rows], self.friends)

    def paths3(self, rows: np.ndarray, mutual: torch.Tensor | None = None) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 counts of 3-step friendship paths (``mutual``: the rows'
        :meth:`common_neighbours`, when already computed)."""
        two_steps = self.common_neighbours(rows) if mutual is None else mutual
        return torch.from_numpy(np.ascontiguousarray((self.friends @ two_steps.numpy().T).T, dtype=np.float32))


@dataclass
class ChunkFeatures:
    """Dense features of every pair (chunk user, any user).

    The second half of :data:`FEATURES` (each pair feature times the chunk user's log degree)
    is not stored: :func:`_combine` folds it into per-user coefficients, which halves the
    memory of a chunk and skips a ``[16, c, U]`` stack.

    Attributes:
        pair: ``[P, c, U]`` raw :data:`PAIR_FEATURES`.
        own_degree: ``[c]`` log degree of each chunk user.
        allowed: ``[c, U]`` bool, candidate and not forbidden (self, friend, opted out).
        mutual: ``[c, U]`` mutual-friend counts.
    """

    pair: torch.Tensor
    own_degree: torch.Tensor
    allowed: torch.Tensor
    mutual: torch.Tensor

    def values(self) -> torch.Tensor:
        """Returns ``[F, c, U]``, every raw feature of :data:`FEATURES`."""
        return torch.cat([self.pair, self.pair * self.own_degree[None, :, None]])


def unit_text(graph: SocialGraph) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Returns ``([U, F]`` unit profile vectors or None when no user has text, ``[U]`` bool has-text``)."""
    has = graph.has_x[: graph.num_users]
    if graph.x is None or not bool(has.any()):
        return None, has
    return F.normalize(graph.x[: graph.num_users], dim=1), has


def chunk_features(
    z: torch.Tensor, text: torch.Tensor | None, has_text: torch.Tensor, structure: Structure,
    blocked: torch.Tensor, chunk: np.ndarray, candidates: int,
) -> ChunkFeatures:
    """Returns the :class:`ChunkFeatures` of the users ``chunk`` against everyone."""
    c = torch.from_numpy(chunk)
    n = z.shape[0]
    dot = z[c] @ z.T
    mutual = structure.common_neighbours(chunk)
    aa = structure.adamic_adar(chunk)
    cosine = torch.zeros_like(dot)
    candidate = mutual > 0
    m = min(candidates, n)
    candidate.scatter_(1, torch.topk(dot, m, dim=1).indices, True)
    if text is not None:
        cosine = (text[c] @ text.T) * (has_text[c, None] & has_text[None, :])
        candidate.scatter_(1, torch.topk(cosine, m, dim=1).indices, True)
    content = structure.shared_content(chunk)
    top_content = torch.topk(content, m, dim=1)
    candidate |= torch.zeros_like(candidate).scatter_(1, top_content.indices, top_content.values > 0)
    forbidden = torch.from_numpy(structure.friends[chunk].toarray() > 0) | blocked[None, :]
    forbidden[torch.arange(len(chunk)), c] = True
    log_degree = torch.log1p(torch.from_numpy(structure.degree))[None, :].expand(len(chunk), n)
    pair = [
        dot, torch.log1p(aa), torch.log1p(structure.resource_allocation(chunk)), cosine, torch.log1p(content),
        structure.taste_cosine(chunk), log_degree, torch.log1p(structure.paths3(chunk, mutual)),
    ]
    own_degree = torch.log1p(torch.from_numpy(structure.degree[chunk]))
    return ChunkFeatures(torch.stack(pair), own_degree, candidate & ~forbidden, mutual)
