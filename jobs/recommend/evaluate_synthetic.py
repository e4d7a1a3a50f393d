"""``evaluate recommend --dataset synthetic``: are the job's recommendations on the planted topics, and are their reasons specific?

The generator knows each user's two planted interests (their community's primary and secondary
topic) and the topic every post was written on.  The job runs on the generated graph as it does
in production (ingest, text embeddings, :func:`jobs.recommend.job.run_recommend`, reasons
included); its written top 10 per user is then scored against that ground truth:

- ``topic_precision@10``: per user with recommendations, the share of their top 10 whose planted
  topic is one of the user's two, averaged over those users;
- ``generic_reason_share``: the share of those recommendations whose reason is the generic
  :data:`jobs.recommend.reasons.GENERIC`;
- ``reader``: the demo's AI and blockchain reader (``python -m jobs demo`` shows the first user
  with those topics), how many of their 10 are on topic; the demo's graph is this one at its
  default size and seed.

Baselines rank the same allowed, unseen posts by interaction count (``popularity``) and at
random (``random``, the chance level of the planted topics).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from graph.arrays import binary_matrix
from graph.store import GraphStore
from graph.synthetic import SyntheticGraph
from jobs.recommend.data import read_recommend_graph
from jobs.recommend.job import run_recommend, served
from jobs.recommend.lightgcn import TrainConfig
from jobs.recommend.reasons import GENERIC
from jobs.recommend.scoring import mask_seen, top_of

K = 10
READER_TOPICS = ("ai", "blockchain")
"""The demo's reader's planted topics (:func:`jobs.commands.demo.run_demo`)."""

WRITTEN = (
    "MATCH (run:JobRun {job: 'recommend', current: true}) "
    "MATCH (u:User)-[r:RECOMMENDED {run_id: run.id}]->(p:Post) WHERE r.rank <= $k "
    "RETURN u.id AS user, p.id AS post, r.rank AS rank, r.reason AS reason"
)


def on_topic(synthetic: SyntheticGraph, users: np.ndarray, posts: np.ndarray) -> np.ndarray:
    """Returns ``[P]`` bool: whether post ``posts[p]``'s planted topic is one of user ``users[p]``'s two (ids)."""
    truth = synthetic.communities.set_index("user")
    topic = synthetic.post_topics.set_index("post")["topic"].reindex(posts).to_numpy()
    primary = truth["topic"].reindex(users).to_numpy()
    secondary = truth["secondary_topic"].reindex(users).to_numpy()
    return (topic == primary) | (topic == secondary)


def topic_precision(synthetic: SyntheticGraph, users: np.ndarray, posts: np.ndarray) -> float:
    """Returns the mean over distinct ``users`` of the on-topic share of their ``posts`` (pairs of ids)."""
    hits = pd.Series(on_topic(synthetic, users, posts)).groupby(users).mean()
    return float(hits.mean()) if len(hits) else 0.0


def reader(synthetic: SyntheticGraph) -> str:
    """Returns the id of the demo's reader: the first user whose planted topics are :data:`READER_TOPICS`."""
    truth = synthetic.communities
    match = truth[(truth["topic"] == READER_TOPICS[0]) & (truth["secondary_topic"] == READER_TOPICS[1])]
    return str((match if len(match) else truth)["user"].iloc[0])


def _baselines(store: GraphStore, synthetic: SyntheticGraph, seed: int) -> dict[str, dict[str, float]]:
    """Returns ``{"popularity": {...}, "random": {...}}``, each ranking the job's allowed, unseen posts."""
    graph = read_recommend_graph(store, use_text=True)
    data = graph.interactions
    users, allowed = served(graph)
    known = binary_matrix(data.users, data.items, data.num_users, data.num_items)
    rng = np.random.default_rng(seed)
    scores = {
        "popularity": np.tile(data.popularity().astype(np.float32), (users.size, 1)),
        "random": rng.random((users.size, data.num_items), dtype=np.float32),
    }
    out = {}
    for name, matrix in scores.items():
        _, top = top_of(mask_seen(matrix, users, known, allowed), K)
        valid = top >= 0
        pair_users = graph.users.to_id(np.repeat(users, valid.sum(1)))
        pair_posts = graph.posts.to_id(top[valid])
        out[name] = {f"topic_precision@{K}": round(topic_precision(synthetic, np.asarray(pair_users), np.asarray(pair_posts)), 4)}
    return out


def evaluate_synthetic(store: GraphStore, synthetic: SyntheticGraph, config: TrainConfig, device: torch.device,
                       model: str = "auto") -> dict:
    """Runs the recommend job on ``store`` (``synthetic`` loaded and embedded) and scores its top 10 against the planted topics.

    Returns:
        ``{"model": {"topic_precision@10", "generic_reason_share", "users", "model", "fusion_text",
        "fusion_social", "val_*"}, "reader": {"user", "on_topic", "shown", "reasons"},
        "baselines": {"popularity", "random": {"topic_precision@10"}}}``.
    """
    summary = run_recommend(store, k=K, config=config, device=device, model=model)
    written = pd.DataFrame(store.read(WRITTEN, {"k": K}))
    users, posts = written["user"].to_numpy(dtype=object), written["post"].to_numpy(dtype=object)
    choice = {name: value for name, value in summary.metrics.items() if name in ("model", "fusion_text", "fusion_social") or name.startswith("val_")}
    result = {
        f"topic_precision@{K}": round(topic_precision(synthetic, users, posts), 4),
        "generic_reason_share": round(float((written["reason"] == GENERIC).mean()), 4),
        "users": int(np.unique(users).size),
        **choice,
    }
    who = reader(synthetic)
    mine = written[written["user"] == who].sort_values("rank")
    shown = {
        "user": who,
        "on_topic": int(on_topic(synthetic, mine["user"].to_numpy(dtype=object), mine["post"].to_numpy(dtype=object)).sum()),
        "shown": len(mine),
        "reasons": mine["reason"].tolist(),
    }
    return {"model": result, "reader": shown, "baselines": _baselines(store, synthetic, config.seed)}
