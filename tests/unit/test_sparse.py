"""The sparse propagation the GNN jobs train through matches PyG's layers, values and gradients."""

from __future__ import annotations

import torch
from torch_geometric.nn import SAGEConv

from jobs.gnn.encoder import MeanSAGE
from jobs.gnn.sparse import mean_propagation

CPU = torch.device("cpu")


def _symmetric_edges(num_nodes: int, num_edges: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    edges = torch.randint(0, num_nodes, (2, num_edges), generator=generator)
    edges = edges[:, edges[0] != edges[1]]
    return torch.unique(torch.cat([edges, edges.flip(0)], dim=1), dim=1)


def test_mean_sage_equals_pyg_sage_conv_forward_and_backward() -> None:
    num_nodes = 60
    edges = _symmetric_edges(num_nodes, 150, seed=3)
    isolated = torch.ones(num_nodes, dtype=torch.bool)
    isolated[edges[0]] = False
    assert isolated.any(), "the check needs a node without neighbours"
    x = torch.randn(num_nodes, 8, generator=torch.Generator().manual_seed(4), requires_grad=True)
    reference = SAGEConv(8, 5, aggr="mean")
    layer = MeanSAGE(8, 5)
    layer.lin_l.load_state_dict(reference.lin_l.state_dict())
    layer.lin_r.load_state_dict(reference.lin_r.state_dict())
    expected = reference(x, edges)
    actual = layer(x, mean_propagation(edges, num_nodes, CPU))
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    weights = torch.randn(num_nodes, 5, generator=torch.Generator().manual_seed(5))
    (grad_expected,) = torch.autograd.grad((expected * weights).sum(), x)
    (grad_actual,) = torch.autograd.grad((actual * weights).sum(), x)
    torch.testing.assert_close(grad_actual, grad_expected, rtol=1e-5, atol=1e-5)


def test_mean_propagation_averages_neighbours() -> None:
    edges = torch.tensor([[0, 1, 0, 2], [1, 0, 2, 0]])
    x = torch.tensor([[0.0], [2.0], [4.0], [8.0]])
    out = mean_propagation(edges, 4, CPU)(x)
    assert out.squeeze(1).tolist() == [3.0, 0.0, 0.0, 0.0]
