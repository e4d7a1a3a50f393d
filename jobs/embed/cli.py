"""``python -m jobs embed``: write text vectors of posts and profiles into the graph."""

from __future__ import annotations

import argparse
import time

from tqdm import tqdm

from graph.config import Settings
from graph.lock import JobLock
from graph.store import GraphStore
from jobs.common.arguments import Commands, add_command, add_device, add_wait


def register(commands: Commands) -> None:
    """Adds ``embed``."""
    parser = add_command(commands, "embed", _run, help="write text embeddings of posts and user profiles (incremental)")
    parser.add_argument("--model", help="packaged text model (default: SOCIOGRAPH_EMBEDDING_MODEL or all-MiniLM-L6-v2)")
    add_device(parser)
    parser.add_argument("--batch-size", type=int, help="texts per forward pass")
    add_wait(parser)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return run_embed_command(settings, args.model, args.device, args.batch_size, args.wait)


def run_embed_command(
    settings: Settings, model: str | None, device: str | None, batch_size: int | None, wait: bool = False
) -> int:
    """Embeds what changed since the last run and prints a summary.

    Args:
        wait: when another run of the job holds its lock, wait for it instead of exiting.

    Returns:
        0.
    """
    from jobs.embed.job import run_embed
    from text.embeddings import Encoder

    encoder = Encoder(model or settings.embedding_model, device or settings.device, batch_size or settings.embed_batch_size)
    start = time.perf_counter()
    with GraphStore.from_settings(settings) as store, JobLock(store, "embed").hold(wait):
        total = store.node_count("Post") + store.node_count("User")
        with tqdm(total=total, unit=" nodes", desc="embed", mininterval=0.5) as bar:
            summary = run_embed(store, encoder, on_progress=bar.update)
    seconds = time.perf_counter() - start
    print(
        f"model {summary.model} on {encoder.device}: "
        f"posts {summary.posts_embedded:,d} embedded, {summary.posts_unchanged:,d} unchanged, "
        f"{summary.posts_without_text:,d} without text; "
        f"users {summary.users_embedded:,d} embedded, {summary.users_unchanged:,d} unchanged, "
        f"{summary.users_without_text:,d} without text; {seconds:.1f} s"
    )
    return 0
