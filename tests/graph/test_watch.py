"""The watch service on the synthetic network after every job ran: new posts, new people, opt-outs,
bad changes, restarts and a batch run holding a job's lock."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from graph.changes import NEW_POST, NEW_USER, OPT_OUT, SEEN, unseen_changes
from graph.config import Settings, WatchSettings
from graph.lock import JobLock
from graph.store import GraphStore
from jobs.embed.job import ensure_vector_indexes
from jobs.watch.audience import place_posts
from jobs.watch.profiles import ProfileCache
from jobs.watch.service import WatchService
from jobs.watch.text import TextModels
from text.embeddings import Encoder
from text.emotion import EmotionClassifier
from text.sentiment import SentimentClassifier

HIKER_BIO = "Weekend hiker who photographs mountain trails and alpine lakes at sunrise."
HIKING_POST = "Sunrise hike: photographed the mountain trail and the alpine lake this weekend."
OFF_TOPIC_POST = "Quarterly tax spreadsheets are due on Friday; remember to file the invoices."

@pytest.fixture(scope="module")
def models() -> TextModels:
    return TextModels(Encoder("all-MiniLM-L6-v2", device="cpu"), SentimentClassifier(device="cpu"), EmotionClassifier(device="cpu"))


@pytest.fixture
def service(results: GraphStore, models: TextModels) -> Iterator[WatchService]:
    """A service on the module's graph; each test starts from a fresh process's state (mark in the graph)."""
    ensure_vector_indexes(results, models.encoder.dim)
    yield WatchService(results, models, WatchSettings(poll_s=0.05, batch=64, audience=50))


def _served(service: WatchService, seconds: float = 120) -> None:
    service.run(until_idle=True, max_seconds=seconds)


def _followed(store: GraphStore, n: int) -> list[str]:
    rows = store.read("MATCH (u:User)<-[:FOLLOWS]-() WITH u, count(*) AS d ORDER BY d DESC, u.id LIMIT $n RETURN u.id AS id", {"n": n})
    return [r["id"] for r in rows]


def _lists_well_formed(store: GraphStore) -> None:
    """Asserts that no current list names a target twice, is longer than its run's k, or has ranks outside 1..n."""
    for job, rel in (("recommend", "RECOMMENDED"), ("friends", "SUGGESTED_FRIEND")):
        k = json.loads(store.read("MATCH (r:JobRun {job: $job, current: true}) RETURN r.params AS p", {"job": job})[0]["p"])["k"]
        row = store.read(
            f"MATCH (run:JobRun {{job: $job, current: true}}) MATCH (u:User)-[r:{rel} {{run_id: run.id}}]->(v) "
            "WITH u, count(r) AS n, count(DISTINCT v) AS targets, collect(r.rank) AS ranks "
            "RETURN max(n) AS longest, sum(n - targets) AS doubled, "
            "sum(CASE WHEN all(x IN ranks WHERE 1 <= x <= n) THEN 0 ELSE 1 END) AS bad_ranks",
            {"job": job},
        )[0]
        assert row["doubled"] == 0, f"{rel}: a target listed twice for one person"
        assert row["bad_ranks"] == 0, f"{rel}: ranks outside 1..n"
        assert row["longest"] <= k, f"{rel}: a list longer than k"


