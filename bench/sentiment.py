"""Sentiment and emotion throughput (posts/s): the classifiers from raw text, sentiment from stored vectors, and both jobs through Neo4j, against VADER."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.harness import SHARED, fresh, timed
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from jobs.embed.job import run_embed
from jobs.emotion.job import run_emotion
from jobs.sentiment.job import run_sentiment
from text.emotion import EmotionClassifier
from text.sentiment import SentimentClassifier
from text.sentiment_baselines import vader_labels
from text.sentiment_data import tweeteval_split

ENGLISH_MODEL = "all-MiniLM-L6-v2"


def run(store: GraphStore, posts: int = 2_000, users: int = 1_000, seed: int = 0, device: str = "cpu") -> list[dict[str, Any]]:
    """Times the classifiers on the first ``posts`` TweetEval test tweets, VADER on the same, and the jobs on a synthetic network.

    Returns:
        One row per path: posts, seconds, posts/s, ratio to VADER.
    """
    texts = tweeteval_split(SHARED / "tweeteval_sentiment", "test").texts[:posts]
    classifier = SentimentClassifier(device=device)
    encoder = classifier.encoder(ENGLISH_MODEL)
    classifier.predict(texts[:256])
    emotions = EmotionClassifier(device=device)
    emotions.predict(texts[:256])
    _, vader = timed(lambda: vader_labels(texts))
    _, raw = timed(lambda: classifier.predict(texts))
    vectors, encode = timed(lambda: encoder.encode(texts))
    _, stored = timed(lambda: classifier.predict(texts, {ENGLISH_MODEL: list(vectors)}))
    _, emotion = timed(lambda: emotions.predict(texts))
    fresh(store)
    with tempfile.TemporaryDirectory() as tmp:
        write_canonical(generate(users, seed=seed), Path(tmp))
        run_steps(Loader(store, RejectLog(None)), canonical_dir_steps(Path(tmp)))
    run_embed(store, encoder)
    summary, job = timed(lambda: run_sentiment(store, classifier))
    emotion_summary, emotion_job = timed(lambda: run_emotion(store, emotions))
    n = len(texts)
    rows = [
        dict(path="vaderSentiment (baseline)", posts=n, seconds=vader),
        dict(path="sentiment classifier from raw text (MiniLM encode + n-grams)", posts=n, seconds=raw),
        dict(path="  of which MiniLM encode", posts=n, seconds=encode),
        dict(path="sentiment classifier from stored vectors", posts=n, seconds=stored),
        dict(path=f"python -m jobs sentiment, {users:,} users, stored vectors (Neo4j in and out)",
             posts=summary.posts_classified, seconds=job),
        dict(path="emotion classifier from raw text (adapted MiniLM forward)", posts=n, seconds=emotion),
        dict(path=f"python -m jobs emotion, {users:,} users (Neo4j in and out)", posts=emotion_summary.posts_classified, seconds=emotion_job),
    ]
    for row in rows:
        row["rate"] = row["posts"] / row["seconds"]
        row["vs_vader"] = row["rate"] / (n / vader)
    return rows
