"""Run-tagged write-back: atomic publication, failures and kill -9 leave the previous run complete."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.store import GraphStore
from graph.writeback import RunWriter, current_run

REPO = Path(__file__).resolve().parents[1]
CURRENT = (
    "MATCH (run:JobRun {job: 'friends', current: true}) "
    "MATCH (a:User)-[s:SUGGESTED_FRIEND {run_id: run.id}]->(b:User) RETURN a.id AS a, b.id AS b, s.score AS score"
)


@pytest.fixture
def users(store: GraphStore) -> GraphStore:
    store.write("UNWIND range(0, 199) AS i CREATE (:User {id: 'u' + toString(i)})")
    return store


def suggestions(n: int, offset: int = 1) -> list[dict]:
    return [{"src": f"u{i % 200}", "dst": f"u{(i + offset) % 200}", "props": {"score": float(offset), "rank": 1}} for i in range(n)]


def publish_run(store: GraphStore, n: int, offset: int) -> str:
    with RunWriter(store, "friends", {"k": 1}, relationships=["SUGGESTED_FRIEND"], batch_size=50) as run:
        run.write_relationships("SUGGESTED_FRIEND", "User", "User", suggestions(n, offset))
        run.publish({"coverage": 1.0})
    return run.run_id


def test_publish_swaps_runs_and_purges_the_old_one(users: GraphStore) -> None:
    first = publish_run(users, 200, offset=1)
    assert {r["score"] for r in users.read(CURRENT)} == {1.0}
    second = publish_run(users, 150, offset=2)
    rows = users.read(CURRENT)
    assert len(rows) == 150 and {r["score"] for r in rows} == {2.0}
    assert users.relationship_count("SUGGESTED_FRIEND") == 150
    run = current_run(users, "friends")
    assert run["id"] == second and run["metrics"] == {"coverage": 1.0} and run["params"] == {"k": 1}
    old = users.read("MATCH (r:JobRun {id: $id}) RETURN r.status AS s, r.current AS c", {"id": first})[0]
    assert old == {"s": "superseded", "c": False}


def test_failed_run_leaves_previous_results(users: GraphStore) -> None:
    publish_run(users, 100, offset=1)
    with pytest.raises(RuntimeError):
        with RunWriter(users, "friends", {}, relationships=["SUGGESTED_FRIEND"], batch_size=10) as run:
            run.write_relationships("SUGGESTED_FRIEND", "User", "User", suggestions(60, offset=3))
            raise RuntimeError("model diverged")
    rows = users.read(CURRENT)
    assert len(rows) == 100 and {r["score"] for r in rows} == {1.0}
    assert users.relationship_count("SUGGESTED_FRIEND") == 100
    status = users.read("MATCH (r:JobRun {id: $id}) RETURN r.status AS s", {"id": run.run_id})[0]["s"]
    assert status == "failed"


def test_undeclared_outputs_are_refused(users: GraphStore) -> None:
    with RunWriter(users, "friends", {}, relationships=["SUGGESTED_FRIEND"]) as run:
        with pytest.raises(ValueError):
            run.write_relationships("FOLLOWS", "User", "User", [])
        run.publish({})


KILLED_WRITER = """
import sys, time
from graph.config import ConnectionSettings
from graph.store import GraphStore
from graph.writeback import RunWriter
uri, user, password = sys.argv[1:4]
with GraphStore(ConnectionSettings(uri, user, password, None, True)) as store:
    run = RunWriter(store, "friends", {}, relationships=["SUGGESTED_FRIEND"], batch_size=20)
    run.start()
    rows = ({"src": f"u{i % 200}", "dst": f"u{(i + 5) % 200}", "props": {"score": 9.0}} for i in range(100000))
    for i, row in enumerate(rows):
        run.write_relationships("SUGGESTED_FRIEND", "User", "User", [row] * 1)
        if i % 20 == 0:
            time.sleep(0.01)
    run.publish({})
"""


def test_kill_9_mid_write_leaves_previous_run_readable_and_next_run_finishes(users: GraphStore) -> None:
    publish_run(users, 120, offset=1)
    conn = users.connection
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, conn.uri, conn.user, conn.password],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 60
    while users.relationship_count("SUGGESTED_FRIEND") < 160 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert users.relationship_count("SUGGESTED_FRIEND") > 120, "the killed run had written partial results"
    rows = users.read(CURRENT)
    assert len(rows) == 120 and {r["score"] for r in rows} == {1.0}
    publish_run(users, 80, offset=4)
    rows = users.read(CURRENT)
    assert len(rows) == 80 and {r["score"] for r in rows} == {4.0}
    assert users.relationship_count("SUGGESTED_FRIEND") == 80
    statuses = sorted(r["s"] for r in users.read("MATCH (r:JobRun {job: 'friends'}) RETURN r.status AS s"))
    assert statuses == ["abandoned", "completed", "superseded"]
