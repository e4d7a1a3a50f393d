"""The communities model without Neo4j: the fixed-weight GNN embedding, the re-weighted edges, Leiden."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graph.snapshot import IdMap
from jobs.communities.cli import COMMUNITY_EMBEDDINGS
from jobs.communities.model import EMBEDDINGS, CommunityConfig, Partition, leiden, membership_reasons, propagated_embeddings, weighted_edges
from jobs.gnn.social import SocialGraph, undirected_pairs


def _graph(edges: list[tuple[int, int]], n: int, x: torch.Tensor | None = None) -> SocialGraph:
    src, dst = np.asarray(edges, dtype=np.int64).reshape(-1, 2).T
    return SocialGraph(
        IdMap([f"u{i}" for i in range(n)]), IdMap([]), x, torch.ones(n, dtype=torch.bool) if x is not None else torch.zeros(n, dtype=torch.bool),
        undirected_pairs(src, dst, n), torch.zeros((2, 0), dtype=torch.long), np.zeros(n, dtype=bool), np.full(n, -1),
    )


def _clique(nodes: range) -> list[tuple[int, int]]:
    return [(a, b) for a in nodes for b in nodes if a < b]


def test_leiden_splits_two_cliques_at_their_bridge_and_numbers_the_larger_first() -> None:
    edges = np.asarray(_clique(range(0, 4)) + _clique(range(4, 9)) + [(3, 4)])
    labels = leiden(9, edges[:, 0], edges[:, 1], np.ones(len(edges)), seed=0)
    assert labels.tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0]


def test_leiden_follows_the_weights() -> None:
    """A 6-cycle cut where its weak ties are, whichever two they are."""
    edges = np.asarray([(i, (i + 1) % 6) for i in range(6)])
    for weak in ((0, 3), (1, 4)):
        weight = np.full(6, 10.0)
        weight[list(weak)] = 0.1
        labels = leiden(6, edges[:, 0], edges[:, 1], weight, seed=0)
        strong = [i for i in range(6) if i not in weak]
        assert all(labels[a] == labels[b] for a, b in edges[strong])
        assert all(labels[a] != labels[b] for a, b in edges[list(weak)])


def test_propagated_embeddings_separate_components_and_repeat_for_a_seed() -> None:
    graph = _graph(_clique(range(0, 6)) + _clique(range(6, 12)), 12)
    z = propagated_embeddings(graph, hops=3, random_dim=64, generator=torch.Generator().manual_seed(1))
    assert z.shape == (12, 64)
    zn = F.normalize(z, dim=1)
    cos = zn @ zn.T
    same = torch.block_diag(torch.ones(6, 6), torch.ones(6, 6)).bool()
    assert cos[same].min() > cos[~same].max()
    again = propagated_embeddings(graph, hops=3, random_dim=64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(z, again)


def test_propagated_embeddings_carry_text_also_for_users_without_ties() -> None:
    """Users who write alike end up nearer each other than one who writes otherwise, tied or not."""
    x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.5, 0.5]])
    for edges in ([], [(0, 3), (1, 3), (2, 3)]):
        z = propagated_embeddings(_graph(edges, 4, x), hops=2, random_dim=8, generator=torch.Generator().manual_seed(0))
        assert z.shape == (4, 10)
        zn = F.normalize(z, dim=1)
        assert float(zn[0] @ zn[1]) > float(zn[0] @ zn[2]) + 0.1


def _propagated_reference(graph: SocialGraph, hops: int, random_dim: int, generator: torch.Generator) -> torch.Tensor:
    """The readout of :func:`propagated_embeddings` written whole, over every node and column at once."""
    adjacency = torch.zeros(graph.num_nodes, graph.num_nodes)
    adjacency[tuple(graph.message_edges())] = 1.0
    mean = adjacency / adjacency.sum(dim=1, keepdim=True).clamp(min=1)
    h = torch.cat([F.normalize(torch.randn(graph.num_nodes, random_dim, generator=generator), dim=1), F.normalize(graph.x, dim=1)], dim=1)
    z = torch.cat([torch.zeros(graph.num_nodes, random_dim), F.normalize(graph.x, dim=1)], dim=1)
    for _ in range(hops):
        h = mean @ h
        z += F.normalize(h, dim=1)
    return z[: graph.num_users]


@pytest.mark.parametrize("block", [3, 8, 100])
def test_propagated_embeddings_in_column_blocks_equal_the_whole_readout_on_users_and_posts(block: int) -> None:
    """Users and posts, text on some of them: blocks narrower than, straddling and wider than the parts."""
    rng = np.random.default_rng(0)
    users, posts = 7, 5
    x = torch.from_numpy(rng.standard_normal((users + posts, 6)).astype(np.float32))
    x[[2, 9]] = 0.0
    interactions = torch.tensor([[0, 1, 1, 4, 5, 6], [0, 0, 3, 2, 4, 4]])
    graph = SocialGraph(
        IdMap([f"u{i}" for i in range(users)]), IdMap([f"p{i}" for i in range(posts)]), x, torch.ones(users + posts, dtype=torch.bool),
        undirected_pairs(np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4]), users), interactions, np.zeros(users, dtype=bool), np.full(users, -1),
    )
    z = propagated_embeddings(graph, hops=3, random_dim=5, generator=torch.Generator().manual_seed(2), block=block)
    expected = _propagated_reference(graph, hops=3, random_dim=5, generator=torch.Generator().manual_seed(2))
    assert z.shape == (users, 11)
    torch.testing.assert_close(z, expected, atol=1e-5, rtol=1e-5)


def test_weighted_edges_list_each_pair_once_with_friendship_weights_first() -> None:
    graph = _graph([(0, 1), (1, 2)], 4)
    z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.9, 0.1]])
    config = CommunityConfig(neighbours=2, sharpness=2.0)
    src, dst, weight = weighted_edges(graph, z, config)
    pairs = dict(zip(zip(src.tolist(), dst.tolist()), weight.tolist()))
    assert (src < dst).all() and len(pairs) == len(src)
    assert pairs[(0, 1)] == pytest.approx(0.8**2) and pairs[(1, 2)] == pytest.approx(0.6**2)
    # User 3 has no friendship: it is tied to its two nearest users, 0 and 1.
    assert {(0, 3), (1, 3)} <= set(pairs) and (2, 3) not in pairs


def test_the_embedding_is_checked_and_the_cli_offers_every_one() -> None:
    assert COMMUNITY_EMBEDDINGS == EMBEDDINGS
    with pytest.raises(ValueError, match="propagation, sage"):
        CommunityConfig(embedding="kmeans")


def test_members_rank_within_their_own_community_by_score_with_ties_to_the_lower_row() -> None:
    partition = Partition(np.array([1, 0, 1, 0, 0, 1]), np.array([0.2, 0.5, 0.9, 0.7, 0.5, 0.2], dtype=np.float32))
    assert partition.ranks().tolist() == [2, 2, 1, 1, 3, 3]


def test_membership_reasons_count_the_friends_inside_and_name_the_friendless() -> None:
    # 0-1 and 1-2 inside community 0; 2-3 crosses to community 1; user 4 has no friendship.
    graph = _graph([(0, 1), (1, 2), (2, 3)], 5)
    reasons = membership_reasons(graph, np.array([0, 0, 0, 1, 1]))
    assert reasons[:4] == [
        "your friends in this community: 1 of 1", "your friends in this community: 2 of 2",
        "your friends in this community: 1 of 2", "your friends in this community: 0 of 1",
    ]
    assert reasons[4].startswith("no friendships yet")
