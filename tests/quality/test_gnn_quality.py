"""The communities and friends models on email-Eu-core: NMI and modularity against Louvain, hidden contacts against common neighbours."""

from __future__ import annotations

from pathlib import Path

import torch
from sklearn.metrics import normalized_mutual_info_score

from jobs.communities.model import CommunityConfig, community_embeddings, detect, friendship_graph, louvain, modularity
from jobs.friends.evaluate import evaluate_friends
from jobs.friends.model import FriendsConfig
from jobs.gnn.encoder import EncoderConfig
from jobs.common.runtime import seed_everything
from jobs.gnn.social import read_email_eu_core

CPU = torch.device("cpu")
ENCODER = EncoderConfig(epochs=60)


def test_communities_on_email_eu_core_match_louvain_nmi_and_modularity(datasets: Path) -> None:
    """The goal on real data: NMI at least networkx Louvain's, modularity at least 0.95x (seed 0)."""
    graph, truth = read_email_eu_core(datasets / "email_eu_core")
    g = friendship_graph(graph)
    plain = louvain(g, seed=0, weight=None)
    z = community_embeddings(graph, CommunityConfig(), ENCODER, seed_everything(0), CPU)
    ours = detect(graph, z, CommunityConfig(), seed=0).labels
    assert normalized_mutual_info_score(truth, ours) >= normalized_mutual_info_score(truth, plain)
    assert modularity(graph, ours) >= 0.95 * modularity(graph, plain)


def test_friend_suggestions_find_hidden_email_contacts_better_than_common_neighbours(datasets: Path) -> None:
    graph, _ = read_email_eu_core(datasets / "email_eu_core")
    result = evaluate_friends(graph, seed=0, config=FriendsConfig(encoder=EncoderConfig(epochs=60)))
    model, baselines = result["model"], result["baselines"]
    assert model["recall@20"] >= baselines["common_neighbours"]["recall@20"]
    assert model["recall@20"] >= 0.95 * baselines["adamic_adar"]["recall@20"]
    assert 0 < model["hits@20"] <= 1
