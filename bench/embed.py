"""Embed job rate (read from Neo4j, encode, write vectors) against bare ``SentenceTransformer.encode`` of the same texts."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.harness import fresh, timed
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from jobs.embed.job import run_embed
from text.embeddings import Encoder
from text.profiles import tags_sentence


def texts_of(store: GraphStore) -> list[str]:
    """Returns every text the job encodes: post texts, bios and tag sentences, in the job's order."""
    posts = [r["t"] for r in store.read("MATCH (p:Post) WHERE trim(coalesce(p.text, '')) <> '' RETURN p.text AS t ORDER BY p.id")]
    users = store.read(
        "MATCH (u:User) RETURN coalesce(u.bio, '') AS bio, [(u)-[t:TAGGED]->(g:Tag) | [g.name, t.weight]] AS tags ORDER BY u.id"
    )
    return posts + [u["bio"] for u in users] + [tags_sentence([tuple(t) for t in u["tags"]]) for u in users]


def run(store: GraphStore, users: int = 2_000, seed: int = 0, device: str = "cpu") -> list[dict[str, Any]]:
    """Loads a synthetic network, then times bare encoding and the embed job on the same texts.

    Returns:
        One row per path: texts, seconds, texts/s, ratio to bare encode.
    """
    fresh(store)
    with tempfile.TemporaryDirectory() as tmp:
        write_canonical(generate(users, seed=seed), Path(tmp))
        run_steps(Loader(store, RejectLog(None)), canonical_dir_steps(Path(tmp)))
    encoder = Encoder(device=device)
    texts = texts_of(store)
    encoder.encode(texts[:256])
    _, bare = timed(lambda: encoder.model.encode(texts, batch_size=encoder.batch_size, normalize_embeddings=True, show_progress_bar=False))
    summary, job = timed(lambda: run_embed(store, encoder))
    embedded = summary.posts_embedded + 2 * summary.users_embedded
    return [
        dict(path="SentenceTransformer.encode (bare)", texts=len(texts), seconds=bare, rate=len(texts) / bare, ratio=1.0),
        dict(path="python -m jobs embed (Neo4j in and out)", texts=embedded, seconds=job, rate=embedded / job,
             ratio=(embedded / job) / (len(texts) / bare)),
    ]
