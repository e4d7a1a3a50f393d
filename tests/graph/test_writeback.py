"""Run-tagged write-back: atomic publication, failures and kill -9 leave the previous run complete."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from graph.catalogue import run_query
from graph.lock import JobLock, LockBusy, LockLost
from graph.store import GraphStore
from graph.writeback import RunAborted, RunWriter, current_run

REPO = Path(__file__).resolve().parents[2]
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
    assert users.relationship_count("SUGGESTED_FRIEND") == 150 + 200, "the superseded run stays until the next publish"
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
    assert users.relationship_count("SUGGESTED_FRIEND") == 80 + 120, "the killed run's output is gone, the superseded run kept"
    statuses = sorted(r["s"] for r in users.read("MATCH (r:JobRun {job: 'friends'}) RETURN r.status AS s"))
    assert statuses == ["abandoned", "completed", "superseded"]


def _writer(store: GraphStore, **kwargs) -> RunWriter:
    return RunWriter(store, "friends", {}, relationships=["SUGGESTED_FRIEND"], batch_size=50, **kwargs)


def _start_elsewhere(store: GraphStore) -> BaseException | None:
    """Starts a run of the friends job in another thread (as another process would); returns what it raised."""
    raised: list[BaseException] = []

    def start() -> None:
        try:
            with _writer(store):
                pass
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            raised.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join(timeout=60)
    return raised[0] if raised else None


def test_a_second_run_of_a_job_stops_at_once_naming_the_holder(users: GraphStore) -> None:
    with _writer(users) as first:
        busy = _start_elsewhere(users)
        assert isinstance(busy, LockBusy) and f"held by {first.lock.owner} since " in str(busy)
        with pytest.raises(LockBusy, match="of this process"):
            with _writer(users):
                pass
        assert users.read("MATCH (r:JobRun {id: $id}) RETURN r.status AS s", {"id": first.run_id})[0]["s"] == "running"
        first.write_relationships("SUGGESTED_FRIEND", "User", "User", suggestions(100, offset=1))
        first.publish({})
    assert {r["score"] for r in users.read(CURRENT)} == {1.0} and len(users.read(CURRENT)) == 100


def test_a_waiting_run_starts_after_the_holder_and_the_two_never_interleave(users: GraphStore) -> None:
    events: list[str] = []
    holding = threading.Event()

    def second() -> None:
        holding.wait()
        with _writer(users, wait=True) as run:
            events.append("second started")
            run.write_relationships("SUGGESTED_FRIEND", "User", "User", suggestions(50, offset=2))
            run.publish({})

    thread = threading.Thread(target=second)
    thread.start()
    with _writer(users) as run:
        holding.set()
        run.write_relationships("SUGGESTED_FRIEND", "User", "User", suggestions(100, offset=1))
        # The waiter polls every second: give it two chances to (wrongly) get in.
        thread.join(timeout=2.5)
        events.append("first publishing")
        run.publish({})
    thread.join(timeout=60)
    assert events == ["first publishing", "second started"]
    assert {r["score"] for r in users.read(CURRENT)} == {2.0} and len(users.read(CURRENT)) == 50
    assert users.read("MATCH (r:JobRun {job: 'friends', current: true}) RETURN count(r) AS n")[0]["n"] == 1


def test_a_run_that_was_purged_by_another_cannot_publish(users: GraphStore) -> None:
    publish_run(users, 100, offset=1)
    with pytest.raises(RunAborted, match="abandoned"):
        with _writer(users) as run:
            run.write_relationships("SUGGESTED_FRIEND", "User", "User", suggestions(60, offset=3))
            # What a run that started without the lock did to this one before: purge and abandon it.
            users.write("MATCH (r:JobRun {id: $id}) SET r.status = 'abandoned', r.purged = true", {"id": run.run_id})
            run.publish({})
    rows = users.read(CURRENT)
    assert len(rows) == 100 and {r["score"] for r in rows} == {1.0}


def test_a_run_whose_lock_was_taken_cannot_publish(users: GraphStore) -> None:
    publish_run(users, 100, offset=1)
    with pytest.raises(RunAborted, match="no longer holds the lock"):
        with _writer(users) as run:
            run.write_relationships("SUGGESTED_FRIEND", "User", "User", suggestions(60, offset=3))
            users.write("MATCH (l:JobLock {job: 'friends'}) SET l.owner = 'elsewhere:1:intruder'")
            run.publish({})
    rows = users.read(CURRENT)
    assert len(rows) == 100 and {r["score"] for r in rows} == {1.0}
    assert users.read("MATCH (r:JobRun {job: 'friends', current: true}) RETURN count(r) AS n")[0]["n"] == 1


def test_a_lost_lock_aborts_the_run_at_its_next_write(users: GraphStore) -> None:
    publish_run(users, 100, offset=1)
    with pytest.raises(LockLost):
        with _writer(users, lock_ttl_s=0.6) as run:
            users.write("MATCH (l:JobLock {job: 'friends'}) SET l.owner = 'elsewhere:1:intruder'")
            assert run.lock.lost.wait(timeout=30), "the heartbeat notices the lock is gone"
            run.write_relationships("SUGGESTED_FRIEND", "User", "User", suggestions(60, offset=3))
    assert users.relationship_count("SUGGESTED_FRIEND") == 100
    assert users.read("MATCH (l:JobLock {job: 'friends'}) RETURN l.owner AS o")[0]["o"] == "elsewhere:1:intruder"


def test_concurrent_runs_with_wait_publish_one_after_another_with_one_current(users: GraphStore) -> None:
    errors: list[BaseException] = []

    def run(offset: int) -> None:
        try:
            with _writer(users, wait=True) as writer:
                writer.write_relationships("SUGGESTED_FRIEND", "User", "User", suggestions(100, offset))
                writer.publish({"offset": offset})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(offset,)) for offset in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    runs = users.read("MATCH (r:JobRun {job: 'friends'}) RETURN r.status AS s, r.current AS c")
    assert sorted((r["s"], r["c"]) for r in runs) == [("completed", True)] + [("superseded", False)] * 3
    rows = users.read(CURRENT)
    assert len(rows) == 100 and len({r["score"] for r in rows}) == 1


def test_a_lock_held_by_an_outer_block_is_reused_inside_it_and_not_by_other_threads(users: GraphStore) -> None:
    outer = JobLock(users, "friends", ttl_s=60)
    with outer.held() as taken:
        assert taken
        with _writer(users) as run:
            assert run.lock is outer
            run.write_relationships("SUGGESTED_FRIEND", "User", "User", suggestions(10))
            run.publish({})
        assert isinstance(_start_elsewhere(users), LockBusy)
        assert outer.holder() == outer.owner, "the inner writer did not release the outer block's lock"
    assert outer.holder() is None


def test_a_lock_whose_holder_process_died_on_this_host_is_taken_over(users: GraphStore) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert JobLock(users, "friends", ttl_s=3600, owner=f"otherhost:{dead.pid}:gone").acquire()
    assert isinstance(_start_elsewhere(users), LockBusy), "a holder on another host may be alive"
    users.write("MATCH (l:JobLock {job: 'friends'}) SET l.owner = $owner", {"owner": f"{socket.gethostname()}:{dead.pid}:gone"})
    assert publish_run(users, 10, offset=1)


def test_the_superseded_run_stays_readable_when_pinned_until_the_next_publish(users: GraphStore) -> None:
    users.write("MATCH (a:User {id: 'u0'}), (b:User) WHERE b.id IN ['u1', 'u2', 'u3'] CREATE (a)-[:FOLLOWS]->(b)")
    first = publish_run(users, 200, offset=7)
    pinned = run_query("friend_suggestions", store=users, user="u0", run_id=first)
    assert pinned["run_id"].tolist() == [first]
    second = publish_run(users, 200, offset=8)
    assert run_query("friend_suggestions", store=users, user="u0")["run_id"].tolist() == [second]
    assert run_query("friend_suggestions", store=users, user="u0", run_id=first).equals(pinned)
    publish_run(users, 200, offset=9)
    assert run_query("friend_suggestions", store=users, user="u0", run_id=first).empty
    assert users.read("MATCH (r:JobRun {id: $id}) RETURN r.purged AS p", {"id": first})[0]["p"] is True
