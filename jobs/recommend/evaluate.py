"""Offline evaluations of the recommend model: held-out interactions, full ranking, and cold start.

Every evaluation reads its training graph from a Neo4j store (a throwaway one when run from the
command line), trains as the job does, and ranks *all* posts for each test user with the
user's training posts masked.  The popularity baseline ranks posts by training interactions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graph.ingest.rows import RawRow, Reject
from graph.store import GraphStore
from jobs.common.ranking import csr_from_pairs, exposure_metrics, ranking_metrics
from jobs.recommend.data import RecommendGraph, read_recommend_graph
from jobs.recommend.graph_filter import GraphFilter
from jobs.recommend.lightgcn import Interactions, TrainConfig, Trained, recommend, train
from jobs.recommend.recommender import fit_recommender
from jobs.recommend.scoring import top_items

log = logging.getLogger(__name__)

K = 20
REPORTED = (f"recall@{K}", f"ndcg@{K}", f"hits@{K}", f"precision@{K}", "evaluated")


def pairs_of(rows: Iterable[RawRow | Reject]) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(user ids, item ids)`` object arrays of the ``src``/``dst`` fields of ``rows``.

    Raises:
        ValueError: at the first reject, naming its file, line and field.
    """
    src, dst = [], []
    for row in rows:
        if isinstance(row, Reject):
            raise ValueError(f"{row.source}:{row.line}:{row.field}: {row.reason}")
        src.append(row.fields["src"].strip())
        dst.append(row.fields["dst"].strip())
    return np.asarray(src, dtype=object), np.asarray(dst, dtype=object)


def _scores(trained: Trained, data: Interactions, queries: np.ndarray, truth: tuple[np.ndarray, np.ndarray],
            item_mask: torch.Tensor | None = None) -> dict[str, float]:
    user_emb, item_emb = trained.embeddings()
    known = csr_from_pairs(data.users, data.items, data.num_users)
    _, top = recommend(user_emb, item_emb, *known, K, users=queries, item_mask=item_mask)
    return _report(top, truth, queries, data)


def _report(top: np.ndarray, truth: tuple[np.ndarray, np.ndarray], queries: np.ndarray, data: Interactions
            ) -> dict[str, float]:
    metrics = ranking_metrics(top, *truth, queries, K)
    out = {name: metrics[name] for name in REPORTED}
    out.update(exposure_metrics(top, data.num_items, data.popularity()))
    return out


def popularity_baseline(data: Interactions, queries: np.ndarray, truth: tuple[np.ndarray, np.ndarray],
                        item_mask: torch.Tensor | None = None) -> dict[str, float]:
    """Returns the metrics of ranking every post by its number of training interactions."""
    ones = torch.ones(data.num_users, 1)
    popularity = torch.from_numpy(data.popularity().astype(np.float32)).unsqueeze(1)
    known = csr_from_pairs(data.users, data.items, data.num_users)
    _, top = recommend(ones, popularity, *known, K, users=queries, item_mask=item_mask)
    return _report(top, truth, queries, data)


