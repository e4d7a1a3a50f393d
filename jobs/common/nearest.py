"""Nearest neighbours of every row of a vector table, by inner product: exact on small tables, from
an HNSW index (faiss) on large ones (:func:`nearest_rows`).

The friends job takes candidates from the users nearest in the GNN's and the text's embedding
space.  An exact search compares every row with every row, ``O(N^2 d)``: a few seconds at ten
thousand users, hours at a million.  HNSW (Malkov and Yashunin, "Efficient and robust approximate
nearest neighbor search using Hierarchical Navigable Small World graphs", TPAMI 2018) answers each
query in about ``O(log N)`` distance computations, so the whole table costs ``O(N log N d)``.
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
    table = vectors.float().contiguous()
    if n < exact_below:
        return _exact(table, queries, m, budget)
    return _hnsw(table.numpy(), queries, m)


def _exact(table: torch.Tensor, queries: np.ndarray, m: int, budget: int) -> np.ndarray:
    n = table.shape[0]
    out = np.empty((queries.size, m), dtype=np.int64)
    step = max(1, budget // n)
    for start in range(0, queries.size, step):
        rows = torch.from_numpy(queries[start : start + step])
        scores = table[rows] @ table.T
        scores[torch.arange(rows.numel()), rows] = float("-inf")
        out[start : start + step] = torch.topk(scores, m, dim=1).indices.numpy()
    return out


def _hnsw(table: np.ndarray, queries: np.ndarray, m: int) -> np.ndarray:
    # faiss is imported here: only tables past EXACT_BELOW need it, and its import costs a second.
    import faiss

    n, d = table.shape
    if d > HNSW_DIMENSIONS:
        # Uncentred, so that inner products (not distances) are what the projection keeps.
        _, _, directions = torch.svd_lowrank(torch.from_numpy(table), q=HNSW_DIMENSIONS, niter=2)
        table = np.ascontiguousarray((torch.from_numpy(table) @ directions).numpy())
    index = faiss.IndexHNSWFlat(table.shape[1], HNSW_LINKS, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 40
    index.hnsw.efSearch = max(2 * (m + 1), 64)
    index.add(table)
    _, found = index.search(np.ascontiguousarray(table[queries]), m + 1)
    log.info("HNSW index over %d rows of %d dimensions (indexed on %d) searched for %d neighbours of %d", n, d, table.shape[1], m, queries.size)
    # A row is usually its own best match; drop it wherever it appears, keep the first m others.
    others = found != queries[:, None]
    order = np.argsort(~others, axis=1, kind="stable")
    kept = np.take_along_axis(found, order, axis=1)[:, :m]
    return np.where(np.take_along_axis(others, order, axis=1)[:, :m], kept, -1).astype(np.int64)
