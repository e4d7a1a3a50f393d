"""Uniform neighbour sampling over a CSR adjacency, for mini-batch GraphSAGE training.

PyG's ``NeighborLoader`` and ``LinkNeighborLoader`` sample through pyg-lib or torch-sparse,
and neither installs here (no wheels for this torch on PyPI).  This sampler is the part of them
the encoder needs: a fixed number of neighbours per node, drawn uniformly with replacement in
one vectorised step, so that a batch's cost and memory depend on the batch and the fan-outs, not
on the graph.
"""

from __future__ import annotations

import torch

from jobs.gnn.sparse import row_pointers


class NeighbourSampler:
    """Draws neighbours of nodes from the graph of a ``[2, E]`` edge index (``src → dst``).

    Args:
        edge_index: ``[2, E]`` directed edges; pass both directions for an undirected graph.
        num_nodes: N.
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int) -> None:
        src, dst = edge_index
        order = torch.argsort(src, stable=True)
        self.col = dst[order]
        self.rowptr = row_pointers(src[order], num_nodes)

    def sample(self, nodes: torch.Tensor, fanout: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Draws ``fanout`` neighbours of each of ``nodes`` (``[B]``), uniformly with replacement.

        Returns:
            ``(neighbours [B, fanout], has_neighbours [B])``; a node without neighbours gets
            node 0 in every slot and ``False``, so callers mask it out.
        """
        start = self.rowptr[nodes]
        degree = self.rowptr[nodes + 1] - start
        offset = (torch.rand(len(nodes), fanout, generator=generator) * degree[:, None]).long()
        has_neighbours = degree > 0
        if self.col.numel() == 0:
            return torch.zeros(len(nodes), fanout, dtype=torch.int64), has_neighbours
        index = (start[:, None] + offset).clamp(max=self.col.numel() - 1)
        return torch.where(has_neighbours[:, None], self.col[index], 0), has_neighbours
