"""The communities and friends jobs on a real Neo4j: what they write, planted structure, seeds, real data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import normalized_mutual_info_score

from graph.config import Settings
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.schema import ensure_schema
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from graph.writeback import current_run
from jobs.communities.model import EMBEDDINGS, CommunityConfig, community_embeddings, detect
from jobs.communities.job import run_communities
from jobs.embed.job import run_embed
from jobs.common.feedback import ignored_friend_suggestions, record_acceptance
from jobs.friends.model import FriendsConfig, fit_friend_scorer, suggest_friends
from jobs.friends.job import run_friends
from jobs.gnn.encoder import EncoderConfig
from jobs.common.runtime import seed_everything
from jobs.gnn.social import SocialGraph, read_social_graph
from text.embeddings import Encoder

CPU = torch.device("cpu")
REPO = Path(__file__).resolve().parents[2]
ENCODER = EncoderConfig(epochs=60)
N_USERS = 400


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("gnn-synthetic")
    graph = generate(N_USERS, seed=11)
    write_canonical(graph, out)
    return out, graph.communities


@pytest.fixture(scope="module")
def loaded(settings: Settings, synthetic: tuple[Path, pd.DataFrame]) -> Iterator[GraphStore]:
    """The synthetic graph, ingested and embedded once for the whole module."""
    with GraphStore.from_settings(settings) as store:
        store.wipe()
        ensure_schema(store)
        assert run_steps(Loader(store, RejectLog(None)), canonical_dir_steps(synthetic[0])).rejected == 0
        run_embed(store, Encoder("all-MiniLM-L6-v2", device="cpu"))
        yield store


@pytest.fixture(scope="module")
def social(loaded: GraphStore) -> SocialGraph:
    return read_social_graph(loaded)


def _truth(social: SocialGraph, synthetic: tuple[Path, pd.DataFrame]) -> np.ndarray:
    table = synthetic[1]
    truth = np.full(social.num_users, -1)
    truth[social.users.to_index(table["user"].tolist())] = table["community"].to_numpy()
    return truth


def test_social_graph_reads_users_posts_text_and_opt_outs(loaded: GraphStore, social: SocialGraph) -> None:
    assert social.num_users == loaded.node_count("User") == N_USERS
    assert len(social.posts) == loaded.node_count("Post")
    assert social.x is not None and bool(social.has_x.all())
    src, dst = social.friendships.numpy()
    assert (src < dst).all()
    mutual = loaded.read(
        "MATCH (a:User)-[:FOLLOWS]->(b:User) WITH CASE WHEN a.id < b.id THEN [a.id, b.id] ELSE [b.id, a.id] END AS p "
        "RETURN count(DISTINCT p) AS n"
    )[0]["n"]
    assert social.friendships.shape[1] == mutual
    opted = {r["id"] for r in loaded.read("MATCH (u:User {opt_out: true}) RETURN u.id AS id")}
    assert opted and set(social.users.to_id(np.flatnonzero(social.opt_out))) == opted


@pytest.mark.parametrize("embedding", EMBEDDINGS)
def test_communities_job_recovers_planted_communities_and_writes_them(
    loaded: GraphStore, social: SocialGraph, synthetic: tuple[Path, pd.DataFrame], embedding: str
) -> None:
    config = CommunityConfig(embedding=embedding)
    summary = run_communities(loaded, social, ENCODER, seed=0, device=CPU, config=config)
    run = current_run(loaded, "communities")
    assert run["params"]["clustering"]["embedding"] == embedding
    assert run["id"] == summary["run_id"] and run["metrics"]["modularity"] > 0.3
    rows = loaded.read(
        "MATCH (u:User)-[m:IN_COMMUNITY {run_id: $run}]->(c:Community {run_id: $run}) "
        "RETURN u.id AS user, c.index AS community, m.score AS score",
        {"run": run["id"]},
    )
    assert len(rows) == N_USERS == len({r["user"] for r in rows})
    assert all(-1.0 <= r["score"] <= 1.0 for r in rows)
    found = pd.DataFrame(rows).merge(synthetic[1], on="user", suffixes=("_found", "_planted"))
    nmi = normalized_mutual_info_score(found["community_planted"], found["community_found"])
    assert nmi >= 0.9, nmi
    communities = loaded.read("MATCH (c:Community {run_id: $run}) RETURN c ORDER BY c.index", {"run": run["id"]})
    assert sum(c["c"]["size"] for c in communities) == N_USERS
    assert all(c["c"]["keywords"] and c["c"]["label"] for c in communities)


@pytest.mark.parametrize("embedding", EMBEDDINGS)
def test_communities_are_deterministic_for_a_seed(social: SocialGraph, embedding: str) -> None:
    config = CommunityConfig(embedding=embedding)
    labels = []
    for seed in (3, 3, 4):
        z = community_embeddings(social, config, ENCODER, seed_everything(seed), CPU)
        labels.append(detect(social, z, config, seed=seed).labels)
    np.testing.assert_array_equal(labels[0], labels[1])
    assert normalized_mutual_info_score(labels[0], labels[2]) > 0.8


def test_friends_job_writes_valid_explained_suggestions(
    loaded: GraphStore, social: SocialGraph, synthetic: tuple[Path, pd.DataFrame]
) -> None:
    k = 10
    summary = run_friends(loaded, social, FriendsConfig(k=k, encoder=ENCODER), seed=0, device=CPU)
    rows = loaded.read(
        "MATCH (a:User)-[s:SUGGESTED_FRIEND {run_id: $run}]->(b:User) "
        "RETURN a.id AS a, b.id AS b, s.rank AS rank, s.score AS score, s.reason AS reason, "
        "exists((a)-[:FOLLOWS]-(b)) AS friends, coalesce(a.opt_out, false) AS a_out, coalesce(b.opt_out, false) AS b_out",
        {"run": summary["run_id"]},
    )
    frame = pd.DataFrame(rows)
    assert len(frame) == summary["metrics"]["suggestions"] > 0
    assert not (frame["a"] == frame["b"]).any()
    assert not frame["friends"].any()
    assert not frame["a_out"].any() and not frame["b_out"].any()
    assert np.isfinite(frame["score"]).all() and frame["reason"].str.len().gt(0).all()
    for _, group in frame.groupby("a"):
        ordered = group.sort_values("rank")
        assert ordered["rank"].tolist() == list(range(1, len(group) + 1)) and len(group) <= k
        assert ordered["score"].is_monotonic_decreasing
    assert frame["reason"].str.contains("mutual friend|shared interests").mean() > 0.8
    planted = synthetic[1].set_index("user")["community"]
    same = (frame["a"].map(planted) == frame["b"].map(planted)).mean()
    assert same >= 0.7, same
    # The capped candidates hold most held-out friendships, and the ranking finds a share of them.
    metrics = summary["metrics"]
    assert metrics["held_out_candidate_recall"] >= 0.5, metrics
    assert 0 < metrics["held_out_recall_at_10"] <= metrics["held_out_candidate_recall"], metrics


def test_friend_suggestions_are_reproducible_for_a_seed(social: SocialGraph) -> None:
    config = FriendsConfig(k=5, encoder=EncoderConfig(epochs=20))
    found = []
    for _ in range(2):
        scorer = fit_friend_scorer(social, social.friendships, config, seed_everything(5), CPU)
        found.append(suggest_friends(social, social.friendships, scorer, config))
    np.testing.assert_array_equal(found[0].src, found[1].src)
    np.testing.assert_array_equal(found[0].dst, found[1].dst)
    np.testing.assert_allclose(found[0].score, found[1].score)


KILLED_JOBS = {
    "friends": ("SUGGESTED_FRIEND", ["friends", "--epochs", "5", "--k", "10"]),
    "communities": ("IN_COMMUNITY", ["communities", "--epochs", "5"]),
    "recommend": ("RECOMMENDED", ["recommend", "--epochs", "2", "--k", "10"]),
}


@pytest.mark.parametrize("job", sorted(KILLED_JOBS))
def test_job_killed_mid_write_leaves_the_previous_run_and_a_rerun_finishes(loaded: GraphStore, job: str) -> None:
    """The real CLI, killed with SIGKILL while it writes in small batches."""
    rel_type, arguments = KILLED_JOBS[job]
    conn = loaded.connection
    env = {
        **os.environ, "NEO4J_URI": conn.uri, "NEO4J_USER": conn.user, "NEO4J_PASSWORD": conn.password,
        "SOCIOGRAPH_BATCH_SIZE": "20", "PYTHONPATH": str(REPO),
    }
    command = [sys.executable, "-m", "jobs", *arguments]
    assert subprocess.run(command, env=env, cwd=REPO, capture_output=True, timeout=600).returncode == 0
    before = current_run(loaded, job)
    count = f"MATCH ()-[s:{rel_type} {{run_id: $run}}]->() RETURN count(s) AS n"
    published = loaded.read(count, {"run": before["id"]})[0]["n"]
    assert published > 0
    # Counted by the running run's id: the graph also keeps the run `before` superseded.
    running = f"MATCH (run:JobRun {{job: $job, status: 'running'}}) MATCH ()-[s:{rel_type} {{run_id: run.id}}]->() RETURN count(s) AS n"
    proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while loaded.read(running, {"job": job})[0]["n"] <= 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert loaded.read(running, {"job": job})[0]["n"] > 100, "the killed run had written partial results"
    assert current_run(loaded, job)["id"] == before["id"]
    assert loaded.read(count, {"run": before["id"]})[0]["n"] == published
    assert subprocess.run(command, env=env, cwd=REPO, capture_output=True, timeout=600).returncode == 0
    after = current_run(loaded, job)
    assert after["id"] != before["id"]
    # The killed run's output is gone; the run the rerun superseded stays readable until the next publish.
    assert loaded.relationship_count(rel_type) == loaded.read(count, {"run": after["id"]})[0]["n"] + published
    assert loaded.read(count, {"run": after["id"]})[0]["n"] > 0
    statuses = loaded.read("MATCH (r:JobRun {job: $job}) RETURN collect(r.status) AS s", {"job": job})[0]["s"]
    assert "abandoned" in statuses


def test_feedback_measures_acceptance_and_feeds_ignored_suggestions_back(loaded: GraphStore, social: SocialGraph) -> None:
    config = FriendsConfig(k=5, encoder=EncoderConfig(epochs=10))
    run_friends(loaded, social, config, seed=1, device=CPU)
    first = run_friends(loaded, social, config, seed=1, device=CPU)
    # Nobody took up the run before: no sign its suggestions were seen, so none count as ignored.
    assert first["metrics"]["hard_negatives"] == 0
    shown = first["metrics"]["suggestions"]
    accepted = loaded.write(
        "MATCH (a:User)-[s:SUGGESTED_FRIEND {run_id: $run, rank: 1}]->(b:User) WITH a, b ORDER BY a.id LIMIT 3 "
        "CREATE (a)-[:FOLLOWS]->(b) RETURN count(*) AS n",
        {"run": first["run_id"]},
    )[0]["n"]
    assert accepted == 3
    figures = record_acceptance(loaded, "friends")
    assert figures == {"job": "friends", "run_id": first["run_id"], "shown": shown, "accepted": 3, "rate": round(3 / shown, 6)}
    assert current_run(loaded, "friends")["metrics"]["online"]["accepted"] == 3
    ignored = ignored_friend_suggestions(loaded, social.users)
    assert ignored.shape[1] <= shown - 3
    second = run_friends(loaded, social, config, seed=1, device=CPU)
    assert second["metrics"]["hard_negatives"] == ignored.shape[1] > 0
    history = loaded.read("MATCH (r:JobRun {id: $id}) RETURN r.metrics AS m, r.status AS s", {"id": first["run_id"]})[0]
    assert history["s"] == "superseded" and '"accepted": 3' in history["m"]
    third = run_friends(loaded, social, config, seed=1, device=CPU)
    assert third["run_id"] != second["run_id"]
    assert loaded.read("MATCH ()-[s:SUGGESTED_FRIEND {run_id: $run}]->() RETURN count(s) AS n", {"run": first["run_id"]})[0]["n"] == 0
