"""``python -m jobs pipeline``: every analytics job in data-flow order over the configured graph.

embed → sentiment → emotion → communities → friends → recommend.  Each job reads what the graph holds
(never another job's memory) and publishes its own run; a failing job stops the pipeline with
its exit status, leaving the earlier jobs' published runs in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from graph.config import Settings
from jobs.embed.cli import run_embed_command
from jobs.emotion.cli import run_emotion_command
from jobs.recommend.cli import run_recommend_command
from jobs.sentiment.cli import run_sentiment_command

log = logging.getLogger(__name__)

STEPS = ("embed", "sentiment", "emotion", "communities", "friends", "recommend")


def pipeline_steps(
    settings: Settings, seed: int = 0, device: str | None = None, wait: bool = False
) -> list[tuple[str, Callable[[], int]]]:
    """Returns ``(name, run)`` for each job in order; ``run()`` returns its exit status and takes the
    job's lock (waiting for it when ``wait``, else raising :class:`graph.lock.LockBusy`)."""
    return [
        ("embed", lambda: run_embed_command(settings, None, device, None, wait)),
        ("sentiment", lambda: run_sentiment_command(settings, device, None, 2000, wait)),
        ("emotion", lambda: run_emotion_command(settings, device, None, 2000, wait)),
        ("communities", lambda: _run_gnn_job(settings, "communities", seed, device, wait)),
        ("friends", lambda: _run_gnn_job(settings, "friends", seed, device, wait)),
        ("recommend", lambda: run_recommend_command(settings, 20, seed, None, device, wait)),
    ]


def _run_gnn_job(settings: Settings, job: str, seed: int, device: str | None, wait: bool) -> int:
    # Imported when the job runs: the GNN modules import torch, which parsing the command line must not.
    from jobs.gnn.command import run_job

    return run_job(settings, job, seed, device, wait=wait)


def run_pipeline(
    settings: Settings, seed: int = 0, device: str | None = None, skip: tuple[str, ...] = (), wait: bool = False
) -> int:
    """Runs the jobs in order, skipping ``skip``; ``wait`` waits for a job whose lock another run holds.

    Returns:
        0 when every job succeeded, else the first failing job's status.
    """
    for name, run in pipeline_steps(settings, seed, device, wait):
        if name in skip:
            continue
        log.info("pipeline: %s", name)
        status = run()
        if status:
            log.error("pipeline stopped: %s exited with %d", name, status)
            return status
    return 0
