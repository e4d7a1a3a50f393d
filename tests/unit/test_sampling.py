"""Training the encoder without Neo4j: the neighbour sampler, sampled layers against full-graph ones, link learning, and stopping on held-out links."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from graph.snapshot import IdMap
from jobs.gnn.command import encoder_for
from jobs.gnn.encoder import EncoderConfig, LinkValidation, SocialEncoder, train_encoder
from jobs.common.runtime import seed_everything
from jobs.gnn.sampling import NeighbourSampler
from jobs.gnn.social import SocialGraph, undirected_pairs
from jobs.gnn.sparse import mean_propagation


def _graph(pairs: torch.Tensor, n: int, x: torch.Tensor | None = None, community: np.ndarray | None = None) -> SocialGraph:
    has_x = torch.ones(n, dtype=torch.bool) if x is not None else torch.zeros(n, dtype=torch.bool)
    return SocialGraph(
        IdMap([f"u{i}" for i in range(n)]), IdMap([]), x, has_x, pairs, torch.zeros((2, 0), dtype=torch.long),
        np.zeros(n, dtype=bool), community if community is not None else np.full(n, -1),
    )


def test_sampled_neighbours_are_the_nodes_neighbours_all_of_them_and_repeat_for_a_seed() -> None:
    edges = torch.tensor([[0, 0, 0, 1, 2, 3], [1, 2, 3, 0, 0, 0]])
    sampler = NeighbourSampler(edges, num_nodes=5)
    nodes = torch.tensor([0, 1, 4])
    drawn, has = sampler.sample(nodes, 300, torch.Generator().manual_seed(0))
    assert drawn.shape == (3, 300)
    assert set(drawn[0].tolist()) == {1, 2, 3}
    assert set(drawn[1].tolist()) == {0}
    assert has.tolist() == [True, True, False]
    counts = torch.bincount(drawn[0], minlength=4)[1:].float()
    assert counts.min() > 60, "each of three neighbours should come up about 100 times in 300 draws"
    again, _ = sampler.sample(nodes, 300, torch.Generator().manual_seed(0))
    assert torch.equal(drawn, again)


def test_sampled_layers_equal_the_full_graph_layers_when_each_node_has_one_neighbour() -> None:
    """With one neighbour, every draw is that neighbour, so the sampled estimate is exact."""
    n = 9
    pairs = undirected_pairs(np.array([0, 2, 4, 6]), np.array([1, 3, 5, 7]), n)
    x = torch.randn(n, 5, generator=torch.Generator().manual_seed(2))
    graph = _graph(pairs, n, x)
    torch.manual_seed(0)
    model = SocialEncoder(n, 5, hidden=8, dim=4)
    full = model(mean_propagation(graph.message_edges(), n, torch.device("cpu")), x)
    nodes = torch.tensor([8, 0, 3, 5])
    sampled = model.embed_sampled(nodes, NeighbourSampler(graph.message_edges(), n), x, (3, 2), torch.Generator().manual_seed(1))
    torch.testing.assert_close(sampled, full[nodes])


def _planted(n: int = 300, groups: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    community = np.repeat(np.arange(groups), n // groups)
    p = np.where(community[:, None] == community[None, :], 0.1, 0.005)
    src, dst = np.nonzero(np.triu(rng.random((n, n)) < p, 1))
    pairs = undirected_pairs(src, dst, n)
    order = torch.randperm(pairs.shape[1], generator=torch.Generator().manual_seed(seed))
    held = pairs.shape[1] // 10
    return pairs[:, order[held:]], pairs[:, order[:held]], community


def _auc(z: torch.Tensor, held_out: torch.Tensor, n: int) -> float:
    negatives = torch.randint(0, n, (2, 4000), generator=torch.Generator().manual_seed(9))
    pos = (z[held_out[0]] * z[held_out[1]]).sum(-1)
    neg = (z[negatives[0]] * z[negatives[1]]).sum(-1)
    return float((pos[:, None] > neg[None, :]).float().mean())


def test_mini_batch_training_predicts_held_out_links_about_as_well_as_full_batch_and_repeats() -> None:
    train, held_out, community = _planted()
    graph = _graph(train, len(community), community=community)
    full_config = EncoderConfig(epochs=60)
    mini_config = dataclasses.replace(full_config, full_batch_max_nodes=0, batch_pairs=256)
    assert mini_config.mini_batches(graph.num_nodes) and not full_config.mini_batches(graph.num_nodes)

    def trained(config: EncoderConfig) -> torch.Tensor:
        return train_encoder(graph, train, config, seed_everything(0), torch.device("cpu"))[1]

    full, mini = trained(full_config), trained(mini_config)
    full_auc, mini_auc = _auc(full, held_out, graph.num_nodes), _auc(mini, held_out, graph.num_nodes)
    assert mini_auc >= 0.7, f"mini-batch AUC {mini_auc:.3f}"
    assert mini_auc >= full_auc - 0.08, f"mini-batch AUC {mini_auc:.3f} against full-batch {full_auc:.3f}"
    torch.testing.assert_close(trained(mini_config), mini)


def test_the_cli_flag_forces_mini_batches_and_keeps_the_jobs_epochs() -> None:
    forced = encoder_for("friends", None, mini_batches=True)
    assert forced.mini_batches(10) and forced.epochs == encoder_for("friends", None).epochs
    assert not encoder_for("communities", 5).mini_batches(10)


def test_link_validation_counts_held_out_friends_in_the_top_k_and_never_a_known_friend_or_oneself() -> None:
    # User 0 is nearest to 1, a known friend, then to 2, held out; 2 and 3 are nearest to 1, then to 0.
    z = torch.tensor([[1.0, 0.0], [0.99, -0.1], [0.9, 0.4], [0.8, -0.6], [-1.0, 0.0]])
    held_out, known = torch.tensor([[0], [2]]), torch.tensor([[0, 3, 3], [1, 4, 1]])
    for budget in (5, 2**24):
        validation = LinkValidation(held_out, known, num_users=5, k=1)
        assert validation.recall(z, steps=7, budget=budget) == 1.0
        assert validation.queries.tolist() == [0, 2]
        assert validation.history == [(7, 1.0)]
    # Held out 0-3 instead: user 3 finds 0 (1 is known), but user 0's single suggestion is still 2.
    validation = LinkValidation(torch.tensor([[0], [3]]), known, num_users=5, k=1)
    assert validation.recall(z, steps=1) == 0.5


@pytest.mark.parametrize("mini_batches", [False, True], ids=["full-batch", "mini-batches"])
def test_training_stops_once_held_out_recall_stalls_and_keeps_the_best_checks_weights(mini_batches: bool) -> None:
    train, held_out, community = _planted()
    graph = _graph(train, len(community), community=community)
    config = EncoderConfig(epochs=400, check_every=10, check_every_batches=10, patience=2, use_text=False)
    if mini_batches:
        config = dataclasses.replace(config, full_batch_max_nodes=0, batch_pairs=256)
    validation = LinkValidation(held_out, train, graph.num_users, k=10)
    _, z = train_encoder(graph, train, config, seed_everything(0), torch.device("cpu"), validation=validation)
    steps = [step for step, _ in validation.history]
    assert steps == list(range(10, steps[-1] + 1, 10)), "a check every 10 optimisation steps"
    if mini_batches:
        batches_per_epoch = -(-int(train.shape[1] * config.supervised_share) * 2 // config.batch_pairs)
        assert batches_per_epoch > 1 and steps[-1] < 400 * batches_per_epoch
    else:
        assert steps[-1] < 400, "training should stop well before the ceiling"
    kept_step, kept_recall = validation.kept
    assert kept_recall >= max(recall for _, recall in validation.history) / (1 + config.min_gain)
    assert steps[-1] - kept_step == config.patience * 10
    # Chance is 10 of 300 users; an encoder that finds the groups ranks within one, about 10 of 100.
    assert kept_recall > 0.07, f"held-out recall@10 {kept_recall:.3f} on three planted groups"
    # The returned embeddings are the kept check's, not the last epoch's.
    assert LinkValidation(held_out, train, graph.num_users, k=10).recall(z, steps=0) == kept_recall


def test_weight_decay_is_decoupled_so_it_cannot_outweigh_a_node_vectors_small_share_of_the_loss() -> None:
    # On a large graph each node's share of the mean loss is tiny; a strong decay on a small graph
    # puts the decay in the same place against the gradient. Added to the gradient, as Adam's L2
    # is, it shrinks the vectors and the links are not learnt.
    train, held_out, community = _planted()
    graph = _graph(train, len(community), community=community)
    config = EncoderConfig(epochs=60, weight_decay=0.05, use_text=False)
    z = train_encoder(graph, train, config, seed_everything(0), torch.device("cpu"))[1]
    assert _auc(z, held_out, graph.num_nodes) >= 0.7
