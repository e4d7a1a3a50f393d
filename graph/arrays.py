"""Array helpers shared by ``graph/`` and ``jobs/``: CSR row pointers, pair-code deduplication, binary sparse matrices.

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
