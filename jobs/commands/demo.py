"""``python -m jobs demo``: the whole pipeline on the default synthetic network, from nothing.

Starts the project's Neo4j (``NEO4J_URI`` names the user's own server: the demo refuses to write
there unless ``--into-external`` says so), generates
the default synthetic social network, ingests it, runs the pipeline (embed, sentiment,
communities, friends, recommend), and prints the job runs and sample catalogue queries:
the communities, friend suggestions for a hiker who posts photos, recommendations for a
reader of AI and blockchain, and reply drafts for the most upset post about films.  Last, it
writes a new person and a new post as a platform would and lets the watch service
(:mod:`jobs.watch`) serve them, timing how long that takes.
"""

from __future__ import annotations

import argparse
import logging
import time

import pandas as pd

from graph.catalogue import bind_parameters, load_query
from graph.config import Settings, external_uri
from graph.ingest.loader import RejectLog
from graph.ingest.steps import canonical_dir_steps
from graph.server import LocalNeo4j
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from jobs.common.arguments import Commands, add_command
from jobs.common.exit_codes import Exit
from jobs.commands.ingest import format_summary, load
from jobs.common.output import render
from jobs.schedule.pipeline import run_pipeline
from jobs.reply.job import suggest_replies
from jobs.reply.cli import format_suggestions

log = logging.getLogger(__name__)


def register(commands: Commands) -> None:
    """Adds ``demo``, which starts the project's own Neo4j (or, with ``--into-external``, uses ``NEO4J_URI``'s)."""
    parser = add_command(
        commands, "demo", _run, uses_server=_writes_external,
        help="start Neo4j, build the default synthetic graph, run every job on it, print sample results",
    )
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--into-external", action="store_true",
        help="with NEO4J_URI set, write the demo into that server anyway: its synthetic users u000001… "
        "are merged onto users with the same ids there, overwriting their names and bios",
    )


def _writes_external(args: argparse.Namespace) -> bool:
    # Without --into-external the demo refuses NEO4J_URI's server before talking to it.
    return args.into_external and external_uri() is not None


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return run_demo(settings, args.users, args.seed, args.into_external)


def run_demo(settings: Settings, users: int, seed: int, into_external: bool = False) -> int:
    """Runs the demo.

    Args:
        into_external: write into the server that ``NEO4J_URI`` names; without it the demo
            refuses that server, since it merges its users ``u000001``… onto users there.

    Returns:
        0 when every step succeeded and nothing was rejected, 2 (USAGE, nothing written) when
        ``NEO4J_URI`` is set without ``into_external``, else 1.
    """
    uri = external_uri()
    if uri and not into_external:
        log.error(
            "NEO4J_URI=%s is your own server: the demo would merge its synthetic users u000001… onto users with the same "
            "ids there and overwrite their names and bios. Unset NEO4J_URI to run it on the project's own Neo4j, "
            "or pass --into-external to write into that server anyway", uri,
        )
        return Exit.USAGE
    if not uri:
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
    finally:
        rejects.close()
    status = run_pipeline(settings, seed)
    if status:
        return status
    truth = pd.read_csv(data_dir / "ground_truth.csv", dtype={"user": str})
    hiker = _first(truth, "hiking", "photography")
    reader = _first(truth, "ai", "blockchain")
    with GraphStore.from_settings(settings) as store:
        for title, name, params in (
            ("Job runs", "job_runs", {}),
            ("Communities found", "communities", {}),
            (f"Friend suggestions for {hiker}, who hikes and posts photos", "friend_suggestions", {"user": hiker}),
            (f"Recommendations for {reader}, who follows AI and blockchain", "recommendations", {"user": reader}),
        ):
            text = load_query(name)
            keys, rows = store.read_columns(text, bind_parameters(name, text, params))
            print(f"\n== {title} (queries/{name}.cypher)\n{render(keys, rows[:10])}")
        _print_reply_drafts(store)
        _print_watch(settings, store, truth, hiker)
    print(
        f"\nDone in {time.perf_counter() - start:.0f} s. Explore further: python -m jobs query friend_suggestions user={hiker}"
        " · python -m jobs status"
    )
    return 0 if summary.rejected == 0 else 1


