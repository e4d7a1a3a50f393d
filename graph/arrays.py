"""Array helpers shared by ``graph/`` and ``jobs/``: CSR row pointers, pair-code deduplication, binary sparse matrices, sorted-code lookups into a CSR matrix (:class:`SortedRows`), and vectors read page by page (:class:`VectorPages`).

They live in ``graph/`` because ``graph/`` must never import from ``jobs/``; both may import this.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def row_pointers(rows: np.ndarray, num_rows: int) -> np.ndarray:
    """Returns the int64 CSR row pointers ``[num_rows + 1]`` of entries whose sorted rows are ``rows`` (``[E]``)."""
    pointers = np.zeros(num_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=num_rows), out=pointers[1:])
    return pointers


def sorted_unique(code: np.ndarray) -> np.ndarray:
    """Returns the sorted distinct values ``[M]`` of an int64 array."""
    # Sorting and comparing neighbours is several times faster than
    # np.unique's hash-based path on tens of millions of int64 codes.
    code = np.sort(code)
    return code[np.concatenate(([True], code[1:] != code[:-1]))] if code.size else code


def unique_pairs(rows: np.ndarray, cols: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(rows [M], cols [M])`` int64: the distinct pairs, sorted by row then column.

    Each pair is coded as the one int64 ``row * width + col``, so ``width`` must exceed every column.
    """
    code = sorted_unique(rows.astype(np.int64, copy=False) * width + cols.astype(np.int64, copy=False))
    return code // width, code % width


def binary_matrix(rows: np.ndarray, cols: np.ndarray, num_rows: int, num_cols: int) -> sp.csr_matrix:
    """Returns the float32 ``[num_rows, num_cols]`` CSR matrix with 1 at every ``(rows[e], cols[e])`` (duplicates count once)."""
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(num_rows, num_cols))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def expand_rows(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(pair, position)``: one entry per stored entry of each row ``rows[p]`` of a CSR matrix
    with row pointers ``indptr``, ``pair`` its index ``p`` and ``position`` its index in the matrix's
    ``indices`` and ``data``."""
    counts = indptr[rows + 1] - indptr[rows]
    pair = np.repeat(np.arange(rows.size), counts)
    position = np.repeat(indptr[rows] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
    return pair, position


class VectorPages:
    """Vectors read a page at a time, each page turned into a float32 block as it arrives.

    A page of vectors comes from the driver as lists of Python floats, several times the size of
    the float32 array they make; holding every page that way before converting would make the
    reader's peak memory many times the snapshot's.

    Args:
        name: what the vectors are (e.g. ``"User.embedding"``), for errors.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._blocks: list[np.ndarray] = []
        self._present: list[np.ndarray] = []
        self._dim: int | None = None

    def add(self, values: list[list[float]]) -> None:
        """Adds one page: ``values`` holds a list per row, empty where the row has no vector."""
        present = np.fromiter((len(v) > 0 for v in values), dtype=bool, count=len(values))
        rows = [v for v in values if len(v)]
        dims = {len(v) for v in rows}
        if self._dim is not None:
            dims.add(self._dim)
        if len(dims) > 1:
            raise ValueError(f"{self.name} vectors differ in size {sorted(dims)}; re-embed them so that they all have one size")
        if dims:
            self._dim = dims.pop()
        self._blocks.append(np.asarray(rows, dtype=np.float32).reshape(len(rows), self._dim or 0))
        self._present.append(present)

    def matrix(self) -> tuple[np.ndarray | None, np.ndarray]:
        """Returns ``(x [n, d] float32 | None, present [n] bool)`` over every page in order: x holds
        zeros in rows without a vector, and is None when no row has one."""
        present = np.concatenate(self._present) if self._present else np.zeros(0, dtype=bool)
        if self._dim is None:
            return None, present
        x = np.zeros((len(present), self._dim), dtype=np.float32)
        x[present] = np.concatenate([block for block in self._blocks if len(block)])
        self._blocks.clear()
        return x, present


class SortedRows:
    """A CSR matrix with its entries as sorted codes ``row * columns + column``, so that the values of
    any list of ``(row, column)`` pairs are found by one binary search each.

    Attributes:
        matrix: the CSR matrix, duplicates summed and indices sorted.
        codes: ``[nnz]`` int64 sorted codes of its entries.
    """

    def __init__(self, matrix: sp.csr_matrix) -> None:
        matrix = matrix.tocsr(copy=True)
        matrix.sum_duplicates()
        self.matrix = matrix
        rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
        self.codes = rows * matrix.shape[1] + matrix.indices

    def lookup(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Returns ``[n]`` float32, the entries ``(rows[p], cols[p])`` (0 where none is stored)."""
        if self.codes.size == 0:
            return np.zeros(rows.size, dtype=np.float32)
        query = rows.astype(np.int64) * self.matrix.shape[1] + cols
        position = np.minimum(np.searchsorted(self.codes, query), self.codes.size - 1)
        return np.where(self.codes[position] == query, self.matrix.data[position], 0).astype(np.float32)

    def intersect(self, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Returns ``(pair, column, src_value, dst_value)``, one entry per column stored in both rows
        ``src[p]`` and ``dst[p]``: the shorter of the two rows is walked, the longer looked up, so a
        pair costs the smaller of its two row lengths."""
        length = np.diff(self.matrix.indptr)
        swap = length[src] > length[dst]
        short, long = np.where(swap, dst, src), np.where(swap, src, dst)
        pair, position = expand_rows(self.matrix.indptr, short)
        column = self.matrix.indices[position]
        long_value = self.lookup(long[pair], column)
        found = long_value != 0
        pair, column, short_value, long_value = pair[found], column[found], self.matrix.data[position[found]], long_value[found]
        flipped = swap[pair]
        return pair, column, np.where(flipped, long_value, short_value), np.where(flipped, short_value, long_value)
