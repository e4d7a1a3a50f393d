"""``python -m bench.freshness``: how soon the watch service serves what a platform writes, and what change stamps cost the loader.

``serve`` (the default) builds the demo graph on the benchmark server and runs the whole pipeline on
it, then starts ``python -m jobs watch`` as its own process, as it would run in production.  A load
generator then writes through the driver as a platform would, keeping the change-stamp contract
(:mod:`graph.changes`), one transaction per insert at a fixed rate:

- new posts on a planted topic, by a person interested in it;
- new people with a bio on a topic and five follows of people interested in it;
- new likes of recent posts;
- now and then an opt-out of someone others are suggested.

After a warm-up (``--warmup`` seconds of the same load, not counted, while the service fills its
caches), for every insert it polls (every :data:`POLL_S`) for the result to be readable by Cypher, and
times it from the insert's commit: a post's vector and sentiment (``post_vector_s``); a new
person's friend suggestions and recommendations (``user_suggestions_s``); the new post in the list
of at least one person whose planted topic it is on (``post_audience_s``, only for posts that reach
one; ``missed`` counts the rest); an opted-out person gone from every list (``forget_s``).  Then a
burst of posts is written at once and the time the service takes to serve all of them gives its
highest sustained rate.  The last line printed is one JSON object.

``foldin`` measures the fold-in against a full rerun on LastFM: a tenth of the people are taken out
before the pipeline runs and come back afterwards, as newcomers, with their tags, 80% of their
listens and 80% of their friendships; the service serves them, and then the friends and recommend
jobs run again.  Recall@20 on each newcomer's held-out friends and listens, of the fold-in and of
the rerun, side by side.

``stamps`` loads LastFM transactionally with and without change stamps, alternating, and prints
the ratio of the rates.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.harness import SHARED, bench_settings, bench_store, fresh, machine, timed
from graph.changes import NEW_LIKE, NEW_POST, NEW_USER, OPT_OUT
from graph.config import Settings
from graph.ingest.datasets import dataset_steps
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.store import GraphStore
from graph.synthetic import TOPICS, generate, write_canonical
from jobs.commands.ingest import load
from jobs.schedule.pipeline import run_pipeline

log = logging.getLogger(__name__)

POLL_S = 0.1
"""How often the generator looks for the results of its inserts."""
SHARES = {"post": 0.55, "user": 0.2, "like": 0.23, "opt_out": 0.02}
"""What each insert is, by share."""

POST_READY = "UNWIND $ids AS id MATCH (p:Post {id: id}) WHERE p.embedding IS NOT NULL AND p.sentiment IS NOT NULL RETURN id"
USER_READY = (
    "UNWIND $ids AS id MATCH (u:User {id: id}) MATCH (f:JobRun {job: 'friends', current: true}), (r:JobRun {job: 'recommend', current: true}) "
    "WHERE EXISTS { (u)-[:SUGGESTED_FRIEND {run_id: f.id}]->() } AND EXISTS { (u)-[:RECOMMENDED {run_id: r.id}]->() } "
    "RETURN id"
)
POST_REACHED = (
    "UNWIND $rows AS row MATCH (r:JobRun {job: 'recommend', current: true}) "
    "MATCH (u:User)-[:RECOMMENDED {run_id: r.id}]->(:Post {id: row.id}) WHERE u.id IN row.fans RETURN DISTINCT row.id AS id"
)
FORGOTTEN = (
    "UNWIND $ids AS id MATCH (u:User {id: id}) "
    "WHERE NOT EXISTS { ()-[:SUGGESTED_FRIEND]->(u) } AND NOT EXISTS { ()-[:RECOMMENDED]->(:Post)<-[:POSTED]-(u) } RETURN id"
)


def post_text(rng: random.Random, topic: int) -> str:
    """Returns a post on planted topic ``topic`` in its vocabulary."""
    a, b, c = rng.sample(TOPICS[topic].vocab, 3)
    return f"Spent the afternoon on {a} and {b}. Next up: {c}."


def bio_text(rng: random.Random, topic: int) -> str:
    """Returns a bio of someone into planted topic ``topic``."""
    a, b = rng.sample(TOPICS[topic].vocab, 2)
    return f"{TOPICS[topic].label} enthusiast: {a}, {b} and more."


@dataclass
class Pending:
    """Inserts waiting for a result, by what is awaited: id -> (commit time, extra)."""

    waiting: dict[str, dict[str, tuple[float, Any]]] = field(default_factory=lambda: {k: {} for k in ("vector", "user", "audience", "forget")})
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in ("vector", "user", "audience", "forget")})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, what: str, key: str, committed: float, extra: Any = None) -> None:
        with self.lock:
            self.waiting[what][key] = (committed, extra)

    def count(self) -> int:
        with self.lock:
            return sum(len(w) for w in self.waiting.values())


def poll(store: GraphStore, pending: Pending, stop: threading.Event) -> None:
    """Records the latency of every awaited result as soon as Cypher can read it, until ``stop``."""
    queries: dict[str, Callable[[dict[str, tuple[float, Any]]], list[dict[str, Any]]]] = {
        "vector": lambda w: store.read(POST_READY, {"ids": list(w)}),
        "user": lambda w: store.read(USER_READY, {"ids": list(w)}),
        "audience": lambda w: store.read(POST_REACHED, {"rows": [{"id": k, "fans": v[1]} for k, v in w.items()]}),
        "forget": lambda w: store.read(FORGOTTEN, {"ids": list(w)}),
    }
    while not stop.wait(POLL_S):
        for what, query in queries.items():
            with pending.lock:
                waiting = dict(pending.waiting[what])
            if not waiting:
                continue
            found = query(waiting)
            now = time.time()
            with pending.lock:
                for row in found:
                    committed, _ = pending.waiting[what].pop(row["id"])
                    pending.latencies[what].append(now - committed)


@dataclass
class World:
    """What the generator draws from: people by planted topic, ids to hand out, recent posts, people others are suggested."""

    fans: dict[int, list[str]]
    suggested: list[str]
    recent: list[str] = field(default_factory=list)
    serial: int = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial:07d}"


def read_world(store: GraphStore, truth: pd.DataFrame) -> World:
    """Returns the planted fans of each topic and the people most often suggested as friends."""
    names = [t.name for t in TOPICS]
    fans: dict[int, list[str]] = {}
    for t, name in enumerate(names):
        fans[t] = truth.loc[(truth["topic"] == name) | (truth["secondary_topic"] == name), "user"].astype(str).tolist()
    rows = store.read(
        "MATCH (run:JobRun {job: 'friends', current: true}) MATCH ()-[s:SUGGESTED_FRIEND {run_id: run.id}]->(v:User) "
        "RETURN v.id AS id, count(s) AS n ORDER BY n DESC LIMIT 200"
    )
    return World({t: f for t, f in fans.items() if f}, [r["id"] for r in rows])


def insert(store: GraphStore, world: World, pending: Pending, rng: random.Random, kind: str) -> None:
    """Writes one insert of ``kind`` in its own transaction and registers what it awaits."""
    topic = rng.choice(list(world.fans))
    if kind == "post":
        post = world.next_id("fp")
        store.write(NEW_POST, {"author": rng.choice(world.fans[topic]), "id": post, "text": post_text(rng, topic)})
        committed = time.time()
        pending.add("vector", post, committed)
        pending.add("audience", post, committed, world.fans[topic])
        world.recent.append(post)
    elif kind == "user":
        user = world.next_id("fu")
        store.write(NEW_USER, {"id": user, "bio": bio_text(rng, topic), "follows": rng.sample(world.fans[topic], 5)})
        pending.add("user", user, time.time())
    elif kind == "like" and world.recent:
        store.write(NEW_LIKE, {"user": rng.choice(world.fans[topic]), "post": rng.choice(world.recent[-200:])})
    elif kind == "opt_out" and world.suggested:
        user = world.suggested.pop(0)
        store.write(OPT_OUT, {"user": user})
        store.write("MATCH (u:User {id: $user}) SET u.bench_opt_out = true", {"user": user})
        pending.add("forget", user, time.time())


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """Returns p50, p95 and p99 in seconds (None when there is no value) and the count."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "p99": round(float(p99), 2), "n": len(values)}


