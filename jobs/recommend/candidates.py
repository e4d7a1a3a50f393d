"""The graph filter at a million users: candidates from truncated item neighbour lists and the most
popular items, then the exact filter score of each candidate (:class:`CandidateFilter`)."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import scipy.sparse as sp
import torch

from jobs.common.ranking import ragged_top
from jobs.recommend.graph_filter import GraphFilter
from jobs.recommend.spectral import degree_power, torch_csr

log = logging.getLogger(__name__)

EXCLUDED = -1e30
"""The score that marks an item the user already has among the neighbour-walk scores (float32 keeps
it below any real score whatever is added to it)."""


class CandidateFilter:
    r"""The graph filter scored on candidates: item neighbour lists, then the exact score of each.

    A fitted :class:`~jobs.recommend.graph_filter.GraphFilter` with a single-term tail (the linear and
    plateau responses) scores user ``u``'s items ``r_u`` as :math:`s_u = r_u S`, with the item-item
    filter

    .. math::
        S = \frac{c_1}{\lambda_1} D_i^{-\beta} G D_i^{\beta}
          + D_i^{-\beta_h} V_k \,\mathrm{diag}(h)\, V_k^\top D_i^{\beta_h},
        \qquad G = \tilde R^\top \tilde R,

    whose first term ``L`` is sparse (``G`` is non-zero only between items that share a user) and
    second term ``H`` is of rank ``k``.  Ranking every item for every user costs ``O(nnz(R) · U)``;
    this class instead scores a few hundred candidates per user:

    1. **Neighbour lists.**  ``G`` is built a block of items at a time (``R~^T[block] R~``, a block
       sized by its co-interaction count), ``H`` is evaluated on ``G``'s non-zeros only (a sampled
       dense product), and each item keeps its ``neighbours`` largest entries of ``S``, itself
       excluded: :math:`S_M`, ``[I, M]`` at most.  ``L`` is kept whole, as CSR.
    2. **Candidates.**  :math:`\hat s_u = r_u S_M` is the filter walked through the truncated lists
       (one sparse product per chunk of users); a user's candidates are the ``candidates`` best
       items of :math:`\hat s_u` they have not seen, and the ``popular`` most interacted items.
    3. **Ranking.**  Each candidate ``i`` gets the exact score
       :math:`s_u(i) = \sum_{j \in u} r_{uj} L_{ji} + e_u \cdot b_i`, with
       :math:`e_u = \sigma_u\, r_u D_i^{-\beta_h} V_k \mathrm{diag}(h)` and :math:`b_i = D_i^{\beta_h} V_{k,i}`
       (``[k]`` each; :math:`\sigma_u` is the filter's per-user share of the top-``k`` term, which
       leaves the neighbour lists unchanged): a lookup of ``L`` per item of the user and a ``[k]`` dot product.  The top
       ``k`` of these, seen items excluded, are the recommendations.

    With caps as large as the catalogue every item is a candidate and the ranking is the
    filter's own; with small caps an item is missed only if it is neither among the top
    neighbours of one of the user's items nor popular.  The cost is linear in the graph:
    ``sum_v deg(v)^2`` for ``G`` (the co-interactions), ``nnz(R) · M`` for the candidates and
    ``nnz(R) · (candidates + popular)`` lookups plus ``U · (candidates + popular) · k`` for the
    ranking.  Memory is ``L`` (12 bytes a co-interacting pair), the neighbour lists (``I · M``),
    the filter's ``[I, k]`` eigenvectors and blocks of about ``block`` entries.

    Users are ranked in chunks of similar degree, so that padded blocks stay tight.

    Args:
        model: the unfitted graph filter (its ``response`` linear or plateau); fitted by :meth:`fit`.
        neighbours: ``M``, the entries of ``S`` kept per item.
        candidates: candidates per user from the neighbour walk.
        popular: the most interacted items added to every user's candidates.
        block: entries of one working block (co-interactions of an item block while fitting;
            padded neighbour-walk entries or candidate lookups of a user chunk while ranking).
    """

    def __init__(self, model: GraphFilter, neighbours: int = 64, candidates: int = 200, popular: int = 32,
                 block: int = 2**24) -> None:
        if model.response not in ("linear", "plateau"):
            raise ValueError(f"response {model.response!r} has a higher-order tail; choose linear or plateau")
        self.model = model
        self.neighbours = neighbours
        self.candidates = candidates
        self.popular = popular
        self.block = block

    def fit(self, interactions: sp.csr_matrix) -> "CandidateFilter":
        """Fits the graph filter to ``interactions`` (``[U, I]``), then builds ``L`` and the neighbour lists.

        Returns:
            ``self``.
        """
        model = self.model.fit(interactions)
        self._head_factors()
        self.popular_items = np.argsort(-model.item_degree, kind="stable")[: self.popular].astype(np.int64)
        self._neighbour_lists()
        log.info("candidate filter fitted: L holds %d pairs, %d neighbour entries", self.linear_keys.numel(), self.walk.nnz)
        return self

    def item_factors(self) -> np.ndarray:
        """Returns ``[I, k]`` float32, the fitted filter's item vectors (see :meth:`GraphFilter.item_factors`)."""
        return self.model.item_factors()

    def _head_factors(self) -> None:
        """Sets ``user_side`` ``[I, k]`` (``D^-beta_h V diag(h)``) and ``item_side`` ``[I, k]`` (``D^beta_h V``)."""
        model = self.model
        degree = model.item_degree
        self.user_side = model.vectors * model.head * torch.from_numpy(degree_power(degree, model.ideal_equaliser).astype(np.float32))[:, None]
        self.item_side = model.vectors * torch.from_numpy(degree_power(degree, -model.ideal_equaliser).astype(np.float32))[:, None]

    def _item_blocks(self) -> list[tuple[int, int]]:
        """Returns ``[(start, stop)]`` item ranges whose co-interaction counts add up to about ``block`` each."""
        known = self.model.known
        user_degree = np.diff(known.indptr).astype(np.float64)
        binary = sp.csr_matrix((np.ones(known.nnz, np.float32), known.indices, known.indptr), shape=known.shape)
        paths = np.asarray(binary.T @ user_degree).ravel()  # an upper bound on each row's non-zeros in G
        ends = np.searchsorted(np.cumsum(paths), np.arange(1, int(paths.sum() // self.block) + 2) * self.block, side="right")
        ends = np.unique(np.clip(np.append(ends, paths.size), 1, paths.size))
        return list(zip(np.concatenate(([0], ends[:-1])).tolist(), ends.tolist()))

    def _neighbour_lists(self) -> None:
        """Sets ``linear_keys`` and ``linear_values`` (``L``'s non-zeros, by ``row * I + column``, ``[nnz]`` int64
        and float32) and ``walk`` (``S_M``, ``[I, I]`` CSR)."""
        model = self.model
        normalised = model.normalised
        transposed = normalised.T.tocsr()
        rows_scale = degree_power(model.item_degree, model.equaliser).astype(np.float32) * np.float32(model.tail[0] / model.top_eigenvalue)
        cols_scale = degree_power(model.item_degree, -model.equaliser).astype(np.float32)
        linear, walk = [], []
        blocks = self._item_blocks()
        for start, stop in blocks:
            gram = (transposed[start:stop] @ normalised).tocsr()
            gram.sort_indices()
            gram.data *= np.repeat(rows_scale[start:stop], np.diff(gram.indptr)) * cols_scale[gram.indices]
            linear.append(gram)
            walk.append(self._top_neighbours(gram, start))
        # L as sorted pair codes (row * I + column) and values: one binary search per lookup whatever
        # the chunk, where scipy's own lookup scans whole rows below nnz / 10 samples a call.
        self.linear_keys = torch.from_numpy(np.concatenate(
            [(np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(block.indptr)) * model.num_items + block.indices)
             for (start, stop), block in zip(blocks, linear)]))
        self.linear_values = torch.from_numpy(np.concatenate([block.data for block in linear]))
        self.walk = sp.vstack(walk, format="csr")

    def _top_neighbours(self, linear: sp.csr_matrix, start: int) -> sp.csr_matrix:
        """Returns ``[b, I]`` CSR: the ``neighbours`` largest entries of ``S`` in each row of the block of ``L``
        (rows ``start..start+b``), evaluated on ``L``'s non-zeros, the diagonal excluded."""
        values = torch.from_numpy(linear.data)
        if self.user_side.shape[1] > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # torch's beta warning on sparse CSR
                sampled = torch.sparse.sampled_addmm(torch_csr(linear), self.user_side[start : start + linear.shape[0]], self.item_side.T)
            values = sampled.values()
        rows = np.repeat(np.arange(start, start + linear.shape[0]), np.diff(linear.indptr))
        values = values.numpy().copy()
        values[linear.indices == rows] = -np.inf
        best = ragged_top(linear.indptr, values, self.neighbours)
        keep = best >= 0
        keep[keep] = np.isfinite(values[best[keep]])
        positions = best[keep]
        counts = keep.sum(axis=1)
        return sp.csr_matrix((values[positions], linear.indices[positions], np.concatenate(([0], np.cumsum(counts)))),
                             shape=linear.shape)

    # ranking

    def _user_chunks(self, degree: np.ndarray) -> list[np.ndarray]:
        """Returns positions into ``degree`` (``[n]``), in chunks of similar degree whose entries add up
        to about ``block``: per user, ``degree * max(neighbours, width)`` for the walk and the lookups
        plus ``width * k`` for the gathered eigenvector rows."""
        order = np.argsort(degree, kind="stable")
        width = self.candidates + self.popular
        cost = np.maximum(degree[order], 1) * max(self.neighbours, width) + width * self.item_side.shape[1]
        ends = np.searchsorted(np.cumsum(cost), np.arange(1, int(cost.sum() // self.block) + 2) * self.block, side="right")
        ends = np.unique(np.clip(np.append(ends, order.size), 1, max(order.size, 1)))
        return [part for part in np.split(order, ends[:-1]) if part.size]

    @torch.no_grad()
    def recommend(self, users: np.ndarray, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
        """Returns the top ``k`` unseen items of each of ``users`` among their candidates, best first.

        Returns:
            ``(indices [n, k] int64, scores [n, k] float32)``: the exact filter scores of the chosen
            items; ``-1`` (score ``-inf``) pads a user with fewer than ``k`` unseen candidates.
        """
        users = np.asarray(users, dtype=np.int64)
        known = self.model.known
        indices = np.full((users.size, k), -1, dtype=np.int64)
        scores = np.full((users.size, k), -np.inf, dtype=np.float32)
        for part in self._user_chunks(np.diff(known.indptr)[users]):
            rows = known[users[part]]
            candidates = self.walked(rows)
            exact = self.exact(rows, candidates)
            top = min(k, candidates.shape[1])
            values, slots = torch.topk(torch.from_numpy(exact), top, dim=1)
            chosen = np.take_along_axis(candidates, slots.numpy(), axis=1)
            chosen[torch.isinf(values).numpy()] = -1
            indices[part, :top] = chosen
            scores[part, :top] = values.numpy()
        return indices, scores

    def walked(self, rows: sp.csr_matrix) -> np.ndarray:
        """Returns ``[n, W]`` int64 candidate items of the interaction rows ``rows`` (``[n, I]``): the best
        unseen items of the neighbour walk and the unseen popular items, each once, in increasing
        order (so that the lookups of a row of ``L`` go forwards), ``-1`` first for none."""
        seen = sp.csr_matrix((np.full(rows.nnz, EXCLUDED, np.float32), rows.indices, rows.indptr), shape=rows.shape)
        walked = (rows @ self.walk + seen).tocsr()
        best = ragged_top(walked.indptr, walked.data, self.candidates, self.block)
        items = np.where(best >= 0, walked.indices[np.maximum(best, 0)], -1)
        items[(best >= 0) & (walked.data[np.maximum(best, 0)] <= EXCLUDED / 2)] = -1
        popular = np.where(rows[:, self.popular_items].toarray() != 0, -1, self.popular_items[None, :])
        ordered = np.sort(np.concatenate([items, popular], axis=1), axis=1)
        ordered[:, 1:][ordered[:, 1:] == ordered[:, :-1]] = -1
        return ordered

    def exact(self, rows: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        """Returns ``[n, W]`` float32 exact filter scores of ``candidates`` (``[n, W]``, ``-1`` for none) for
        the interaction rows ``rows`` (``[n, I]``); ``-inf`` for none."""
        n, width = candidates.shape
        items = np.maximum(candidates, 0)
        owner = np.repeat(np.arange(n), np.diff(rows.indptr))
        codes = torch.from_numpy(rows.indices.astype(np.int64)[:, None] * self.model.num_items + items[owner])
        position = torch.searchsorted(self.linear_keys, codes.reshape(-1)).clamp_(max=max(self.linear_keys.numel() - 1, 0)).reshape(codes.shape)
        found = self.linear_keys[position] == codes
        looked_up = torch.where(found, self.linear_values[position], 0.0)
        # Each user's score is its interaction weights times the looked-up rows: a sparse [n, e] product.
        weights = sp.csr_matrix((rows.data, np.arange(rows.nnz), rows.indptr), shape=(n, rows.nnz))
        scores = torch_csr(weights) @ looked_up
        if self.user_side.shape[1] > 0:
            coefficients = torch_csr(rows) @ self.user_side
            if self.model.head_user_power:
                coefficients.mul_(self.model.head_share(rows)[:, None])
            scores += torch.bmm(self.item_side[torch.from_numpy(items.astype(np.int64))], coefficients[:, :, None])[:, :, 0]
        exact = scores.numpy()
        exact[candidates < 0] = -np.inf
        return exact
