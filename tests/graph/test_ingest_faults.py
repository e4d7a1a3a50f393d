"""Ingest under faults, against a real Neo4j: a batch the server refuses, ``kill -9`` of the
loading process, and a server stopped in the middle of a load.  Each ends with a rerun and
exact counts: a checkpoint never covers a row that is not committed, and a rerun skips only
what is."""

from __future__ import annotations

import dataclasses
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest
from neo4j import GraphDatabase

from graph.config import ConnectionSettings, Settings
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import edges_steps, interactions_steps, run_steps
from graph.schema import ensure_schema
from graph.server import LocalNeo4j
from graph.store import GraphStore

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]


def _ingest(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jobs", "ingest", *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _env(store: GraphStore) -> dict[str, str]:
    conn = store.connection
    return {**os.environ, "NEO4J_URI": conn.uri, "NEO4J_USER": conn.user, "NEO4J_PASSWORD": conn.password}


def _checkpoint_rows(store: GraphStore) -> int:
    return store.read("MATCH (c:IngestCheckpoint) RETURN coalesce(max(c['rows']), 0) AS rows")[0]["rows"]


def _duplicates(store: GraphStore, rel_type: str) -> int:
    return store.read(
        f"MATCH (a)-[r:{rel_type}]->(b) WITH a, b, r.kind AS kind, count(r) AS c WHERE c > 1 RETURN count(*) AS n"
    )[0]["n"]


def _edge_file(path: Path, n: int) -> Path:
    """``n`` distinct follows ``u{i} -> u{7i+1 mod n}``: no self-loop (6i+1 is odd, n even), every user an endpoint."""
    assert n % 2 == 0
    path.write_text("".join(f"u{i} u{(i * 7 + 1) % n}\n" for i in range(n)), encoding="utf-8")
    return path


def _kill_when_committed(proc: subprocess.Popen, store: GraphStore, rows: int) -> None:
    """Waits until the load in ``proc`` has committed at least ``rows`` rows, then kills it with SIGKILL."""
    deadline = time.monotonic() + 120
    while _checkpoint_rows(store) < rows:
        if proc.poll() is not None:
            pytest.fail(f"the load ended before row {rows}: {proc.communicate()}")
        assert time.monotonic() < deadline, "the load made no progress"
        time.sleep(0.01)
    proc.kill()
    proc.communicate(timeout=30)


class PoisonedLoader(Loader):
    """A loader whose batch number ``bad`` (from 1) carries, in its last row, a value the server
    refuses to store: the rows before it in that batch are written before the transaction fails."""

    def __init__(self, *args: Any, bad: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bad = bad
        self.batches = 0

    def _write_batch(self, statements: Any, rows: list[dict[str, Any]], *rest: Any) -> list[dict[str, Any]]:
        self.batches += 1
        if self.batches == self.bad:
            rows = [*rows[:-1], {**rows[-1], "weight": {"a map": "is not a property value"}}]
        return super()._write_batch(statements, rows, *rest)


def test_a_failed_batch_stops_the_load_and_the_rerun_writes_exactly_the_rest(store: GraphStore, tmp_path: Path) -> None:
    n, batch, bad = 6_000, 500, 4
    path = tmp_path / "interactions.txt"
    # Row i: user u{i // 3} -> post p{i}, weight 1 to 5; every row its own relationship.
    path.write_text("".join(f"u{i // 3} p{i} {i % 5 + 1}\n" for i in range(n)), encoding="utf-8")
    poisoned = PoisonedLoader(store, RejectLog(None), batch_size=batch, bad=bad)
    with pytest.raises(neo4j.exceptions.ClientError, match="[Pp]roperty values can only be of primitive types"):
        run_steps(poisoned, interactions_steps(path))
    committed = (bad - 1) * batch
    assert poisoned.batches == bad, "no batch may be tried after the one that failed"
    assert _checkpoint_rows(store) == committed
    # The failed batch rolled back whole: its endpoints, its rows and its checkpoint.
    assert store.relationship_count("INTERACTED") == committed
    assert (store.node_count("User"), store.node_count("Post")) == (committed // 3, committed)

    summary = run_steps(Loader(store, RejectLog(None), batch_size=batch), interactions_steps(path))
    assert summary.kinds[0].resumed_from == committed
    assert summary.loaded == n - committed
    assert store.relationship_count("INTERACTED") == n
    assert (store.node_count("User"), store.node_count("Post")) == (n // 3, n)
    total = store.read("MATCH ()-[r:INTERACTED]->() RETURN sum(r.weight) AS w")[0]["w"]
    assert total == sum(i % 5 + 1 for i in range(n))
    assert _duplicates(store, "INTERACTED") == 0
    assert _checkpoint_rows(store) == 0


def test_a_load_killed_at_three_seeded_points_resumes_each_time_to_an_exact_graph(
    store: GraphStore, tmp_path: Path
) -> None:
    n, batch = 24_000, 400
    path = _edge_file(tmp_path / "edges.txt", n)
    args = ("--edges", str(path), "--batch-size", str(batch), "--rejects", str(tmp_path / "r.tsv"))
    rng = random.Random(20260112)
    # One kill point in each third of the file, away from its edges, so every kill lands mid-load.
    points = [rng.randrange(k * n // 3 + n // 12, (k + 1) * n // 3 - n // 12) for k in range(3)]
    for point in points:
        _kill_when_committed(_ingest(*args, env=_env(store)), store, point)
        committed = _checkpoint_rows(store)
        assert point <= committed < n
        # The checkpoint and the rows it counts commit together: neither runs ahead of the other.
        assert store.relationship_count("FOLLOWS") == committed
    rerun = _ingest(*args, env=_env(store))
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert f"resumed after {committed:,d}" in out
    assert store.relationship_count("FOLLOWS") == n
    assert store.node_count("User") == n
    assert _duplicates(store, "FOLLOWS") == 0
    assert _checkpoint_rows(store) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def throwaway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalNeo4j, GraphStore]]:
    """A Neo4j of this test's own (state under ``tmp_path``, a free port), and a store on it."""
    monkeypatch.delenv("NEO4J_URI", raising=False)
    base = Settings.from_env()
    server_settings = dataclasses.replace(
        base.server, state_dir=tmp_path / "neo4j", bolt_port=_free_port(), heap="512m", pagecache="64m"
    )
    server = LocalNeo4j(server_settings)
    try:
        server.start()
        with GraphStore(dataclasses.replace(base, server=server_settings).connection()) as store:
            ensure_schema(store)
            yield server, store
    finally:
        server.stop()


class GiveUpStore(GraphStore):
    """A store whose driver retries a failed transaction for half a second instead of 30, so a
    load gives up soon after its server goes away."""

    def __init__(self, connection: ConnectionSettings) -> None:
        super().__init__(connection)
        self.driver.close()
        self.driver = GraphDatabase.driver(
            connection.uri, auth=(connection.user, connection.password), max_transaction_retry_time=0.5
        )


@pytest.mark.skipif(bool(os.environ.get("NEO4J_URI")), reason="the test stops and starts a project-managed server")
def test_a_server_stopped_mid_load_and_started_again_leaves_a_graph_the_rerun_completes_exactly(
    throwaway: tuple[LocalNeo4j, GraphStore], tmp_path: Path
) -> None:
    server, store = throwaway
    n, batch = 8_000, 100
    path = _edge_file(tmp_path / "edges.txt", n)
    failures: list[BaseException] = []

    point = random.Random(7).randrange(n // 10, n // 3)
    reached, stopped = threading.Event(), threading.Event()
    consumed = [0]

    def pause_at_the_point(rows: int) -> None:
        # The load waits at the chosen point until the server is down, however fast it runs.
        consumed[0] += rows
        if consumed[0] >= point and not reached.is_set():
            reached.set()
            stopped.wait(timeout=120)

    def first_load() -> None:
        with GiveUpStore(store.connection) as own:
            try:
                run_steps(Loader(own, RejectLog(None), batch_size=batch, on_progress=pause_at_the_point), edges_steps(path))
            except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
                failures.append(exc)

    loading = threading.Thread(target=first_load)
    loading.start()
    assert reached.wait(timeout=120), "the load made no progress"
    server.stop()
    stopped.set()
    loading.join(timeout=60)
    assert failures, "the stop should land mid-load and fail it"
    server.start()
    committed = _checkpoint_rows(store)
    assert point <= committed < n
    assert store.relationship_count("FOLLOWS") == committed
    summary = run_steps(Loader(store, RejectLog(None), batch_size=batch), edges_steps(path))
    assert summary.kinds[0].resumed_from == committed
    assert store.relationship_count("FOLLOWS") == n
    assert store.node_count("User") == n
    assert _duplicates(store, "FOLLOWS") == 0
    assert _checkpoint_rows(store) == 0
