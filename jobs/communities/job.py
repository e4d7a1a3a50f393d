"""The communities job: embed, cluster, describe, and publish ``Community`` nodes with ``IN_COMMUNITY``.

Each community becomes ``(:Community {id, run_id, index, size, keywords, label, sentiment})``
(``sentiment`` is the mean ``Post.sentiment_score`` of the members' posts, null before the
sentiment job has run) and each user gets ``(:User)-[:IN_COMMUNITY {score, rank, reason}]->(:Community)``,
``score`` being the cosine of the user's embedding to the community's mean embedding, ``rank``
the user's place among the members by that score (1: the most central) and ``reason`` how many
of their friends are members.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from graph.store import GraphStore
from graph.writeback import RunWriter
from jobs.communities.model import CommunityConfig, community_embeddings, detect, keywords, label, membership_reasons, modularity
from jobs.common.interests import read_interests
from jobs.common.outputs import JobOutputs, NodeOutput, RelationshipOutput
from jobs.gnn.encoder import EncoderConfig
from jobs.common.runtime import seed_everything
from jobs.gnn.social import SocialGraph

log = logging.getLogger(__name__)

OUTPUTS = JobOutputs(
    "communities",
    relationships=(RelationshipOutput("IN_COMMUNITY", "User", "Community", ("score", "rank", "reason", "run_id")),),
    nodes=(NodeOutput("Community", ("id", "run_id", "index", "size", "keywords", "label", "sentiment")),),
)
"""What the communities job writes; ``IN_COMMUNITY`` is a membership, ranked within its community, not per user."""

POST_TEXTS = (
    "MATCH (u:User)-[:POSTED]->(p:Post) WHERE p.text IS NOT NULL "
    "RETURN collect(u.id) AS users, collect(p.text) AS texts"
)
POST_SENTIMENT = (
    "MATCH (u:User)-[:POSTED]->(p:Post) WHERE p.sentiment_score IS NOT NULL "
    "RETURN collect(u.id) AS users, collect(p.sentiment_score) AS scores"
)


def _texts_by_user(store: GraphStore, graph: SocialGraph) -> dict[int, list[str]]:
    record = store.read(POST_TEXTS)[0]
    out: dict[int, list[str]] = {}
    for row, text in zip(graph.users.to_index(record["users"]).tolist(), record["texts"]):
        if row >= 0:
            out.setdefault(row, []).append(text[:2000])
    return out


def _sentiment(store: GraphStore, graph: SocialGraph, labels: np.ndarray) -> list[float | None]:
    record = store.read(POST_SENTIMENT)[0]
    rows = graph.users.to_index(record["users"])
    keep = rows >= 0
    n = int(labels.max()) + 1
    total = np.bincount(labels[rows[keep]], weights=np.asarray(record["scores"], dtype=np.float64)[keep], minlength=n)
    count = np.bincount(labels[rows[keep]], minlength=n)
    return [round(float(t / c), 4) if c else None for t, c in zip(total, count)]


def run_communities(
    store: GraphStore,
    graph: SocialGraph,
    encoder: EncoderConfig,
    seed: int,
    device: torch.device,
    on_epoch: Callable[[int, float], None] | None = None,
    config: CommunityConfig | None = None,
) -> dict[str, Any]:
    """Detects communities in ``graph`` and publishes them as one run of the ``communities`` job.

    Returns:
        ``{"run_id": …, "metrics": {…}}``; metrics include modularity and, where users carry a
        ground-truth ``community``, the NMI against it.
    """
    config = config or CommunityConfig()
    params: dict[str, Any] = {"seed": seed, "clustering": dataclasses.asdict(config)}
    if config.embedding == "sage":
        params["encoder"] = dataclasses.asdict(encoder)
    started = time.perf_counter()
    with RunWriter(store, OUTPUTS.job, params, relationships=OUTPUTS.relationship_types, nodes=OUTPUTS.node_labels) as run:
        if graph.num_users == 0:
            raise ValueError("the graph has no users; ingest data first")
        z = community_embeddings(graph, config, encoder, seed_everything(seed), device, on_epoch)
        partition = detect(graph, z, config, seed)
        words = keywords(partition.labels, read_interests(store, graph.users), _texts_by_user(store, graph), config.keywords)
        sentiment = _sentiment(store, graph, partition.labels)
        ids = [f"{run.run_id}:{index}" for index in range(len(words))]
        run.write_nodes(
            "Community",
            (
                {"key": ids[i], "props": {"index": i, "size": int(size), "keywords": words[i], "label": label(words[i], i), "sentiment": sentiment[i]}}
                for i, size in enumerate(partition.sizes)
            ),
        )
        members = zip(
            graph.users.ids.tolist(), partition.labels.tolist(), partition.score.tolist(), partition.ranks().tolist(),
            membership_reasons(graph, partition.labels),
        )
        run.write_relationships(
            "IN_COMMUNITY",
            "User",
            "Community",
            (
                {"src": user, "dst": ids[c], "props": {"score": round(float(s), 4), "rank": rank, "reason": reason}}
                for user, c, s, rank, reason in members
            ),
        )
        metrics: dict[str, Any] = {
            "communities": len(words),
            "users": graph.num_users,
            "largest_share": round(float(partition.sizes.max() / graph.num_users), 4),
            "modularity": round(modularity(graph, partition.labels), 4),
            "seconds": round(time.perf_counter() - started, 2),
        }
        known = graph.community >= 0
        if known.sum() >= 2:
            metrics["nmi"] = round(float(normalized_mutual_info_score(graph.community[known], partition.labels[known])), 4)
        run.publish(metrics)
    log.info("communities: %s", metrics)
    return {"run_id": run.run_id, "metrics": metrics}
