"""``python -m jobs watch``: serve new and changed posts and people as they arrive."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from datetime import datetime, timezone

from graph.changes import lag, read_mark
from graph.config import Settings
from graph.store import GraphStore
from jobs.common.arguments import Commands, add_command, add_device

log = logging.getLogger(__name__)


def register(commands: Commands) -> None:
    """Adds ``watch``."""
    parser = add_command(
        commands, "watch", _run,
        help="serve new and changed posts and people within seconds (long-running; SIGTERM stops it cleanly)",
    )
    add_device(parser)
    parser.add_argument("--until-idle", action="store_true", help="stop once nothing is left to serve")
    parser.add_argument("--max-seconds", type=float, help="stop after this many seconds")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return run_watch_command(settings, args.device, args.until_idle, args.max_seconds)


def run_watch_command(settings: Settings, device: str | None, until_idle: bool = False, max_seconds: float | None = None) -> int:
    """Loads the text models and runs the service until SIGTERM, Ctrl-C, idleness (``until_idle``) or ``max_seconds``.

    Returns:
        0.
    """
    from jobs.embed.job import ensure_vector_indexes
    from jobs.watch.service import RETRY_S, WatchService
    from jobs.watch.text import MemoEncoder, TextModels, graph_model
    from text.embeddings import Encoder
    from text.emotion import EmotionClassifier
    from text.sentiment import SentimentClassifier

    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        # The cycle under way finishes and records its mark; the default handler would cut it short.
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    device = device or settings.device
    with GraphStore.from_settings(settings, retry_s=RETRY_S) as store:
        models = TextModels(
            MemoEncoder(Encoder(graph_model(store, settings.embedding_model), device, settings.embed_batch_size)),
            SentimentClassifier(device=device, batch_size=settings.embed_batch_size),
            EmotionClassifier(device=device, batch_size=settings.embed_batch_size),
        )
        ensure_vector_indexes(store, models.encoder.dim)
        service = WatchService(store, models, settings.watch, stop)
        log.info("watching %s every %.2f s", store.connection.uri, settings.watch.poll_s)
        print(f"watching for changes (model {models.encoder.name}); stop with Ctrl-C or SIGTERM", flush=True)
        try:
            summary = service.run(until_idle=until_idle, max_seconds=max_seconds)
        except KeyboardInterrupt:
            summary = service.summary
        service.report()
    print(
        f"served {summary.posts:,d} posts and {summary.users:,d} people in {summary.cycles:,d} cycles; "
        f"{summary.skipped:,d} skipped, {summary.deferred:,d} deferrals behind running jobs"
    )
    return 0


def watch_status(store: GraphStore) -> str:
    """Returns one line on the watch service: its last heartbeat, high-water mark and lag now."""
    mark = read_mark(store)
    if mark is None:
        return "watch service: never started"
    now = lag(store, mark.get("since"))
    return (
        f"watch service: last heartbeat {mark.get('heartbeat')}, high-water mark {mark.get('since')}, "
        f"lag {now.count:,d} changes (oldest {now.age_s(datetime.now(timezone.utc)):.1f} s)"
    )
