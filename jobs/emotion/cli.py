"""``python -m jobs emotion`` (write the emotion of posts) and ``python -m jobs evaluate emotion``."""

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
    """Adds ``emotion``."""
    parser = add_command(commands, "emotion", _run, help="write the emotion of English posts (anger, joy, optimism, sadness; incremental)")
    add_device(parser)
    parser.add_argument("--batch-size", type=int, help="texts per forward pass of the classifier")
    parser.add_argument("--page-size", type=int, default=2000, help="posts read and written per page")
    add_wait(parser)


def register_evaluation(targets: Commands) -> None:
    """Adds ``evaluate emotion``, which reads files and needs no server."""
    parser = add_command(
        targets, "emotion", _evaluate, uses_server=False,
        help="the emotion classifier and its baselines on TweetEval emotion (test when present, else validation)",
    )
    parser.add_argument("--path", type=Path, required=True, help="folder of tweeteval_emotion")
    parser.add_argument("--limit", type=int, help="only the first N rows")
    parser.add_argument(
        "--weibo", type=Path, help="folder of weibo2018_sentiment: also report what the model does on its Chinese test posts"
    )
    add_device(parser, default="auto")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return run_emotion_command(settings, args.device, args.batch_size, args.page_size, args.wait)


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.emotion.evaluate import run_emotion_evaluation

    return run_emotion_evaluation(args.path, args.limit, args.device, args.weibo)


def run_emotion_command(settings: Settings, device: str | None, batch_size: int | None, page_size: int, wait: bool = False) -> int:
    """Classifies the posts that changed since the last run and prints a summary.

    Args:
        wait: when another run of the job holds its lock, wait for it instead of exiting.

    Returns:
        0.
    """
    from jobs.emotion.job import run_emotion
    from text.emotion import EmotionClassifier

    classifier = EmotionClassifier(device=device or settings.device, batch_size=batch_size or settings.embed_batch_size)
    start = time.perf_counter()
    with GraphStore.from_settings(settings) as store, JobLock(store, "emotion").hold(wait):
        with tqdm(total=store.node_count("Post"), unit=" posts", desc="emotion", mininterval=0.5) as bar:
            summary = run_emotion(store, classifier, page_size=page_size, on_progress=bar.update)
    seconds = time.perf_counter() - start
    counts = ", ".join(f"{n:,d} {label}" for label, n in summary.labels.items())
    print(
        f"classifier {summary.model}: posts {summary.posts_classified:,d} classified ({counts}; "
        f"{summary.posts_not_english:,d} not English), {summary.posts_unchanged:,d} unchanged, "
        f"{summary.posts_without_text:,d} without text; {seconds:.1f} s"
    )
    return 0
