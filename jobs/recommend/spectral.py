"""Sparse-matrix pieces of the graph filters: degree powers, torch CSR, and the top eigenpairs of
``R~^T R~`` from its sparse factor ``R~`` (``[U, I]``), by ARPACK or a randomised subspace iteration."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
import torch


def degree_power(degree: np.ndarray, power: float) -> np.ndarray:
    """Returns ``degree ** -power`` (``[N]`` float64), 0 where the degree is 0."""
    safe = np.where(degree > 0, degree, 1.0)
    return np.where(degree > 0, safe ** (-power), 0.0)


def torch_csr(matrix: sp.csr_matrix) -> torch.Tensor:
    """Returns ``matrix`` as a float32 ``torch.sparse_csr`` tensor of the same shape."""
    matrix = matrix.tocsr()
    with warnings.catch_warnings():
        # torch warns on every CSR construction that sparse CSR is beta and invariants go unchecked.
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype(np.int64)), torch.from_numpy(matrix.indices.astype(np.int64)),
            torch.from_numpy(matrix.data.astype(np.float32)), size=matrix.shape,
        )


def orthonormal(block: torch.Tensor) -> torch.Tensor:
    """Returns an orthonormal basis ``[N, m]`` of the columns of ``block`` (``[N, m]``).

    Cholesky QR (two small ``[m, m]`` products and a triangular solve) is several times faster than
    Householder QR on a tall block; a rank-deficient block falls back to Householder.
    """
    gram = (block.T @ block).double()
    factor, info = torch.linalg.cholesky_ex(gram)
    if int(info) != 0:
        return torch.linalg.qr(block).Q
    return torch.linalg.solve_triangular(factor, block.T.double(), upper=False).T.float()


def arpack_eigenpairs(normalised: sp.csr_matrix, rank: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns the top ``rank`` eigenpairs of ``R~^T R~`` from ARPACK's truncated SVD of ``normalised``
    (``R~``, ``[U, I]``): ``(vectors [I, rank] float32, values [rank] float32)``, largest first."""
    start = np.random.default_rng(seed).standard_normal(min(normalised.shape))
    _, singular, right = sla.svds(normalised, k=rank, v0=start.astype(np.float32))
    order = np.argsort(-singular)
    vectors = torch.from_numpy(np.ascontiguousarray(right[order].T, dtype=np.float32))
    return vectors, torch.from_numpy((singular[order] ** 2).astype(np.float32))


def randomized_eigenpairs(
    factor: torch.Tensor, factor_t: torch.Tensor, rank: int, width: int, power_iterations: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns the top ``rank`` eigenpairs of ``R~^T R~`` from a randomised subspace iteration with
    Rayleigh-Ritz: ``(vectors [I, rank] float32, values [rank] float32)``, largest first.

    Each iteration multiplies an ``[I, width]`` block by ``R~^T R~`` through the two sparse factors
    ``factor`` (``R~``, ``[U, I]``) and ``factor_t`` (its transpose).  The spectrum decays slowly, so
    the trailing vectors are approximate, yet they rank as ARPACK's do (``bench/RESULTS.md``).
    """
    generator = torch.Generator().manual_seed(seed)
    basis = orthonormal(torch.randn(factor.shape[1], width, generator=generator))
    for _ in range(power_iterations):
        basis = orthonormal(factor_t @ (factor @ basis))
    basis = orthonormal(basis)  # Cholesky QR twice is orthonormal to rounding error
    projected = factor @ basis
    values, rotation = torch.linalg.eigh((projected.T @ projected).double())
    order = torch.argsort(values, descending=True)[:rank]
    vectors = (basis.double() @ rotation[:, order]).float().contiguous()
    return vectors, values[order].clamp(min=0).float()