def test_new_person_gets_friends_and_recommendations_then_a_new_post_reaches_them(results: GraphStore, service: WatchService) -> None:
    follows = _followed(results, 5)
    results.write(NEW_USER, {"id": "w-hiker", "bio": HIKER_BIO, "follows": follows})
    _served(service)
    user = results.read("MATCH (u:User {id: 'w-hiker'}) RETURN u.embedding IS NOT NULL AS vector, u.watch_seen IS NOT NULL AS seen")[0]
    assert user["vector"] and user["seen"]
    friends = results.read(
        "MATCH (run:JobRun {job: 'friends', current: true}) "
        "MATCH (:User {id: 'w-hiker'})-[s:SUGGESTED_FRIEND {run_id: run.id}]->(v:User) "
        "RETURN v.id AS id, s.rank AS rank, s.reason AS reason, s.source AS source, s.mutual_friends AS mutual ORDER BY rank"
    )
    assert friends, "a new person with five follows gets friend suggestions"
    assert not set(follows) & {f["id"] for f in friends}, "nobody they already follow"
    assert [f["rank"] for f in friends] == list(range(1, len(friends) + 1))
    assert all(f["source"] == "watch" and f["reason"] for f in friends)
    assert friends[0]["mutual"] > 0, "the best suggestion is followed by people they follow"
    recommended = results.read(
        "MATCH (run:JobRun {job: 'recommend', current: true}) "
        "MATCH (:User {id: 'w-hiker'})-[r:RECOMMENDED {run_id: run.id}]->(p:Post) "
        "RETURN p.id AS post, r.score AS score, r.rank AS rank, r.reason AS reason ORDER BY rank"
    )
    assert recommended and all(r["reason"] for r in recommended)
    scores = [r["score"] for r in recommended]
    assert scores == sorted(scores, reverse=True)

    results.write(NEW_POST, {"author": follows[0], "id": "w-post-hike", "text": HIKING_POST})
    results.write(NEW_POST, {"author": follows[0], "id": "w-post-tax", "text": OFF_TOPIC_POST})
    _served(service)
    post = results.read(
        "MATCH (p:Post {id: 'w-post-hike'}) RETURN p.embedding IS NOT NULL AS vector, p.sentiment AS sentiment, "
        "p.emotion AS emotion, [(u:User)-[r:RECOMMENDED]->(p) WHERE r.source = 'watch' | u.id] AS audience"
    )[0]
    assert post["vector"] and post["sentiment"] in {"positive", "neutral", "negative"} and post["emotion"]
    assert "w-hiker" in post["audience"], "the new hiking post enters the new hiker's list"
    assert follows[0] not in post["audience"], "never to its author"
    off_topic = results.read("MATCH (u:User {id: 'w-hiker'})-[r:RECOMMENDED]->(:Post {id: 'w-post-tax'}) RETURN count(r) AS n")[0]["n"]
    assert off_topic == 0, "a post below the lowest score of a full list stays out of it"
    # The catalogue query a reader uses shows it.
    from graph.catalogue import load_query

    shown = results.read(load_query("recommendations"), {"user": "w-hiker", "run_id": None})
    assert "w-post-hike" in {row["post"] for row in shown}
    _lists_well_formed(results)


def test_opting_out_leaves_every_list(results: GraphStore, service: WatchService) -> None:
    target = results.read(
        "MATCH (run:JobRun {job: 'friends', current: true}) MATCH ()-[s:SUGGESTED_FRIEND {run_id: run.id}]->(v:User) "
        "WHERE EXISTS { (v)-[:POSTED]->(:Post)<-[:RECOMMENDED]-() } "
        "RETURN v.id AS id, count(s) AS n ORDER BY n DESC, id LIMIT 1"
    )[0]["id"]
    results.write(OPT_OUT, {"user": target})
    _served(service)
    left = results.read(
        "MATCH (u:User {id: $id}) RETURN COUNT { ()-[:SUGGESTED_FRIEND]->(u) } AS friends, "
        "COUNT { ()-[:RECOMMENDED]->(:Post)<-[:POSTED]-(u) } AS posts",
        {"id": target},
    )[0]
    assert left == {"friends": 0, "posts": 0}


def test_bad_changes_are_skipped_and_the_rest_served(results: GraphStore, service: WatchService) -> None:
    author = _followed(results, 1)[0]
    results.write(
        "CREATE (:Post {id: 'w-blank', text: '   ', changed_at: datetime()}), (:User {id: 'w-bare', changed_at: datetime()})"
    )
    results.write(NEW_POST, {"author": author, "id": "w-good", "text": "Proud of the lake photos from our trail run today!"})
    _served(service)
    rows = {
        r["id"]: r
        for r in results.read(
            f"MATCH (n) WHERE n.id IN ['w-blank', 'w-bare', 'w-good'] RETURN n.id AS id, n.{SEEN} IS NOT NULL AS seen, "
            "n.embedding IS NOT NULL AS vector, n.sentiment AS sentiment"
        )
    }
    assert all(r["seen"] for r in rows.values()), "bad changes are passed over, not retried forever"
    assert not rows["w-blank"]["vector"] and not rows["w-bare"]["vector"]
    assert rows["w-good"]["vector"] and rows["w-good"]["sentiment"]
    assert not unseen_changes(results, "Post", service.since, 100)


