"""The recommend job on a real Neo4j: written recommendations, planted topics, seeds, cold start, real-data quality."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from graph.writeback import current_run
from jobs.embed.job import run_embed
from jobs.recommend.job import run_recommend
from jobs.recommend.lightgcn import TrainConfig
from jobs.recommend.pool import PoolConfig
from text.embeddings import Encoder

CONFIG = TrainConfig(epochs=30, batch_size=1024, lr=1e-2, seed=0)
REASON = re.compile(
    r'^(liked by \d+ (person|people) (you follow|in your network)|because you liked ".+"|new post on .+ you write about|on .+, which you write about'
    r'|matches your profile|popular with people like you)$'
)
CPU = torch.device("cpu")
POOLS = pytest.mark.parametrize(
    "pool",
    # The whole catalogue, and candidates with caps far below it (the path of a large catalogue);
    # the text cap is k, what a user with only a bio has to choose from.
    [PoolConfig(), PoolConfig(above_items=0, neighbours=16, walk=30, popular=8, text=20, social=10)],
    ids=["whole-catalogue", "candidates"],
)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("synthetic-recommend")
    graph = generate(300, seed=3)
    write_canonical(graph, out)
    return out, graph.communities


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder("all-MiniLM-L6-v2", device="cpu", batch_size=64)


@pytest.fixture
def graph(store: GraphStore, synthetic: tuple[Path, pd.DataFrame], encoder: Encoder) -> GraphStore:
    summary = run_steps(Loader(store, RejectLog(None)), canonical_dir_steps(synthetic[0]))
    assert summary.rejected == 0
    run_embed(store, encoder)
    return store


def recommendations(store: GraphStore) -> pd.DataFrame:
    rows = store.read(
        "MATCH (run:JobRun {job: 'recommend', current: true}) "
        "MATCH (u:User)-[r:RECOMMENDED {run_id: run.id}]->(p:Post) "
        "RETURN u.id AS user, p.id AS post, r.score AS score, r.rank AS rank, r.reason AS reason, r.run_id AS run_id"
    )
    return pd.DataFrame(rows)


@POOLS
def test_job_writes_ranked_reasoned_recommendations_on_the_users_topics(
    graph: GraphStore, synthetic: tuple[Path, pd.DataFrame], pool: PoolConfig
) -> None:
    summary = run_recommend(graph, k=10, config=CONFIG, device=CPU, pool=pool)
    recs = recommendations(graph)
    run = current_run(graph, "recommend")
    assert run["id"] == summary.run_id and run["status"] == "completed"
    assert len(recs) == summary.written == run["metrics"]["recommendations"] > 0
    assert (recs.run_id == summary.run_id).all()
    assert run["metrics"]["model"] in ("graph_filter", "lightgcn")
    assert run["metrics"]["ranked_through_candidates"] == (pool.above_items == 0)
    for metric in ("fit_seconds", "coverage", "gini", "top1pct_share"):
        assert np.isfinite(run["metrics"][metric])
    assert 0 < run["metrics"]["coverage"] <= 1

    # Ranks are 1..n per user, scores fall with rank, every reason reads as one of the known kinds.
    for _, group in recs.groupby("user"):
        group = group.sort_values("rank")
        assert group["rank"].tolist() == list(range(1, len(group) + 1)) and len(group) <= 10
        assert (np.diff(group.score.to_numpy()) <= 1e-6).all()
    assert all(REASON.match(r) for r in recs.reason), recs.reason[~recs.reason.map(lambda r: bool(REASON.match(r)))].head()
    assert recs.reason.str.startswith("liked by").any() and recs.reason.str.startswith("because you liked").any()
    assert (recs.reason == "popular with people like you").mean() <= 0.15

    known = graph.read("MATCH (u:User)-[:INTERACTED]->(p:Post) RETURN DISTINCT u.id AS user, p.id AS post")
    known_pairs = {(r["user"], r["post"]) for r in known}
    assert not any((u, p) in known_pairs for u, p in zip(recs.user, recs.post))
    blocked = {r["id"] for r in graph.read("MATCH (:User {opt_out: true})-[:POSTED]->(p:Post) RETURN p.id AS id")}
    assert blocked and not set(recs.post) & blocked

    # Planted structure: recommended posts carry the user's own topics far more often than random posts do.
    truth = synthetic[1].set_index("user")
    tags = graph.read("MATCH (p:Post)-[:TAGGED]->(t:Tag) RETURN p.id AS post, collect(t.name) AS tags")
    post_tags = {r["post"]: set(r["tags"]) for r in tags}

    def on_topic(users: pd.Series, posts: pd.Series) -> float:
        return float(np.mean([
            bool(post_tags.get(p, set()) & {truth.at[u, "topic"], truth.at[u, "secondary_topic"]})
            for u, p in zip(users, posts)
        ]))

    rng = np.random.default_rng(0)
    random_posts = pd.Series(rng.choice(sorted(post_tags), size=len(recs)))
    model_share, random_share = on_topic(recs.user, recs.post), on_topic(recs.user, random_posts)
    assert model_share >= 0.8 and model_share >= 2 * random_share, (model_share, random_share)


def test_same_seed_same_recommendations(graph: GraphStore) -> None:
    run_recommend(graph, k=5, config=CONFIG, device=CPU)
    first = recommendations(graph).sort_values(["user", "rank"]).reset_index(drop=True)
    run_recommend(graph, k=5, config=CONFIG, device=CPU)
    second = recommendations(graph).sort_values(["user", "rank"]).reset_index(drop=True)
    assert first.run_id[0] != second.run_id[0]
    assert first[["user", "post", "rank", "reason"]].equals(second[["user", "post", "rank", "reason"]])
    np.testing.assert_allclose(first.score, second.score, rtol=1e-5)


@POOLS
def test_new_posts_and_new_users_are_served_through_their_text(graph: GraphStore, encoder: Encoder, pool: PoolConfig) -> None:
    texts = graph.read(
        "MATCH (p:Post)-[:TAGGED]->(:Tag {name: 'hiking'}) MATCH (:User)-[i:INTERACTED]->(p) "
        "WITH p, count(i) AS n ORDER BY n DESC LIMIT 5 RETURN p.text AS text"
    )
    graph.write(
        "UNWIND range(0, size($texts) - 1) AS i CREATE (:Post {id: 'fresh-' + toString(i), text: $texts[i]})",
        {"texts": [r["text"] for r in texts]},
    )
    graph.write("CREATE (:User {id: 'newcomer', bio: 'I love hiking, alpine lakes, summit views and trail maps'})")
    run_embed(graph, encoder)
    run_recommend(graph, k=20, config=CONFIG, device=CPU, pool=pool)
    recs = recommendations(graph)
    fresh = recs[recs.post.str.startswith("fresh-")]
    assert len(fresh) > 0, "a post without interactions was never recommended"
    newcomer = recs[recs.user == "newcomer"]
    assert len(newcomer) == 20 and (newcomer.reason == "matches your profile").all()
    hiking = {r["id"] for r in graph.read("MATCH (p:Post)-[:TAGGED]->(:Tag {name: 'hiking'}) RETURN p.id AS id")}
    assert np.mean([p in hiking or p.startswith("fresh-") for p in newcomer.post]) >= 0.5
