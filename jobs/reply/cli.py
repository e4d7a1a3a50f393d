"""``python -m jobs reply`` (print reply drafts for one post, or write them for many into the graph) and ``evaluate reply``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from graph.config import Settings
from graph.lock import JobLock
from graph.store import GraphStore
from jobs.common.arguments import Commands, add_command, add_wait
from jobs.reply.job import JOB, METHODS, RANKED, Encode, ReplySettings, embedding_model, suggest_replies, write_suggestions
from text.replies.retrieval import Suggestion


def register(commands: Commands) -> None:
    """Adds ``reply``."""
    parser = add_command(commands, "reply", _run, help="suggest replies: print them for one post, or write them for many into the graph")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--post", help="print the suggestions for this Post.id")
    which.add_argument("--all", action="store_true", help="write suggestions for every embedded post")
    which.add_argument("--limit", type=int, help="write suggestions for the first N embedded posts (by id)")
    parser.add_argument("--k", type=int, default=3, help="suggestions per post (default 3)")
    parser.add_argument(
        "--method", choices=METHODS, default=RANKED,
        help="ranked: written and retrieved drafts ranked together (default); composed: written drafts only; "
        "retrieval: existing replies ranked by similarity alone",
    )
    add_wait(parser)


def register_evaluation(targets: Commands) -> None:
    """Adds ``evaluate reply``, which runs in a throwaway Neo4j of its own."""
    parser = add_command(targets, "reply", _evaluate, uses_server=False, help="reply drafts on RumourEval 2017 with the real replies hidden, and on the project's reply set")
    parser.add_argument("--path", type=Path, required=True, help="folder of rumoureval2017_threads")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random-reply baseline")
    parser.add_argument("--set", type=Path, default=None, help="the reply set (default: the shipped jobs/reply/data/posts.jsonl)")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return run_reply_command(settings, args.post, args.limit, args.k, args.wait, args.method)


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.reply.evaluate_cli import run_reply_evaluation
    from jobs.reply.reply_set import REPLY_SET

    return run_reply_evaluation(settings, args.path, args.seed, args.set or REPLY_SET)


def _lazy_encoder(settings: Settings, model: str) -> Encode:
    encoder = None

    def encode(texts: list[str]) -> np.ndarray:
        # The model is loaded only for a post the embed job has not reached yet.
        nonlocal encoder
        if encoder is None:
            from text.embeddings import Encoder

            encoder = Encoder(model, settings.device, settings.embed_batch_size)
        return encoder.encode(texts)

    return encode


def format_suggestions(suggestions: Sequence[Suggestion]) -> str:
    """Returns the suggestions as numbered lines, each with its score, method, source and reason."""
    return "\n".join(
        f"{s.rank}. [{s.score:.3f} {s.method}{f', from {s.source}' if s.source else ''}] {s.text}\n   {s.reason}"
        for s in suggestions
    )


def run_reply_command(
    settings: Settings, post: str | None, limit: int | None, k: int, wait: bool = False, method: str = RANKED
) -> int:
    """Prints up to ``k`` suggestions for ``post``, or writes suggestions for every embedded post (``limit`` caps).

    Args:
        wait: when writing and another run of the job holds its lock, wait for it instead of exiting.
        method: how drafts are made (:data:`jobs.reply.job.METHODS`).

    Returns:
        0; 1 when ``post`` is unknown or cannot be embedded.
    """
    config = ReplySettings(k=k, method=method)
    with GraphStore.from_settings(settings) as store:
        if post is not None:
            encode = _lazy_encoder(settings, embedding_model(store) or settings.embedding_model)
            found = suggest_replies(store, [post], config, encode)
            if post not in found:
                print(f"no post {post!r} with text in the graph")
                return 1
            suggestions = found[post]
            if not suggestions:
                print(f"no suggestion for {post}: no admissible draft")
            if suggestions:
                print(format_suggestions(suggestions))
            return 0
        with JobLock(store, JOB).hold(wait):
            return _write_all(store, limit, config)


def _write_all(store: GraphStore, limit: int | None, config: ReplySettings) -> int:
    total = store.read("MATCH (p:Post) WHERE p.embedding IS NOT NULL RETURN count(p) AS n")[0]["n"]
    with tqdm(total=min(total, limit) if limit else total, unit=" posts", desc="reply", mininterval=0.5) as bar:
        summary = write_suggestions(store, limit, config, on_progress=bar.update)
    print(
        f"run {summary.run_id}: {summary.suggestions:,d} suggestions for {summary.posts_with_suggestions:,d} "
        f"of {summary.posts:,d} posts ({', '.join(f'{m} {n:,d}' for m, n in sorted(summary.methods.items())) or 'none'})"
    )
    return 0
