"""``python -m jobs sentiment``: write the sentiment and emotion of posts and the per-user aggregates."""

from __future__ import annotations

import time

from tqdm import tqdm

from graph.config import Settings
from graph.lock import JobLock
from graph.store import GraphStore
from jobs.sentiment.job import run_sentiment
from text.sentiment import SentimentClassifier


def run_sentiment_command(
    settings: Settings, device: str | None, batch_size: int | None, page_size: int, wait: bool = False
) -> int:
    """Classifies the posts that changed since the last run and prints a summary.

    Args:
        wait: when another run of the job holds its lock, wait for it instead of exiting.

    Returns:
        0.
    """
    classifier = SentimentClassifier(device=device or settings.device, batch_size=batch_size or settings.embed_batch_size)
    start = time.perf_counter()
    with GraphStore.from_settings(settings) as store, JobLock(store, "sentiment").hold(wait):
        with tqdm(total=store.node_count("Post"), unit=" posts", desc="sentiment", mininterval=0.5) as bar:
            summary = run_sentiment(store, classifier, page_size=page_size, on_progress=bar.update)
    seconds = time.perf_counter() - start
    print(
        f"classifier {summary.model}: posts {summary.posts_classified:,d} classified "
        f"({summary.positive:,d} positive, {summary.neutral:,d} neutral, {summary.negative:,d} negative; "
        f"{summary.vectors_reused:,d} stored vectors reused), {summary.posts_unchanged:,d} unchanged, "
        f"{summary.posts_without_text:,d} without text; {seconds:.1f} s"
    )
    return 0
