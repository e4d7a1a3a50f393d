"""``python -m jobs demo``: the whole pipeline on the default synthetic network, from nothing.

Starts the project's Neo4j (unless ``NEO4J_URI`` names another server), generates
the default synthetic social network, ingests it and prints what the graph holds
together with sample catalogue queries.
"""

from __future__ import annotations

import logging
import os
import time

from graph.config import Settings
from graph.ingest.loader import RejectLog
from graph.ingest.steps import canonical_dir_steps
from graph.server import LocalNeo4j
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from jobs.catalogue import load_query
from jobs.ingest_cmd import format_summary, load
from jobs.output import render

log = logging.getLogger(__name__)


def run_demo(settings: Settings, users: int, seed: int) -> int:
    """Runs the demo.

    Returns:
        0 when every step succeeded and nothing was rejected, else 1.
    """
    if not os.environ.get("NEO4J_URI"):
        status = LocalNeo4j(settings.server).start()
        print(f"Neo4j {settings.server.version} running at {status.bolt_uri}")
    data_dir = settings.server.cache_dir / "demo" / f"users{users}-seed{seed}"
    if not (data_dir / "users.csv").exists():
        log.info("generating %d synthetic users (seed %d) into %s", users, seed, data_dir)
        write_canonical(generate(users, seed=seed), data_dir)
    rejects = RejectLog(data_dir / "rejects.tsv")
    start = time.perf_counter()
    try:
        with GraphStore.from_settings(settings) as store:
            summary = load(store, canonical_dir_steps(data_dir), rejects)
            print(format_summary(summary, time.perf_counter() - start))
            for title, name, params in (
                ("What the graph holds", "graph_counts", {}),
                ("Most engaging posts", "popular_posts", {}),
                ("A user at a glance (queries/user_profile.cypher, user u000001)", "user_profile", {"user": "u000001"}),
                ("People who share u000001's interests", "shared_interests", {"user": "u000001"}),
            ):
                keys, rows = store.read_columns(load_query(name), params)
                print(f"\n== {title}\n{render(keys, rows)}")
    finally:
        rejects.close()
    print("\nExplore further: python -m jobs cypher @shared_interests --param user=u000042")
    return 0 if summary.rejected == 0 else 1