def _first(truth: pd.DataFrame, topic: str, secondary: str) -> str:
    match = truth[(truth["topic"] == topic) & (truth["secondary_topic"] == secondary)]
    return str((match if len(match) else truth)["user"].iloc[0])


UPSET_FILM_POST = (
    "MATCH (p:Post) WHERE p.sentiment = 'negative' AND p.embedding IS NOT NULL AND NOT (p)-[:REPLY_TO]->() "
    "AND any(word IN ['film', 'movie', 'cinema', 'screening'] WHERE toLower(p.text) CONTAINS word) "
    "RETURN p.id AS id, p.text AS text, p.emotion AS emotion, p.emotion_score AS emotion_score "
    "ORDER BY p.sentiment_score, p.id LIMIT 1"
)


def _print_reply_drafts(store: GraphStore) -> None:
    rows = store.read(UPSET_FILM_POST)
    if not rows:
        print("\n== Reply drafts: no negative post about films in this graph")
        return
    post = rows[0]
    drafts = suggest_replies(store, [post["id"]]).get(post["id"], [])
    felt = f"; emotion {post['emotion']} {post['emotion_score']:.2f}" if post["emotion"] is not None else ""
    print(f"\n== Reply drafts for {post['id']}, upset about a film{felt}: \"{post['text']}\" (python -m jobs reply --post ID)")
    print(format_suggestions(drafts) if drafts else "(no admissible reply found)")


NEWCOMER = "demo-newcomer"
NEWCOMER_BIO = "Weekend hiker who photographs mountain trails and alpine lakes at sunrise."
NEW_POST_ID = "demo-new-post"
NEW_POST_TEXT = "Sunrise hike today: photographed the ridge trail above the alpine lake."


def _print_watch(settings: Settings, store: GraphStore, truth: pd.DataFrame, hiker: str) -> None:
    """Writes a new person who follows five hikers and a new hiking post (the change-stamp contract),
    serves them with the watch service, and prints what they got and how soon."""
    from graph.changes import NEW_POST, NEW_USER
    from jobs.embed.job import ensure_vector_indexes
    from jobs.watch.service import WatchService
    from jobs.watch.text import MemoEncoder, TextModels, graph_model
    from text.embeddings import Encoder
    from text.emotion import EmotionClassifier
    from text.sentiment import SentimentClassifier

    models = TextModels(
        MemoEncoder(Encoder(graph_model(store, settings.embedding_model), settings.device, settings.embed_batch_size)),
        SentimentClassifier(device=settings.device), EmotionClassifier(device=settings.device),
    )
    ensure_vector_indexes(store, models.encoder.dim)
    hikers = truth.loc[truth["topic"] == "hiking", "user"].astype(str).tolist()[:5]
    start = time.perf_counter()
    store.write(NEW_USER, {"id": NEWCOMER, "bio": NEWCOMER_BIO, "follows": hikers})
    store.write(NEW_POST, {"author": hiker, "id": NEW_POST_ID, "text": NEW_POST_TEXT})
    WatchService(store, models, settings.watch).run(until_idle=True, max_seconds=120)
    seconds = time.perf_counter() - start
    post = store.read(
        "MATCH (p:Post {id: $id}) RETURN p.sentiment AS sentiment, p.emotion AS emotion, "
        "[(u:User)-[r:RECOMMENDED {source: 'watch'}]->(p) | u.id] AS audience",
        {"id": NEW_POST_ID},
    )[0]
    print(
        f"\n== The watch service (python -m jobs watch): a new person {NEWCOMER} who follows five hikers, "
        f"and a new post by {hiker}: \"{NEW_POST_TEXT}\", both served in {seconds:.1f} s"
    )
    audience = ", ".join(post["audience"][:8]) + (" …" if len(post["audience"]) > 8 else "")
    people = f"{len(post['audience'])} {'person' if len(post['audience']) == 1 else 'people'}"
    print(f"The post: sentiment {post['sentiment']}, emotion {post['emotion']}; now recommended to {people}: {audience}")
    for title, name in (("Friend suggestions", "friend_suggestions"), ("Recommendations", "recommendations")):
        text = load_query(name)
        keys, rows = store.read_columns(text, bind_parameters(name, text, {"user": NEWCOMER}))
        print(f"\n{title} for {NEWCOMER} (queries/{name}.cypher)\n{render(keys, rows[:5])}")
