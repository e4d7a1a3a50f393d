"""Embed job rate (read from Neo4j, encode, write vectors) against bare ``SentenceTransformer.encode`` of the same texts,
and the CPU backends (fp32 PyTorch, int8 ONNX Runtime) on the same real tweets: texts/s, ratio, cosine to fp32."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import SHARED, fresh, timed
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
    encoder = Encoder(device=device, backend="fp32")
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


def tweets(limit: int) -> list[str]:
    """Returns the first ``limit`` TweetEval sentiment test tweets (real text, short like posts)."""
    path = SHARED / "tweeteval_sentiment" / "test_text.txt"
    return path.read_text(encoding="utf-8").splitlines()[:limit]


def backends(texts: list[str], batch_size: int = 64) -> list[dict[str, Any]]:
    """Times fp32 and int8 encoding of the same texts on the CPU, each warmed up and batched alike (length-sorted).

    Returns:
        One row per backend: texts, seconds, texts/s, ratio to fp32, mean and min cosine to the fp32 vectors.
    """
    rows, reference = [], None
    for backend in ("fp32", "int8"):
        encoder = Encoder(device="cpu", batch_size=batch_size, backend=backend)
        encoder.encode(texts[:256])
        vectors, seconds = timed(lambda: encoder.encode(texts))
        reference = vectors if reference is None else reference
        cosines = np.sum(vectors * reference, axis=1)
        rate = len(texts) / seconds
        rows.append(dict(backend=backend, texts=len(texts), seconds=seconds, rate=rate, ratio=rate / rows[0]["rate"] if rows else 1.0,
                         mean_cosine=f"{cosines.mean():.4f}", min_cosine=f"{cosines.min():.4f}"))
    return rows
