"""Evaluating community detection: NMI against ground truth and modularity, beside Louvain baselines.

Every method partitions the same users: ours (the communities job's algorithm, embedding as
``config.embedding`` says), networkx Louvain on the plain friendship graph, and, when the
OpenGDS plugin is installed, GDS Louvain and Leiden run inside the same Neo4j over an
undirected projection.  Each method's wall time is measured the same way: from the graph in
memory (ours, networkx) or in Neo4j (GDS, projection included) to labels in Python.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from graph.store import GraphStore
from jobs.communities.model import CommunityConfig, community_embeddings, detect, friendship_graph, louvain, modularity
from jobs.gnn.encoder import EncoderConfig
from jobs.common.runtime import seed_everything
from jobs.gnn.social import SocialGraph

log = logging.getLogger(__name__)

GDS_GRAPH = "sociograph_eval"


def _scores(truth: np.ndarray, labels: np.ndarray, graph: SocialGraph, seconds: float) -> dict[str, float]:
    known = truth >= 0
    return {
        "nmi": round(float(normalized_mutual_info_score(truth[known], labels[known])), 4),
        "modularity": round(modularity(graph, labels), 4),
        "communities": int(labels.max()) + 1,
        "seconds": round(seconds, 3),
    }


def _gds(store: GraphStore, graph: SocialGraph, algorithm: str, seed: int) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    store.write(
        "CALL gds.graph.project($name, 'User', {FOLLOWS: {orientation: 'UNDIRECTED', aggregation: 'SINGLE'}})",
        {"name": GDS_GRAPH},
    )
    try:
        # GDS Louvain takes no random seed (it is deterministic at concurrency 1); Leiden does.
        procedure, config = {
            "louvain": ("gds.louvain.stream", "{concurrency: 1}"),
            "leiden": ("gds.leiden.stream", "{randomSeed: $seed, concurrency: 1}"),
        }[algorithm]
        _, rows = store.read_columns(
            f"CALL {procedure}($name, {config}) YIELD nodeId, communityId "
            "RETURN collect(gds.util.asNode(nodeId).id) AS ids, collect(communityId) AS communities",
            {"name": GDS_GRAPH, "seed": seed},
        )
    finally:
        store.write("CALL gds.graph.drop($name, false) YIELD graphName RETURN graphName", {"name": GDS_GRAPH})
    seconds = time.perf_counter() - started
    ids, communities = rows[0]
    labels = np.full(graph.num_users, -1, dtype=np.int64)
    labels[graph.users.to_index(ids)] = np.unique(np.asarray(communities), return_inverse=True)[1]
    return labels, seconds


def evaluate_communities(
    graph: SocialGraph,
    truth: np.ndarray,
    seed: int = 0,
    encoder: EncoderConfig | None = None,
    store_with_gds: GraphStore | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    config: CommunityConfig | None = None,
) -> dict[str, Any]:
    """Partitions ``graph`` with every method and scores each against ``truth`` (``[U]``, ``-1`` unknown).

    Returns:
        ``{"model": {nmi, modularity, communities, seconds}, "baselines": {name: {…}}}``.
    """
    g = friendship_graph(graph)
    config = config or CommunityConfig()
    started = time.perf_counter()
    z = community_embeddings(graph, config, encoder or EncoderConfig(), seed_everything(seed), torch.device("cpu"), on_epoch)
    ours = detect(graph, z, config, seed).labels
    result: dict[str, Any] = {"model": _scores(truth, ours, graph, time.perf_counter() - started), "baselines": {}}
    started = time.perf_counter()
    plain = louvain(g, seed, weight=None)
    result["baselines"]["networkx_louvain"] = _scores(truth, plain, graph, time.perf_counter() - started)
    if store_with_gds is not None:
        for algorithm in ("louvain", "leiden"):
            labels, seconds = _gds(store_with_gds, graph, algorithm, seed)
            result["baselines"][f"gds_{algorithm}"] = _scores(truth, labels, graph, seconds)
    log.info("communities evaluation: %s", result)
    return result