def _truth(graph: RecommendGraph, users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Maps held-out id pairs to indices: test users unknown to the graph are dropped; items unknown to it
    get indices past the catalogue, so they count as misses."""
    u = graph.users.to_index(users)
    i = graph.posts.to_index(items)
    unknown = i < 0
    if unknown.any():
        _, fresh = np.unique(items[unknown], return_inverse=True)
        i[unknown] = graph.interactions.num_items + fresh
    keep = u >= 0
    if not keep.all():
        log.warning("%d held-out pairs name users absent from the training graph; skipped", int((~keep).sum()))
    u, i = u[keep], i[keep]
    return np.unique(u), csr_from_pairs(u, i, graph.interactions.num_users)


def item_knn(known: sp.csr_matrix) -> GraphFilter:
    """Returns the item-item cosine kNN baseline fitted on ``known``: scores ``r S`` with
    ``S = D_i^{-1/2} R^T R D_i^{-1/2}``, every neighbour kept; the graph filter's linear response
    with no user-degree weighting and no equaliser."""
    return GraphFilter(user_power=0.0, item_power=0.5, equaliser=0.0, response="linear", rank=0).fit(known)


def evaluate_held_out(store: GraphStore, test_users: np.ndarray, test_items: np.ndarray, config: TrainConfig,
                      device: torch.device, model: str = "auto") -> dict[str, Any]:
    """Fits the recommender as the job does on the graph in ``store`` and ranks all posts for the users of the held-out pairs.

    Args:
        model: as for the job: ``auto`` (chosen on a validation slice of the training graph), ``graph_filter`` or ``lightgcn``.

    Returns:
        ``{"model": {recall@20, ndcg@20, hits@20, precision@20, evaluated, coverage, gini,
        top1pct_share, model, fit_seconds, rank_seconds, validation}, "baselines": {"popularity",
        "item_knn", "gf_cf": {...}}}``.
    """
    graph = read_recommend_graph(store, use_text=config.use_text)
    data = graph.interactions
    queries, truth = _truth(graph, test_users, test_items)
    start = time.perf_counter()
    recommender = fit_recommender(graph, None, model, config, device, allowed=None)
    fitted = time.perf_counter()
    _, top = top_items(recommender.scorer, queries, recommender.known, K)
    result = _report(top, truth, queries, data)
    result.update(
        model=recommender.choice.model, fusion=recommender.choice.weights.__dict__, validation=recommender.choice.validation,
        fit_seconds=round(fitted - start, 1), rank_seconds=round(time.perf_counter() - fitted, 1),
    )
    baselines = {"popularity": popularity_baseline(data, queries, truth)}
    # GF-CF's 256 singular vectors from the randomised solver: they rank as ARPACK's do (RESULTS) in a fraction of the time.
    gf_cf = GraphFilter.gf_cf(solver="randomized").fit(recommender.known)
    for name, scorer in (("item_knn", item_knn(recommender.known)), ("gf_cf", gf_cf)):
        baselines[name] = _report(top_items(scorer, queries, recommender.known, K)[1], truth, queries, data)
    return {"model": result, "baselines": baselines}


def split_pairs(users: np.ndarray, items: np.ndarray, seed: int, test_share: float = 0.2) -> np.ndarray:
    """Returns ``[E]`` bool, True for the pairs held out: a seeded ``test_share`` of all pairs."""
    rng = np.random.default_rng(seed)
    held = np.zeros(users.size, dtype=bool)
    held[rng.permutation(users.size)[: int(round(test_share * users.size))]] = True
    return held


def write_pairs(path: Path, users: np.ndarray, items: np.ndarray, weights: np.ndarray) -> Path:
    """Writes a tab-separated ``user item weight`` list (no header) and returns its path."""
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(f"{u}\t{i}\t{w}\n" for u, i, w in zip(users.tolist(), items.tolist(), weights.tolist()))
    return path


def evaluate_cold_start(store: GraphStore, config: TrainConfig, device: torch.device, share: float = 0.1,
                        model: str = "auto") -> dict[str, Any]:
    """Holds out a seeded ``share`` of the posts that have interactions, entirely, and fits without them.

    Each user who interacted with a held-out post ranks the held-out posts only (they have no
    interaction left, so only their text can place them).  The model is the job's recommender
    (``model`` as for the job); the baselines are LightGCN with text features (the job's model
    before the graph filter) and the graph filter without text: without text every collaborative
    model scores the held-out posts alike, so the cheapest one stands for all.

    Returns:
        ``{"model": metrics, "baselines": {"lightgcn_text", "without_text": metrics}, "held_out_posts": n,
        "posts_with_text": n}``.
    """
    graph = read_recommend_graph(store, use_text=True)
    full = graph.interactions
    rng = np.random.default_rng(config.seed)
    interacted = np.unique(full.items)
    held = rng.choice(interacted, size=max(1, int(round(share * interacted.size))), replace=False)
    is_held = np.isin(full.items, held)
    data = replace(full, users=full.users[~is_held], items=full.items[~is_held])
    truth = csr_from_pairs(full.users[is_held], full.items[is_held], full.num_users)
    queries = np.unique(full.users[is_held])
    mask = np.zeros(full.num_items, dtype=bool)
    mask[held] = True
    results = {}
    for name, use_text, chosen in (("model", True, model), ("without_text", False, "graph_filter")):
        start = time.perf_counter()
        served = replace(graph, interactions=data if use_text else replace(data, user_x=None, item_x=None))
        recommender = fit_recommender(served, None, chosen, config, device, allowed=None)
        _, top = top_items(recommender.scorer, queries, recommender.known, K, item_mask=mask)
        results[name] = {**_report(top, truth, queries, data), "model": recommender.choice.model,
                         "fusion": recommender.choice.weights.__dict__, "fit_seconds": round(time.perf_counter() - start, 1)}
    start = time.perf_counter()
    trained = train(data, replace(config, use_text=True), device)
    results["lightgcn_text"] = _scores(trained, data, queries, truth, item_mask=torch.from_numpy(mask))
    results["lightgcn_text"]["train_seconds"] = round(time.perf_counter() - start, 1)
    return {"model": results.pop("model"), "baselines": results,
            "held_out_posts": int(held.size), "posts_with_text": int(graph.post_has_text.sum())}
