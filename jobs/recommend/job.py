"""The recommend job: LightGCN + text over INTERACTED, top-K posts per user written back with reasons.

Snapshot (users, posts, INTERACTED, FOLLOWS, ``embedding`` vectors) -> train
:class:`jobs.recommend.lightgcn.TextLightGCN` with BPR -> score every allowed post for every user
in chunks, the user's known posts masked -> ``(:User)-[:RECOMMENDED {score, rank, reason,
run_id}]->(:Post)`` through :class:`graph.writeback.RunWriter` (job ``recommend``).

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from graph.store import GraphStore
from graph.writeback import RunWriter
from jobs.common.ranking import csr_from_pairs, exposure_metrics
from jobs.recommend.data import RecommendGraph, read_recommend_graph
from jobs.recommend.lightgcn import TrainConfig, Trained, recommend, train
from jobs.recommend.reasons import nearest_known, pair_counts, reasons, snippet
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
    """Callbacks for the command's progress bars: ``epoch(epoch, loss)`` and ``users(n_done_now)``."""

    epoch: Callable[[int, float], None] = lambda epoch, loss: None
    users: Callable[[int], None] = lambda n: None


def _post_texts(store: GraphStore, graph: RecommendGraph, items: np.ndarray) -> dict[int, str]:
    ids = graph.posts.to_id(items).tolist()
    rows = store.read("UNWIND $ids AS id MATCH (p:Post {id: id}) RETURN id, p.text AS text", {"ids": ids})
    text = {row["id"]: row["text"] for row in rows}
    return {int(i): snippet(text.get(pid), pid) for i, pid in zip(items.tolist(), ids)}


def _rows(store: GraphStore, graph: RecommendGraph, trained: Trained, k: int, progress: Progress,
          exposure: list[tuple[np.ndarray, np.ndarray]]) -> Iterator[dict[str, Any]]:
    """Yields the RECOMMENDED rows chunk by chunk, appending each chunk's ``(users, items)`` pairs to ``exposure``."""
    data = graph.interactions
    user_emb, item_emb = trained.embeddings()
    known_indptr, known_indices = csr_from_pairs(data.users, data.items, data.num_users)
    follow_indptr, follow_indices = csr_from_pairs(*graph.follows, data.num_users)
    known_codes = np.sort(data.users * data.num_items + data.items)
    has_known = np.diff(known_indptr) > 0
    item_trained = np.bincount(data.items, minlength=data.num_items) > 0
    allowed = torch.from_numpy((item_trained | graph.post_has_text) & ~graph.blocked_posts)
    served = np.flatnonzero(has_known | graph.user_has_text)
    item_x = data.item_x if data.item_x is not None else torch.zeros(data.num_items, 1)
    for lo in range(0, served.size, USER_CHUNK):
        users = served[lo : lo + USER_CHUNK]
        scores, items = recommend(user_emb, item_emb, known_indptr, known_indices, k, users=users, item_mask=allowed)
        valid = items >= 0
        pair_users = np.repeat(users, valid.sum(1))
        pair_items, pair_scores = items[valid], scores[valid]
        ranks = (np.cumsum(valid, axis=1))[valid]
        counts = pair_counts(pair_users, pair_items, follow_indptr, follow_indices, known_codes, data.num_items)
        nearest, similarity = nearest_known(pair_users, pair_items, known_indptr, known_indices, item_x,
                                            graph.post_has_text)
        named = np.unique(nearest[nearest >= 0])
        texts = _post_texts(store, graph, named) if named.size else {}
        why = reasons(counts, nearest, similarity, has_known[pair_users], texts)
        exposure.append((pair_users, pair_items))
        user_ids = graph.users.to_id(pair_users).tolist()
        post_ids = graph.posts.to_id(pair_items).tolist()
        for user_id, post_id, score, rank, reason in zip(user_ids, post_ids, pair_scores.tolist(), ranks.tolist(), why):
            yield {"src": user_id, "dst": post_id, "props": {"score": score, "rank": rank, "reason": reason}}
        progress.users(users.size)


def run_recommend(store: GraphStore, k: int = 20, config: TrainConfig = TrainConfig(),
                  device: torch.device = torch.device("cpu"), progress: Progress | None = None) -> RecommendSummary:
    """Trains on the graph in ``store`` and publishes the top ``k`` posts of every user as a new run.

    Returns:
        A :class:`RecommendSummary`; the previous run stays current if anything fails.
    """
    progress = progress or Progress()
    seed_everything(config.seed)
    graph = read_recommend_graph(store, use_text=config.use_text)
    data = graph.interactions
    if data.num_users == 0 or data.num_items == 0:
        raise ValueError("the graph has no users or no posts to recommend")
    params = {"k": k, **config.__dict__, "device": str(device)}
    with RunWriter(store, JOB, params, relationships=OUTPUTS.relationship_types) as writer:
        trained = train(data, config, device, lambda epoch, loss, _: progress.epoch(epoch, loss))
        exposure: list[tuple[np.ndarray, np.ndarray]] = []
        written = writer.write_relationships("RECOMMENDED", "User", "Post", _rows(store, graph, trained, k, progress, exposure))
        users = np.concatenate([u for u, _ in exposure]) if exposure else np.zeros(0, dtype=np.int64)
        items = np.concatenate([i for _, i in exposure]) if exposure else np.zeros(0, dtype=np.int64)
        metrics = {
            "loss": trained.losses[-1] if trained.losses else None,
            "train_seconds": round(trained.seconds, 2),
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
