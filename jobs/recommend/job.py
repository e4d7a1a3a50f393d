"""The recommend job: a collaborative model fused with text and follows, top-K posts per user written back with reasons.

Snapshot (users, posts, INTERACTED, FOLLOWS, ``embedding`` vectors, tags) -> choose and fit the
recommender (:mod:`jobs.recommend.recommender`: the graph filter or LightGCN, fused with text
and the social graph, chosen on a validation slice of this graph) -> score every allowed post
for every user in chunks, the user's known posts masked, or on a catalogue past
:attr:`jobs.recommend.pool.PoolConfig.above_items` each user's candidate posts only
(:mod:`jobs.recommend.pool`) -> ``(:User)-[:RECOMMENDED {score, rank, reason, run_id}]->(:Post)``
through :class:`graph.writeback.RunWriter` (job ``recommend``).

Who gets what:
- every user with an interaction or a profile vector gets up to ``k`` posts; a user with
  neither has nothing to go on and gets none (counted in the metrics);
- a post can be recommended when it has an interaction or a text vector (a new post with text
  is scored through its text alone), never to a user who already interacted with it, and never
  when its author opted out: opting out keeps a person from being surfaced to others, and
  recommending their posts would surface them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from graph.store import GraphStore
from graph.writeback import RunWriter
from jobs.common.ranking import exposure_metrics
from jobs.recommend.data import RecommendGraph, read_recommend_graph, read_topics
from jobs.recommend.lightgcn import TrainConfig
from jobs.recommend.reasons import reasons, snippet
from jobs.recommend.recommender import Recommender, fit_recommender
from jobs.recommend.pool import PoolConfig
from jobs.recommend.scoring import chunks
from jobs.common.runtime import seed_everything
from jobs.common.feedback import record_acceptance
from jobs.common.outputs import JobOutputs, RelationshipOutput

log = logging.getLogger(__name__)

JOB = "recommend"
USER_CHUNK = 2048

OUTPUTS = JobOutputs(
    JOB,
    relationships=(RelationshipOutput("RECOMMENDED", "User", "Post", ("score", "rank", "reason", "run_id"), suggestion=True),),
)
"""What the recommend job writes."""


@dataclass
class RecommendSummary:
    """What a run did: its id, the metrics stored on its ``JobRun`` and the relationships written."""

    run_id: str
    metrics: dict[str, Any] = field(default_factory=dict)
    written: int = 0


@dataclass
class Progress:
    """The callback of the command's progress bar: ``users(n_done_now)``, after each chunk of users is ranked."""

    users: Callable[[int], None] = lambda n: None


def _post_texts(store: GraphStore, graph: RecommendGraph, items: np.ndarray) -> dict[int, str]:
    ids = graph.posts.to_id(items).tolist()
    rows = store.read("UNWIND $ids AS id MATCH (p:Post {id: id}) RETURN id, p.text AS text", {"ids": ids})
    text = {row["id"]: row["text"] for row in rows}
    return {int(i): snippet(text.get(pid), pid) for i, pid in zip(items.tolist(), ids)}


def served(graph: RecommendGraph) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(users [n] to serve, allowed [I] bool posts)``: users with an interaction or a profile,
    posts with an interaction or a text vector and an author who did not opt out."""
    data = graph.interactions
    has_known = np.bincount(data.users, minlength=data.num_users) > 0
    item_trained = np.bincount(data.items, minlength=data.num_items) > 0
    return np.flatnonzero(has_known | graph.user_has_text), (item_trained | graph.post_has_text) & ~graph.blocked_posts


def _rows(store: GraphStore, graph: RecommendGraph, model: Recommender, k: int, progress: Progress,
          exposure: list[tuple[np.ndarray, np.ndarray]]) -> Iterator[dict[str, Any]]:
    """Yields the RECOMMENDED rows chunk by chunk, appending each chunk's ``(users, items)`` pairs to ``exposure``."""
    users_served, allowed = served(graph)
    for users in chunks(users_served, USER_CHUNK):
        parts = model.scorer.parts(users, model.known, allowed)
        scores, items, slots = parts.top(model.scorer.combine(parts), users, model.known, allowed, k)
        valid = items >= 0
        lines = np.repeat(np.arange(users.size), valid.sum(1))
        pair_users, pair_items, pair_scores = users[lines], items[valid], scores[valid]
        ranks = np.cumsum(valid, axis=1)[valid]
        evidence = model.evidence(parts, lines, slots[valid], pair_users, pair_items)
        named = np.unique(evidence.nearest[evidence.nearest >= 0])
        why = reasons(evidence, _post_texts(store, graph, named) if named.size else {})
        exposure.append((pair_users, pair_items))
        user_ids = graph.users.to_id(pair_users).tolist()
        post_ids = graph.posts.to_id(pair_items).tolist()
        for user_id, post_id, score, rank, reason in zip(user_ids, post_ids, pair_scores.tolist(), ranks.tolist(), why):
            yield {"src": user_id, "dst": post_id, "props": {"score": score, "rank": rank, "reason": reason}}
        progress.users(users.size)


def run_recommend(store: GraphStore, k: int = 20, config: TrainConfig = TrainConfig(),
                  device: torch.device = torch.device("cpu"), progress: Progress | None = None,
                  model: str = "auto", pool: PoolConfig = PoolConfig()) -> RecommendSummary:
    """Fits the recommender on the graph in ``store`` and publishes the top ``k`` posts of every user as a new run.

    Args:
        model: ``auto`` (chosen on a validation slice of the graph), ``graph_filter`` or ``lightgcn``.
        pool: when and how a large catalogue is ranked through each user's candidates.

    Returns:
        A :class:`RecommendSummary`; the previous run stays current if anything fails.
    """
    progress = progress or Progress()
    seed_everything(config.seed)
    graph = read_recommend_graph(store, use_text=config.use_text)
    data = graph.interactions
    if data.num_users == 0 or data.num_items == 0:
        raise ValueError("the graph has no users or no posts to recommend")
    params = {"k": k, "model": model, **config.__dict__, "device": str(device), **{f"pool_{name}": value for name, value in pool.__dict__.items()}}
    with RunWriter(store, JOB, params, relationships=OUTPUTS.relationship_types) as writer:
        start = time.perf_counter()
        recommender = fit_recommender(graph, read_topics(store, graph), model, config, device, served(graph)[1], pool)
        fit_seconds = time.perf_counter() - start
        exposure: list[tuple[np.ndarray, np.ndarray]] = []
        rows = _rows(store, graph, recommender, k, progress, exposure)
        written = writer.write_relationships("RECOMMENDED", "User", "Post", rows)
        users = np.concatenate([u for u, _ in exposure]) if exposure else np.zeros(0, dtype=np.int64)
        items = np.concatenate([i for _, i in exposure]) if exposure else np.zeros(0, dtype=np.int64)
        metrics = {
            **recommender.choice.metrics(),
            "ranked_through_candidates": recommender.scorer.pool is not None,
            "fit_seconds": round(fit_seconds, 2),
            "users": data.num_users,
            "posts": data.num_items,
            "interactions": int(data.users.size),
            "recommendations": written,
            "users_served": int(np.unique(users).size),
            "cold_posts_recommended": int(np.isin(items, np.setdiff1d(np.arange(data.num_items), data.items)).sum()),
            **exposure_metrics(items, data.num_items, data.popularity()),
        }
        record_acceptance(store, "recommend")
        writer.publish(metrics)
    log.info("recommend run %s: %d recommendations", writer.run_id, written)
    return RecommendSummary(writer.run_id, metrics, written)