def start_service(settings: Settings) -> subprocess.Popen:
    """Starts ``python -m jobs watch`` on the benchmark server and returns once it watches."""
    env = {
        **os.environ,
        "SOCIOGRAPH_NEO4J_DIR": str(settings.server.state_dir),
        "SOCIOGRAPH_BOLT_PORT": str(settings.server.bolt_port),
        "SOCIOGRAPH_DEVICE": "cpu",
    }
    env.pop("NEO4J_URI", None)
    service = subprocess.Popen(
        [sys.executable, "-m", "jobs", "watch"], env=env, stdout=subprocess.PIPE, text=True, bufsize=1,
    )
    assert service.stdout is not None
    for line in service.stdout:
        if line.startswith("watching"):
            threading.Thread(target=lambda: [None for _ in service.stdout], daemon=True).start()
            return service
    raise RuntimeError(f"the watch service exited with status {service.wait()} before it started watching")


def demo_graph(settings: Settings, store: GraphStore, users: int, seed: int) -> pd.DataFrame:
    """Builds the demo graph and runs the pipeline on it, unless the server already holds it.

    Returns:
        The planted ground truth (``user, community, topic, secondary_topic``).
    """
    data_dir = settings.server.cache_dir / "demo" / f"users{users}-seed{seed}"
    if not (data_dir / "users.csv").exists():
        write_canonical(generate(users, seed=seed), data_dir)
    built = store.read("MATCH (r:JobRun {job: 'recommend', current: true}) RETURN count(r) AS n")[0]["n"]
    if not built or store.node_count("User") < users:
        fresh(store)
        load(store, canonical_dir_steps(data_dir), RejectLog(None))
        if run_pipeline(settings, seed):
            raise RuntimeError("the pipeline failed on the demo graph")
    # Earlier benchmark inserts go, so each run starts from the pipeline's graph and no backlog.
    store.run_autocommit("MATCH (n) WHERE n.id STARTS WITH 'fp' OR n.id STARTS WITH 'fu' CALL (n) { DETACH DELETE n } IN TRANSACTIONS")
    store.write("MATCH (u:User {opt_out: true}) WHERE u.bench_opt_out SET u.opt_out = false, u.bench_opt_out = null")
    store.write("MERGE (m:WatchMark {name: 'watch'}) SET m.since = datetime()")
    store.write("MATCH (n) WHERE (n:Post OR n:User) AND n.changed_at IS NOT NULL SET n.watch_seen = n.changed_at")
    return pd.read_csv(data_dir / "ground_truth.csv", dtype={"user": str})


