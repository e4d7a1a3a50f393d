"""``python -m jobs sentiment``: write the sentiment of posts and the per-user aggregates."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tqdm import tqdm

from graph.config import Settings
from graph.lock import JobLock
from graph.store import GraphStore
from jobs.common.arguments import Commands, add_command, add_device, add_wait


def register(commands: Commands) -> None:
    """Adds ``sentiment``."""
    parser = add_command(commands, "sentiment", _run, help="write the sentiment of posts and per-user aggregates (incremental)")
    add_device(parser)
    parser.add_argument("--batch-size", type=int, help="texts per forward pass of the embedding model")
    parser.add_argument("--page-size", type=int, default=2000, help="posts read and written per page")
    add_wait(parser)


def register_evaluation(targets: Commands) -> None:
    """Adds ``evaluate sentiment``, which reads files and needs no server."""
    parser = add_command(targets, "sentiment", _evaluate, uses_server=False, help="the sentiment classifier and its lexicon baseline on a test split")
    parser.add_argument("--dataset", choices=["tweeteval", "weibo2018"], required=True)
    parser.add_argument("--path", type=Path, required=True, help="folder of tweeteval_sentiment or weibo2018_sentiment")
    parser.add_argument("--limit", type=int, help="only the first N test rows")
    add_device(parser, default="auto")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return run_sentiment_command(settings, args.device, args.batch_size, args.page_size, args.wait)


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.sentiment.evaluate import run_sentiment_evaluation

    return run_sentiment_evaluation(args.dataset, args.path, args.limit, args.device)


def run_sentiment_command(
    settings: Settings, device: str | None, batch_size: int | None, page_size: int, wait: bool = False
) -> int:
    """Classifies the posts that changed since the last run and prints a summary.

    Args:
        wait: when another run of the job holds its lock, wait for it instead of exiting.

    Returns:
        0.
    """
    from jobs.sentiment.job import run_sentiment
    from text.sentiment import SentimentClassifier

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
