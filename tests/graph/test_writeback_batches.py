"""Grouped, concurrent write-back batches: exactly the rows asked for, and nothing left by a failed or killed run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest

from graph.store import GraphStore
from graph.writeback import RunWriter, by_source, current_run

REPO = Path(__file__).resolve().parents[2]
USERS = 60
ALL_OF_RUN = (
    "MATCH (a:User)-[s:SUGGESTED_FRIEND {run_id: $id}]->(b:User) "
    "RETURN a.id AS a, b.id AS b, s.score AS score, s.rank AS rank, s.reason AS reason, s.run_id AS run_id"
)


@pytest.fixture
def users(store: GraphStore) -> GraphStore:
    store.write("UNWIND range(0, $n - 1) AS i CREATE (:User {id: 'u' + toString(i)})", {"n": USERS})
    return store


def rows(n: int, tag: float = 1.0) -> list[dict]:
    """Rows whose sources come back in every batch and out of order, with repeated pairs and missing endpoints."""
    out = []
    for i in range(n):
        src, dst = f"u{(i * 7) % USERS}", f"u{(i * 13 + 1) % USERS}"
        if i % 97 == 5:
            src = "nobody"
        if i % 89 == 3:
            dst = "nobody"
        out.append({"src": src, "dst": dst, "props": {"score": tag + i / 1000, "rank": i % 20 + 1, "reason": f"reason {i}"}})
    return out + out[:25]


def expected(batch: list[dict], run_id: str) -> Counter:
    return Counter(
        (r["src"], r["dst"], r["props"]["score"], r["props"]["rank"], r["props"]["reason"], run_id)
        for r in batch if "nobody" not in (r["src"], r["dst"])
    )


def stored(store: GraphStore, run_id: str) -> Counter:
    return Counter(tuple(r.values()) for r in store.read(ALL_OF_RUN, {"id": run_id}))


def writer(store: GraphStore, writers: int, **kwargs) -> RunWriter:
    return RunWriter(store, "friends", {}, relationships=["SUGGESTED_FRIEND"], batch_size=37, writers=writers, **kwargs)


def test_rows_are_grouped_by_source_once_each_keeping_every_row() -> None:
    batch = rows(300)
    groups = by_source(batch)
    assert len({g["src"] for g in groups}) == len(groups)
    assert sorted((g["src"], r["dst"], r["props"]["reason"]) for g in groups for r in g["rows"]) == sorted(
        (r["src"], r["dst"], r["props"]["reason"]) for r in batch
    )


@pytest.mark.parametrize("writers", [1, 4])
def test_each_row_becomes_one_relationship_with_its_endpoints_props_and_run_id(users: GraphStore, writers: int) -> None:
    batch = rows(1000)
    with writer(users, writers) as run:
        written = run.write_relationships("SUGGESTED_FRIEND", "User", "User", iter(batch))
        run.publish({})
    want = expected(batch, run.run_id)
    assert written == sum(want.values()) == run.written
    assert stored(users, run.run_id) == want
    assert users.relationship_count("SUGGESTED_FRIEND") == sum(want.values())
    assert current_run(users, "friends")["id"] == run.run_id


def _failing_rows(batch: list[dict], where: str) -> Iterator[dict]:
    for i, row in enumerate(batch):
        if i == 600:
            if where == "rows":
                raise RuntimeError("model diverged")
            # Neo4j refuses a map as a property value: this batch fails on the server.
            row = {**row, "props": {**row["props"], "score": {"nested": 1}}}
        yield row


@pytest.mark.parametrize("where", ["rows", "server"])
def test_a_run_that_fails_mid_write_leaves_nothing_and_the_previous_run_current(users: GraphStore, where: str) -> None:
    with writer(users, 1) as first:
        first.write_relationships("SUGGESTED_FRIEND", "User", "User", rows(200, tag=5.0))
        first.publish({})
    previous = stored(users, first.run_id)
    with pytest.raises((RuntimeError, neo4j.exceptions.Neo4jError)):
        with writer(users, 4) as failed:
            failed.write_relationships("SUGGESTED_FRIEND", "User", "User", _failing_rows(rows(1000, tag=9.0), where))
    # Batches still in flight when the run failed would land after its purge: there must be none.
    time.sleep(1.0)
    assert users.read("MATCH ()-[s:SUGGESTED_FRIEND {run_id: $id}]->() RETURN count(s) AS n", {"id": failed.run_id})[0]["n"] == 0
    assert current_run(users, "friends")["id"] == first.run_id
    assert stored(users, first.run_id) == previous
    assert users.read("MATCH (r:JobRun {id: $id}) RETURN r.status AS s", {"id": failed.run_id})[0]["s"] == "failed"


KILLED_WRITER = """
import sys, time
from graph.config import ConnectionSettings
from graph.store import GraphStore
from graph.writeback import RunWriter

def slow_rows():
    for i in range(10**6):
        if i % 50 == 0:
            time.sleep(0.01)
        yield {"src": f"u{i % 60}", "dst": f"u{(i + 1) % 60}", "props": {"score": 9.0}}

uri, user, password = sys.argv[1:4]
with GraphStore(ConnectionSettings(uri, user, password, None, True)) as store:
    with RunWriter(store, "friends", {}, relationships=["SUGGESTED_FRIEND"], batch_size=50, writers=4) as run:
        run.write_relationships("SUGGESTED_FRIEND", "User", "User", slow_rows())
        run.publish({})
"""


def test_a_run_killed_while_its_writers_write_leaves_the_previous_result_current(users: GraphStore) -> None:
    with writer(users, 4) as first:
        first.write_relationships("SUGGESTED_FRIEND", "User", "User", rows(300, tag=2.0))
        first.publish({})
    previous = stored(users, first.run_id)
    conn = users.connection
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, conn.uri, conn.user, conn.password],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 60
    while users.relationship_count("SUGGESTED_FRIEND") < sum(previous.values()) + 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # Batches land 50 at a time, so the count can stop exactly at the threshold the loop waited for.
    assert users.relationship_count("SUGGESTED_FRIEND") >= sum(previous.values()) + 400, "the killed run had written partial results"
    assert current_run(users, "friends")["id"] == first.run_id
    assert stored(users, first.run_id) == previous
    batch = rows(500, tag=3.0)
    with writer(users, 4) as second:
        second.write_relationships("SUGGESTED_FRIEND", "User", "User", batch)
        second.publish({})
    assert stored(users, second.run_id) == expected(batch, second.run_id)
    assert users.relationship_count("SUGGESTED_FRIEND") == sum(previous.values()) + sum(expected(batch, "").values()), (
        "the killed run's output is gone, the superseded run kept"
    )