def serve(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the load and the burst against the service; returns the figures."""
    settings = bench_settings()
    rng = random.Random(args.seed)
    with bench_store() as (_, store):
        truth = demo_graph(settings, store, args.users, args.seed)
        world = read_world(store, truth)
        service = start_service(settings)
        pending, stop = Pending(), threading.Event()
        poller = threading.Thread(target=poll, args=(store, pending, stop), daemon=True)
        poller.start()
        lags: list[int] = []
        try:
            kinds, weights = list(SHARES), list(SHARES.values())
            start = time.time()
            sent = 0
            measuring = args.warmup <= 0
            while time.time() - start < args.warmup + args.seconds:
                if not measuring and time.time() - start >= args.warmup:
                    # The service's first cycles fill its profile cache; what follows is the steady state.
                    with pending.lock:
                        for latencies in pending.latencies.values():
                            latencies.clear()
                    measuring, lags, measured_from, counted = True, [], time.time(), sent
                due = start + sent / args.rate
                if due > time.time():
                    time.sleep(due - time.time())
                insert(store, world, pending, rng, rng.choices(kinds, weights)[0])
                sent += 1
                if sent % args.rate == 0:
                    lags.append(pending.count())
            if args.warmup <= 0:
                measured_from, counted = start, 0
            rate = (sent - counted) / (time.time() - measured_from)
            settle = time.time()
            while pending.count() and time.time() - settle < args.settle:
                time.sleep(0.5)
            missed = len(pending.waiting["audience"])
            still = {what: len(w) for what, w in pending.waiting.items()}
            with pending.lock:
                for waiting in pending.waiting.values():
                    waiting.clear()
            burst_ids = [world.next_id("fp") for _ in range(args.burst)]
            store.write(
                "UNWIND $rows AS row MATCH (u:User {id: row.author}) "
                "CREATE (u)-[:POSTED]->(p:Post {id: row.id, text: row.text, created_at: datetime(), changed_at: datetime()}) "
                "SET u.changed_at = datetime()",
                {"rows": [
                    {"id": i, "author": rng.choice(world.fans[t]), "text": post_text(rng, t)}
                    for i, t in ((i, rng.choice(list(world.fans))) for i in burst_ids)
                ]},
            )
            burst_start = time.time()
            for i in burst_ids:
                pending.add("vector", i, burst_start)
            while pending.count() and time.time() - burst_start < args.settle * 10:
                time.sleep(0.5)
            burst_s = time.time() - burst_start
        finally:
            stop.set()
            service.send_signal(signal.SIGTERM)
            service.wait(60)
    burst_latencies = pending.latencies["vector"][-args.burst:]
    return {
        "post_vector_s": percentiles(pending.latencies["vector"][: len(pending.latencies["vector"]) - len(burst_latencies)]),
        "user_suggestions_s": percentiles(pending.latencies["user"]),
        "post_audience_s": percentiles(pending.latencies["audience"]),
        "forget_s": percentiles(pending.latencies["forget"]),
        "rate": round(rate, 2),
        "max_sustained_rate": round(len(burst_latencies) / burst_s, 1),
        "burst": {"posts": args.burst, "served": len(burst_latencies), "seconds": round(burst_s, 1)},
        "missed": missed,
        "unserved_after_settling": still,
        "pending_each_second": {"max": max(lags, default=0), "last": lags[-1] if lags else 0},
    }


def stamps(args: argparse.Namespace) -> dict[str, Any]:
    """Loads LastFM transactionally once to warm the server, then ``args.repeats`` times with stamps and
    without, alternating; returns the rates and the ratio of their medians."""
    steps = dataset_steps("lastfm", SHARED / "lastfm_hetrec2011")
    rates: dict[str, list[float]] = {"stamped": [], "unstamped": []}
    with bench_store() as (_, store):
        # The first load after a start runs while the JVM compiles the hot paths: not counted.
        fresh(store)
        run_steps(Loader(store, RejectLog(None)), steps)
        for _ in range(args.repeats):
            for name, stamp in (("unstamped", False), ("stamped", True)):
                fresh(store)
                summary, seconds = timed(lambda: run_steps(Loader(store, RejectLog(None), stamp_changes=stamp), steps))
                rates[name].append(summary.loaded / seconds)
                log.info("%s: %.0f rows/s", name, rates[name][-1])
    ratio = float(np.median(rates["stamped"]) / np.median(rates["unstamped"]))
    return {"rows_per_s": {k: [round(r) for r in v] for k, v in rates.items()}, "stamped_vs_unstamped": round(ratio, 3)}


NEWCOMERS = (
    "UNWIND $ids AS id MATCH (u:User {id: id}) RETURN id, properties(u) AS props, "
    "[(u)-[t:TAGGED]->(g:Tag) | {tag: g.name, weight: t.weight}] AS tags, "
    "[(u)-[r:INTERACTED]->(p:Post) | {post: p.id, props: properties(r)}] AS listens, "
    "[(u)-[:FOLLOWS]-(v:User) | v.id] AS friends"
)
REJOIN = (
    "UNWIND $rows AS row CREATE (u:User) SET u = row.props, u.changed_at = datetime()",
    "UNWIND $rows AS row MATCH (u:User {id: row.id}) UNWIND row.tags AS t MATCH (g:Tag {name: t.tag}) "
    "CREATE (u)-[:TAGGED {weight: t.weight}]->(g)",
    "UNWIND $rows AS row MATCH (u:User {id: row.id}) UNWIND row.listens AS l MATCH (p:Post {id: l.post}) "
    "CREATE (u)-[r:INTERACTED]->(p) SET r = l.props",
    "UNWIND $rows AS row MATCH (u:User {id: row.id}) UNWIND row.friends AS f MATCH (v:User {id: f}) "
    "CREATE (u)-[:FOLLOWS]->(v), (v)-[:FOLLOWS]->(u) SET v.changed_at = datetime()",
)
"""The newcomers' return, keeping the change-stamp contract."""
LISTED = (
    "MATCH (run:JobRun {job: $job, current: true}) UNWIND $ids AS id "
    "MATCH (:User {id: id})-[r:RECOMMENDED|SUGGESTED_FRIEND {run_id: run.id}]->(v) WHERE r.rank <= $k "
    "RETURN id, collect(v.id) AS listed"
)


def recall_at(store: GraphStore, job: str, held_out: dict[str, set[str]], k: int = 20) -> float:
    """Returns the mean over people with a held-out item of the share of it in their top ``k`` of ``job``'s current run."""
    people = [u for u, items in held_out.items() if items]
    found = {r["id"]: set(r["listed"]) for r in store.read(LISTED, {"job": job, "ids": people, "k": k})}
    return float(np.mean([len(found.get(u, set()) & held_out[u]) / len(held_out[u]) for u in people]))


def foldin(args: argparse.Namespace) -> dict[str, Any]:
    """Takes a tenth of LastFM's people out, runs the pipeline, brings them back as newcomers, serves them
    with the service, then reruns the friends and recommend jobs; returns both recalls."""
    from jobs.embed.job import ensure_vector_indexes
    from jobs.watch.service import WatchService
    from jobs.watch.text import MemoEncoder, TextModels
    from text.embeddings import Encoder
    from text.emotion import EmotionClassifier
    from text.sentiment import SentimentClassifier

    settings = bench_settings()
    rng = np.random.default_rng(args.seed)
    with bench_store() as (_, store):
        fresh(store)
        run_steps(Loader(store, RejectLog(None), stamp_changes=False), dataset_steps("lastfm", SHARED / "lastfm_hetrec2011"))
        people = [r["id"] for r in store.read("MATCH (u:User) RETURN u.id AS id ORDER BY id")]
        chosen = set(rng.choice(people, size=len(people) // 10, replace=False).tolist())
        rows, friends_out, listens_out = [], {}, {}
        for row in store.read(NEWCOMERS, {"ids": sorted(chosen)}):
            friends = sorted({f for f in row["friends"] if f not in chosen})
            listens = row["listens"]
            keep_f, keep_l = rng.random(len(friends)) >= 0.2, rng.random(len(listens)) >= 0.2
            friends_out[row["id"]] = {f for f, keep in zip(friends, keep_f) if not keep}
            listens_out[row["id"]] = {l["post"] for l, keep in zip(listens, keep_l) if not keep}
            rows.append({**row, "friends": [f for f, keep in zip(friends, keep_f) if keep],
                         "listens": [l for l, keep in zip(listens, keep_l) if keep]})
        store.run_autocommit("MATCH (u:User) WHERE u.id IN $ids CALL (u) { DETACH DELETE u } IN TRANSACTIONS", {"ids": sorted(chosen)})
        if run_pipeline(settings, args.seed, skip=("sentiment", "emotion", "communities")):
            raise RuntimeError("the pipeline failed on LastFM")
        store.write("MERGE (m:WatchMark {name: 'watch'}) SET m.since = datetime()")
        for statement in REJOIN:
            store.write(statement, {"rows": rows})
        models = TextModels(MemoEncoder(Encoder(settings.embedding_model, "cpu")), SentimentClassifier(device="cpu"), EmotionClassifier(device="cpu"))
        ensure_vector_indexes(store, models.encoder.dim)
        summary, served_s = timed(lambda: WatchService(store, models, settings.watch).run(until_idle=True, max_seconds=1800))
        folded = {"friends": recall_at(store, "friends", friends_out), "recommend": recall_at(store, "recommend", listens_out)}
        if run_pipeline(settings, args.seed, skip=("sentiment", "emotion", "communities")):
            raise RuntimeError("the rerun failed on LastFM")
        rerun = {"friends": recall_at(store, "friends", friends_out), "recommend": recall_at(store, "recommend", listens_out)}
    return {
        "newcomers": len(rows),
        "served": summary.users,
        "fold_in_seconds": round(served_s, 1),
        **{
            job: {"fold_in_recall@20": round(folded[job], 4), "rerun_recall@20": round(rerun[job], 4),
                  "ratio": round(folded[job] / rerun[job], 3) if rerun[job] else None}
            for job in folded
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Runs ``serve``, ``foldin`` or ``stamps`` and prints its figures, the last line one JSON object.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.freshness", description=__doc__.split("\n\n")[0])
    parser.add_argument("which", nargs="?", choices=["serve", "foldin", "stamps"], default="serve")
    parser.add_argument("--users", type=int, default=2000, help="demo graph size (default 2,000, the demo's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=int, default=20, help="inserts per second (default 20)")
    parser.add_argument("--seconds", type=float, default=300, help="how long to insert at that rate, measured (default 300)")
    parser.add_argument("--warmup", type=float, default=60, help="seconds of inserts before that, not counted (default 60)")
    parser.add_argument("--settle", type=float, default=30, help="seconds to wait for the last results")
    parser.add_argument("--burst", type=int, default=2000, help="posts written at once after the load (default 2,000)")
    parser.add_argument("--repeats", type=int, default=3, help="stamps: loads of each kind (default 3)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    print(f"machine: {machine()}\n")
    figures = {"serve": serve, "foldin": foldin, "stamps": stamps}[args.which](args)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
