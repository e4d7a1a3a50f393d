"""``python -m jobs schedule``: runs the analytics jobs on cron expressions with APScheduler.

Each firing takes the job's lock in the graph (:mod:`graph.lock`) for the whole run, so a job
never runs twice at once, whichever process or machine fired it; a firing that finds the lock
held is skipped and logged.  The jobs record their runs as ``JobRun`` nodes themselves; the
scheduler logs each start, end and exit status.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from graph.config import Settings
from graph.schema import ensure_schema
from graph.store import GraphStore
from graph.lock import JobLock
from jobs.schedule.pipeline import pipeline_steps
from jobs.schedule.config import ScheduleConfig, ScheduledJob, load_schedule

log = logging.getLogger(__name__)

JobRunner = Callable[[ScheduledJob], int]
"""Runs one job and returns its exit status."""


def pipeline_runner(settings: Settings) -> JobRunner:
    """Returns a runner that calls the job's own entry point (the one ``python -m jobs NAME`` uses)."""

    def run(job: ScheduledJob) -> int:
        return dict(pipeline_steps(settings, job.seed, job.device))[job.name]()

    return run


class LockedFiring:
    """What the scheduler calls when a job's trigger fires: the job under its graph lock.

    Args:
        settings: how to reach the graph that keeps the locks.
        config: the schedule (jobs and lock TTL).
        runner: runs a job; default :func:`pipeline_runner`.
    """

    def __init__(self, settings: Settings, config: ScheduleConfig, runner: JobRunner | None = None) -> None:
        self.settings = settings
        self.config = config
        self.jobs = {job.name: job for job in config.jobs}
        self.runner = runner or pipeline_runner(settings)

    def __call__(self, name: str) -> int | None:
        """Runs job ``name`` if its lock is free.

        Returns:
            The job's exit status (1 when it raised), or None when it was skipped because its lock is held.
        """
        job = self.jobs[name]
        with GraphStore.from_settings(self.settings) as store:
            lock = JobLock(store, name, self.config.lock_ttl)
            with lock.held() as taken:
                if not taken:
                    log.warning("skipped %s: another run holds its lock (%s)", name, lock.holder())
                    return None
                log.info("started %s (lock owner %s)", name, lock.owner)
                began = time.monotonic()
                try:
                    status = self.runner(job)
                except Exception:
                    log.exception("%s raised", name)
                    status = 1
                log.info("finished %s: exit status %d after %.1f s", name, status, time.monotonic() - began)
                return status


def build_scheduler(
    settings: Settings, config: ScheduleConfig, scheduler: BaseScheduler | None = None, runner: JobRunner | None = None
) -> BaseScheduler:
    """Adds every configured job to ``scheduler`` (default: a new blocking one), id = the job's name.

    Returns:
        The scheduler, not yet started.
    """
    scheduler = scheduler or BlockingScheduler(timezone=config.timezone)
    firing = LockedFiring(settings, config, runner)
    for job in config.jobs:
        # One instance per process on top of the graph lock; a run missed while the process was
        # busy or down fires once (coalesce) if it is at most an hour late.
        scheduler.add_job(
            firing, config.trigger(job), args=[job.name], id=job.name, name=job.name,
            max_instances=1, coalesce=True, misfire_grace_time=3600,
        )
    return scheduler


def run_schedule_command(settings: Settings, config_path: Path) -> int:
    """Runs the schedule in ``config_path`` until interrupted.

    Returns:
        0 after Ctrl-C or SIGTERM; bad configuration raises ``ScheduleConfigError`` (exit status 2 in the CLI).
    """
    config = load_schedule(config_path)
    with GraphStore.from_settings(settings) as store:
        ensure_schema(store)
    scheduler = build_scheduler(settings, config)
    for job in config.jobs:
        print(f"{job.name:<12} cron {job.cron!r} ({config.timezone}), seed {job.seed}")
    print(f"scheduler running with {len(config.jobs)} job(s); Ctrl-C to stop", flush=True)
    # systemd stops a service with SIGTERM: leave the same way as after Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")
    return 0
