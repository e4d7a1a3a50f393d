"""``python -m jobs demo``: the whole pipeline on the default synthetic network, from nothing.

Starts the project's Neo4j (unless ``NEO4J_URI`` names another server), generates
the default synthetic social network, ingests it, embeds posts and profiles with
the packaged text model, and prints what the graph holds together with sample
catalogue queries.
"""

from __future__ import annotations

import logging
import os
import time

from tqdm import tqdm

from graph.catalogue import load_query
from graph.config import Settings
from graph.ingest.loader import RejectLog
from graph.ingest.steps import canonical_dir_steps
from graph.server import LocalNeo4j
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from jobs.embed import run_embed
from jobs.ingest_cmd import format_summary, load
from jobs.output import render
from text.embeddings import Encoder

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
            encoder = Encoder(settings.embedding_model, settings.device, settings.embed_batch_size)
            with tqdm(total=store.node_count("Post") + store.node_count("User"), unit=" nodes", desc="embed") as bar:
                embedded = run_embed(store, encoder, on_progress=bar.update)
            print(
                f"embeddings ({embedded.model}): {embedded.posts_embedded:,d} posts and "
                f"{embedded.users_embedded:,d} users embedded, "
                f"{embedded.posts_unchanged + embedded.users_unchanged:,d} unchanged"
            )
            hiker = store.read(
                "MATCH (p:Post)-[:TAGGED]->(:Tag {name: 'hiking'}) WHERE p.embedding IS NOT NULL RETURN p.id AS id ORDER BY id LIMIT 1"
            )
            for title, name, params in (
                ("What the graph holds", "graph_counts", {}),
                ("Most engaging posts", "popular_posts", {}),
                ("A user at a glance (queries/user_profile.cypher, user u000001)", "user_profile", {"user": "u000001"}),
                ("People who share u000001's interests", "shared_interests", {"user": "u000001"}),
                ("Users whose profiles read most like u000001's", "similar_users", {"user": "u000001", "k": 5}),
                *(
                    [(f"Posts closest in meaning to {hiker[0]['id']} (a hiking post)", "similar_posts", {"post": hiker[0]["id"], "k": 5})]
                    if hiker
                    else []
                ),
            ):
                keys, rows = store.read_columns(load_query(name), params)
                print(f"\n== {title}\n{render(keys, rows)}")
    finally:
        rejects.close()
    print("\nExplore further: python -m jobs cypher @shared_interests --param user=u000042")
    return 0 if summary.rejected == 0 else 1