def test_a_restart_misses_nothing_and_serving_twice_doubles_nothing(results: GraphStore, models: TextModels) -> None:
    author = _followed(results, 1)[0]
    for i in range(12):
        results.write(NEW_POST, {"author": author, "id": f"w-burst-{i}", "text": f"Trail photo {i}: fog over the alpine lake at dawn."})
    first = WatchService(results, models, WatchSettings(poll_s=0.05, batch=5))
    first.cycle()
    # A crash after a step and before the mark: the next process serves these posts again.
    crashed = [c for c in unseen_changes(results, "Post", first.since, 100) if c.key.startswith("w-burst")][:3]
    place_posts(results, [c.key for c in crashed], 50, ProfileCache())
    restarted = WatchService(results, models, WatchSettings(poll_s=0.05, batch=5))
    restarted.run(until_idle=True, max_seconds=120)
    unserved = results.read(f"MATCH (p:Post) WHERE p.id STARTS WITH 'w-burst' AND p.{SEEN} IS NULL RETURN count(p) AS n")[0]["n"]
    assert unserved == 0
    _lists_well_formed(results)


def test_a_batch_run_holding_the_lock_defers_the_service_which_catches_up(results: GraphStore, service: WatchService) -> None:
    author = _followed(results, 1)[0]
    results.write(NEW_USER, {"id": "w-late", "bio": HIKER_BIO, "follows": _followed(results, 3)})
    batch = JobLock(results, "recommend")
    with batch.hold():
        results.write(NEW_POST, {"author": author, "id": "w-during-run", "text": HIKING_POST})
        service.run(until_idle=False, max_seconds=3)
        during = results.read(
            f"MATCH (p:Post {{id: 'w-during-run'}}) RETURN p.embedding IS NOT NULL AS vector, p.{SEEN} IS NOT NULL AS seen, "
            "COUNT { ()-[:RECOMMENDED]->(p) } AS listed"
        )[0]
        assert during == {"vector": True, "seen": False, "listed": 0}, "other steps go on; the recommend step waits"
        assert service.summary.deferred > 0
    _served(service)
    after = results.read(f"MATCH (p:Post {{id: 'w-during-run'}}) RETURN p.{SEEN} IS NOT NULL AS seen, COUNT {{ ()-[:RECOMMENDED]->(p) }} AS listed")[0]
    assert after["seen"] and after["listed"] > 0


def test_a_run_waits_for_a_brief_holder_instead_of_failing(results: GraphStore) -> None:
    brief = JobLock(results, "friends", brief=True)
    taken = threading.Event()

    def hold_briefly() -> None:
        with brief.held() as held:
            assert held
            taken.set()
            time.sleep(1.0)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    assert taken.wait(10)
    start = time.monotonic()
    with JobLock(results, "friends").hold():
        waited = time.monotonic() - start
        # While the run holds it, a brief taker is refused.
        with JobLock(results, "friends", brief=True).held() as held:
            assert not held
    holder.join()
    assert 0.3 < waited < 10


class Relay:
    """A TCP relay to the test server that can be cut and restored, so Neo4j can go away without stopping it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.open = threading.Event()
        self.open.set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            if not self.open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.open.clear()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.sockets.clear()

    def restore(self) -> None:
        self.open.set()


def test_neo4j_going_away_is_logged_once_and_the_service_resumes(
    results: GraphStore, models: TextModels, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    connection = results.connection
    relay = Relay(int(connection.uri.rsplit(":", 1)[1]))
    relayed = dataclasses.replace(connection, uri=f"bolt://127.0.0.1:{relay.port}")
    author = _followed(results, 1)[0]
    with GraphStore(relayed, retry_s=0.5) as store:
        service = WatchService(store, models, WatchSettings(poll_s=0.05, max_backoff_s=0.5))
        done = threading.Event()
        worker = threading.Thread(target=lambda: (service.run(max_seconds=60), done.set()), daemon=True)
        caplog.set_level(logging.INFO, logger="jobs.watch.service")
        relay.cut()
        worker.start()
        time.sleep(3)
        results.write(NEW_POST, {"author": author, "id": "w-while-away", "text": HIKING_POST})
        relay.restore()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not results.read(
            f"MATCH (p:Post {{id: 'w-while-away'}}) WHERE p.{SEEN} IS NOT NULL RETURN p.id AS id"
        ):
            time.sleep(0.2)
        service.stop.set()
        assert done.wait(30)
    away = [r for r in caplog.records if "unreachable" in r.getMessage()]
    back = [r for r in caplog.records if "is back" in r.getMessage()]
    assert len(away) == 1 and len(back) == 1, "one line per change of state, not one per try"
    assert results.read("MATCH (p:Post {id: 'w-while-away'}) RETURN p.embedding IS NOT NULL AS v")[0]["v"]
