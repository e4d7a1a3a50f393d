"""Nearest neighbours by inner product, exact on small tables and from an HNSW index (faiss) on large
ones: :class:`VectorIndex` answers queries given as vectors, :func:`nearest_rows` the table's own rows.

The friends job takes candidates from the users nearest in the GNN's and the text's embedding
space, and the recommend job the posts nearest a user's profile.  An exact search compares every
query with every row, ``O(Q N d)``: a few seconds at ten thousand rows, hours at a million.  HNSW
(Malkov and Yashunin, "Efficient and robust approximate nearest neighbor search using Hierarchical
Navigable Small World graphs", TPAMI 2018) answers each query in about ``O(log N)`` distance
computations, so the whole table costs ``O(N log N d)``.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

log = logging.getLogger(__name__)

EXACT_BELOW = 50_000
"""Tables up to this many rows are searched exactly (a blocked product); larger ones through HNSW."""
HNSW_LINKS = 16
"""Links per node of the HNSW graph (faiss's ``M``)."""
HNSW_DIMENSIONS = 64
"""Wider tables are indexed on their top singular directions: building an HNSW graph costs in
proportion to the dimension, and the candidates it finds are scored exactly afterwards anyway."""


class VectorIndex:
    """The rows of a table with the largest inner product with a query vector.

    Args:
        table: ``[N, D]`` the vectors searched.
        exact_below: tables with fewer rows are searched exactly; larger ones through HNSW.
        budget: cells of one ``[queries, N]`` block of the exact search.
    """

    def __init__(self, table: torch.Tensor, exact_below: int = EXACT_BELOW, budget: int = 2**25) -> None:
        self.table: torch.Tensor | None = table.float().contiguous()
        self.rows = table.shape[0]
        self.budget = budget
        self.directions: torch.Tensor | None = None
        self.hnsw = None
        if self.rows >= exact_below:
            self.hnsw = self._build(self.table)
            # The graph holds its own (projected) copy: a million 384-d rows are 1.5 GB not to keep twice.
            self.table = None

    def __len__(self) -> int:
        return self.rows

    def _build(self, table: torch.Tensor):
        # faiss is imported here: only tables past EXACT_BELOW need it, and its import costs a second.
        import faiss

        if table.shape[1] > HNSW_DIMENSIONS:
            # Uncentred, so that inner products (not distances) are what the projection keeps.
            _, _, self.directions = torch.svd_lowrank(table, q=HNSW_DIMENSIONS, niter=2)
            table = table @ self.directions
        index = faiss.IndexHNSWFlat(table.shape[1], HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        index.add(np.ascontiguousarray(table.numpy()))
        log.info("HNSW index over %d rows (indexed on %d dimensions)", self.rows, table.shape[1])
        return index

    def search(self, queries: torch.Tensor, m: int) -> np.ndarray:
        """Returns ``[Q, min(m, N)]`` int64: the rows with the largest inner product with each of
        ``queries`` (``[Q, D]``), best first; ``-1`` where an approximate search found fewer."""
        m = min(m, len(self))
        queries = queries.float()
        if m <= 0:
            return np.zeros((queries.shape[0], 0), dtype=np.int64)
        if self.hnsw is None:
            return self._exact(queries, m)
        if self.directions is not None:
            queries = queries @ self.directions
        self.hnsw.hnsw.efSearch = max(2 * m, 64)
        _, found = self.hnsw.search(np.ascontiguousarray(queries.numpy()), m)
        return found.astype(np.int64)

    def _exact(self, queries: torch.Tensor, m: int) -> np.ndarray:
        out = np.empty((queries.shape[0], m), dtype=np.int64)
        step = max(1, self.budget // len(self))
        for start in range(0, queries.shape[0], step):
            out[start : start + step] = torch.topk(queries[start : start + step] @ self.table.T, m, dim=1).indices.numpy()
        return out


def nearest_rows(vectors: torch.Tensor, m: int, queries: np.ndarray | None = None, exact_below: int = EXACT_BELOW,
                 budget: int = 2**25) -> np.ndarray:
    """Returns ``[Q, min(m, N - 1)]`` int64: for each row ``queries[q]`` of ``vectors`` (``[N, D]``),
    the rows with the largest inner product with it, best first, itself excluded, ``-1`` where an
    approximate search found fewer.

    Args:
        vectors: ``[N, D]`` the table.
        m: neighbours per row.
        queries: ``[Q]`` the rows to search for (default: all, in order).
        exact_below: tables with fewer rows are searched exactly; larger ones through HNSW.
        budget: cells of one ``[rows, N]`` block of the exact search.
    """
    n = vectors.shape[0]
    queries = np.arange(n) if queries is None else np.asarray(queries, dtype=np.int64)
    m = min(m, n - 1)
    if m <= 0:
        return np.zeros((queries.size, 0), dtype=np.int64)
    index = VectorIndex(vectors, exact_below, budget)
    found = index.search(vectors.float()[torch.from_numpy(queries)], m + 1)
    # A row is usually its own best match; drop it wherever it appears, keep the first m others.
    others = found != queries[:, None]
    order = np.argsort(~others, axis=1, kind="stable")
    kept = np.take_along_axis(found, order, axis=1)[:, :m]
    return np.where(np.take_along_axis(others, order, axis=1)[:, :m], kept, -1).astype(np.int64)
