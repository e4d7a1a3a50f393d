"""Faults and load around published results: readers during publishes, and Neo4j killed mid write-back.

Marked ``faults`` (``pytest -m faults`` runs only these); the README's test command runs them too.
"""

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

import pytest
import torch

from graph.catalogue import run_query
from graph.config import Settings
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.schema import ensure_schema
from graph.server import LocalNeo4j
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from graph.writeback import RunWriter, current_run
from jobs.common.exit_codes import Exit
from jobs.friends.model import FriendsConfig
from jobs.friends.job import run_friends
from jobs.gnn.encoder import EncoderConfig
from jobs.gnn.social import read_social_graph

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]
USERS = 200
K = 5
COMMUNITIES = 4


def _publish_friends(store: GraphStore, score: float) -> str:
    with RunWriter(store, "friends", {"score": score}, relationships=["SUGGESTED_FRIEND"], batch_size=50, wait=True) as run:
        run.write_relationships(
            "SUGGESTED_FRIEND", "User", "User",
            (
                {"src": f"u{u}", "dst": f"u{(u + r) % USERS}", "props": {"score": score, "rank": r, "reason": "test"}}
                for u in range(USERS) for r in range(1, K + 1)
            ),
        )
        run.publish({})
    return run.run_id


def _publish_communities(store: GraphStore, label: str) -> str:
    with RunWriter(store, "communities", {}, relationships=["IN_COMMUNITY"], nodes=["Community"], batch_size=50, wait=True) as run:
        key = f"{run.run_id}-{{}}"
        run.write_nodes(
            "Community",
            ({"key": key.format(c), "props": {"index": c, "size": USERS // COMMUNITIES, "label": label}} for c in range(COMMUNITIES)),
        )
        run.write_relationships(
            "IN_COMMUNITY", "User", "Community",
            ({"src": f"u{u}", "dst": key.format(u % COMMUNITIES), "props": {"score": 1.0}} for u in range(USERS)),
        )
        run.publish({})
    return run.run_id


def test_readers_during_publishes_see_one_complete_run_every_time(store: GraphStore) -> None:
    """Eight readers loop over catalogue queries (one of them reads `communities`, then one
    `community` pinned to that run, as the notebook does) while three runs of two jobs publish."""
    store.write("UNWIND range(0, $n - 1) AS i CREATE (:User {id: 'u' + toString(i)})", {"n": USERS})
    _publish_friends(store, 0.0)
    _publish_communities(store, "run 0")
    done = threading.Event()
    counts: dict[str, int] = {"friend_suggestions": 0, "community": 0}
    failures: list[str] = []
    lock = threading.Lock()

    def read(seed: int) -> None:
        rng = random.Random(seed)
        while not done.is_set():
            user = f"u{rng.randrange(USERS)}"
            frame = run_query("friend_suggestions", store=store, user=user)
            runs, scores = set(frame["run_id"]), set(frame["score"])
            if len(frame) != K or len(runs) != 1 or len(scores) != 1:
                failures.append(f"friend_suggestions {user}: {len(frame)} rows, runs {runs}, scores {scores}")
            listing = run_query("communities", store=store)
            pinned = set(listing["run_id"])
            if len(listing) != COMMUNITIES or len(pinned) != 1:
                failures.append(f"communities: {len(listing)} rows over runs {pinned}")
                continue
            index = rng.randrange(COMMUNITIES)
            members = run_query("community", store=store, community=index, run_id=pinned.pop())
            if len(members) != USERS // COMMUNITIES or len(set(members["label"])) != 1:
                failures.append(f"community {index}: {len(members)} members, labels {set(members['label'])}")
            with lock:
                counts["friend_suggestions"] += 1
                counts["community"] += 1
            first_reads.release()

    readers = [threading.Thread(target=read, args=(seed,)) for seed in range(8)]
    first_reads = threading.Semaphore(0)
    began = time.perf_counter()
    for reader in readers:
        reader.start()
    try:
        # Publishing starts once the readers have completed eight reads, however the threads are scheduled.
        for _ in readers:
            assert first_reads.acquire(timeout=120), failures[:5]
        for run in range(1, 4):
            _publish_friends(store, float(run))
            _publish_communities(store, f"run {run}")
    finally:
        done.set()
        for reader in readers:
            reader.join(timeout=120)
    seconds = time.perf_counter() - began
    assert not failures, failures[:5]
    reads = 3 * counts["friend_suggestions"]
    print(f"\n{reads} catalogue reads in {seconds:.1f} s by 8 threads during 6 publishes: {reads / seconds:.0f} reads/s")
    assert counts["friend_suggestions"] >= 8, "every reader completed reads while the runs published"
    assert current_run(store, "friends")["params"] == {"score": 3.0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_server(settings: Settings, tmp_path: Path) -> Iterator[LocalNeo4j]:
    """A throwaway server of this test's own, which it may kill."""
    server_settings = dataclasses.replace(
        settings.server, state_dir=tmp_path / "neo4j", bolt_port=_free_port(), heap="512m", pagecache="256m"
    )
    server = LocalNeo4j(server_settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _friends_in_process(store: GraphStore) -> None:
    config = FriendsConfig(k=10, encoder=EncoderConfig(epochs=3))
    run_friends(store, read_social_graph(store), config, seed=0, device=torch.device("cpu"))


def test_neo4j_killed_mid_write_back_leaves_the_previous_run_and_a_rerun_publishes(
    settings: Settings, own_server: LocalNeo4j, tmp_path: Path
) -> None:
    local = dataclasses.replace(settings, server=own_server.settings)
    write_canonical(generate(150, seed=3), tmp_path / "net")
    with GraphStore.from_settings(local) as store:
        ensure_schema(store)
        assert run_steps(Loader(store, RejectLog(None)), canonical_dir_steps(tmp_path / "net")).rejected == 0
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("NEO4J_")
    } | {
        "SOCIOGRAPH_NEO4J_DIR": str(own_server.settings.state_dir),
        "SOCIOGRAPH_BOLT_PORT": str(own_server.settings.bolt_port),
        "SOCIOGRAPH_BATCH_SIZE": "20",
        "PYTHONPATH": str(REPO),
    }
    command = [sys.executable, "-m", "jobs", "friends", "--epochs", "3", "--k", "10"]
    count = "MATCH ()-[s:SUGGESTED_FRIEND {run_id: $run}]->() RETURN count(s) AS n"
    with GraphStore.from_settings(local) as store:
        _friends_in_process(store)
        before = current_run(store, "friends")
        published = store.read(count, {"run": before["id"]})[0]["n"]
        assert published == before["metrics"]["suggestions"] > 0
        job = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 300
        while store.relationship_count("SUGGESTED_FRIEND") < published + 100 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert job.poll() is None, "the second run was still writing"
    os.kill(own_server.status().pid, 9)
    _, stderr = job.communicate(timeout=300)
    assert job.returncode == Exit.SERVER_LOST, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    last = stderr.strip().splitlines()[-1]
    assert "stopped answering in the middle of the command" in last and "rerun" in last, last
    own_server.start()
    with GraphStore.from_settings(local) as store:
        assert current_run(store, "friends")["id"] == before["id"]
        assert store.read(count, {"run": before["id"]})[0]["n"] == published
        _friends_in_process(store)
        after = current_run(store, "friends")
        assert after["id"] != before["id"]
        assert store.read(count, {"run": after["id"]})[0]["n"] == after["metrics"]["suggestions"] > 0
        statuses = store.read("MATCH (r:JobRun {job: 'friends'}) RETURN collect(r.status) AS s")[0]["s"]
        assert sorted(statuses) == ["abandoned", "completed", "superseded"]
