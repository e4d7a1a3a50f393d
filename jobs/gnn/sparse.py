"""Sparse propagation with a backward pass that reuses a precomputed transpose.

Autograd through a ``torch.sparse_csr`` product transposes the matrix on every backward
pass.  The GNN jobs multiply by the same adjacency many times per step, so they hold the
matrix and its transpose once and use :class:`SparseMatmul`, which measured several times
faster than ``SAGEConv`` over a CSR tensor or over ``edge_index`` on CPU
(``docs/history/benchmarks.md``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from graph import arrays


class SparseMatmul(torch.autograd.Function):
    """``adj @ x`` for a fixed sparse ``adj`` whose gradient with respect to ``x`` is ``adj_t @ grad``."""

    @staticmethod
    def forward(ctx, adj: torch.Tensor, adj_t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Returns ``adj @ x`` (``[N, d]``)."""
        ctx.adj_t = adj_t
        return adj @ x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[None, None, torch.Tensor]:  # type: ignore[override]
        """Returns the gradient with respect to ``x`` (``[N, d]``)."""
        return None, None, ctx.adj_t @ grad


@dataclass(frozen=True)
class Propagation:
    """A row-normalised adjacency ``D^-1 A`` and its transpose, both ``[N, N]`` ``sparse_csr``.

    ``propagation(x)`` is the mean of each node's neighbours' rows of ``x`` (``[N, d]``), zero for a
    node without neighbours.
    """

    adj: torch.Tensor
    adj_t: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Returns ``D^-1 A x`` (``[N, d]``)."""
        return SparseMatmul.apply(self.adj, self.adj_t, x)


def row_pointers(src: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Returns the CSR row pointers ``[N + 1]`` (int64, on the CPU) of edges whose sorted source rows are ``src`` (``[E]``)."""
    return torch.from_numpy(arrays.row_pointers(src.cpu().numpy(), num_nodes))


def mean_propagation(edge_index: torch.Tensor, num_nodes: int, device: torch.device) -> Propagation:
    """Returns the :class:`Propagation` of a symmetric, duplicate-free ``[2, E]`` edge index.

    Symmetry makes ``(D^-1 A)^T = A D^-1``: the same sparsity pattern with each entry divided by
    its column's degree instead of its row's, so both matrices share one sorted index.
    """
    src, dst = edge_index
    order = torch.argsort(src * num_nodes + dst)
    src, dst = src[order], dst[order]
    degree = torch.bincount(src, minlength=num_nodes).clamp(min=1).float()
    crow = row_pointers(src, num_nodes)
    with warnings.catch_warnings():
        # torch warns on every CSR construction that sparse CSR is beta and invariants go unchecked.
        warnings.simplefilter("ignore", UserWarning)

        def csr(values: torch.Tensor) -> torch.Tensor:
            return torch.sparse_csr_tensor(crow, dst, values, size=(num_nodes, num_nodes), device=device)

        return Propagation(csr(1.0 / degree[src]), csr(1.0 / degree[dst]))
