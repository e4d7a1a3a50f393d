"""The scheduler's TOML configuration: which jobs run on which cron expression.

::

    [scheduler]
    lock_ttl = 300          # seconds a crashed run's lock outlives it (optional)
    timezone = "UTC"        # the cron expressions' time zone (optional, default UTC)

    [jobs.friends]
    cron = "0 3 * * *"      # minute hour day-of-month month day-of-week
    seed = 0                # optional
    device = "cpu"          # optional: auto, cpu or cuda

Every error names the file and the offending key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from graph.lock import DEFAULT_TTL_S
from jobs.schedule.pipeline import STEPS

_JOB_KEYS = {"cron", "seed", "device"}
_SCHEDULER_KEYS = {"lock_ttl", "timezone"}
_DEVICES = ("auto", "cpu", "cuda")


class ScheduleConfigError(ValueError):
    """Raised for a configuration that cannot be scheduled; the message names file and key."""


@dataclass(frozen=True)
class ScheduledJob:
    """One job of the schedule: its name, cron expression, seed and device."""

    name: str
    cron: str
    seed: int = 0
    device: str | None = None


@dataclass(frozen=True)
class ScheduleConfig:
    """The whole schedule: the jobs, the lock TTL in seconds and the cron time zone."""

    jobs: tuple[ScheduledJob, ...]
    lock_ttl: float = DEFAULT_TTL_S
    timezone: str = "UTC"

    def trigger(self, job: ScheduledJob) -> CronTrigger:
        """Returns the APScheduler trigger of ``job``'s cron expression."""
        return CronTrigger.from_crontab(job.cron, timezone=ZoneInfo(self.timezone))


def load_schedule(path: Path) -> ScheduleConfig:
    """Reads and validates a schedule file.

    Returns:
        The schedule, with every cron expression already checked.

    Raises:
        ScheduleConfigError: ``FILE: KEY: what is wrong`` for the first problem found.
        FileNotFoundError: when the file does not exist.
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleConfigError(f"{path}: not valid TOML: {exc}") from exc

    def fail(key: str, message: str) -> ScheduleConfigError:
        return ScheduleConfigError(f"{path}: {key}: {message}")

    unknown = set(data) - {"jobs", "scheduler"}
    if unknown:
        raise fail(sorted(unknown)[0], "unknown table or key; expected [scheduler] and [jobs.NAME]")
    scheduler = data.get("scheduler", {})
    if not isinstance(scheduler, dict):
        raise fail("scheduler", "must be a table")
    unknown = set(scheduler) - _SCHEDULER_KEYS
    if unknown:
        raise fail(f"scheduler.{sorted(unknown)[0]}", f"unknown key; expected one of {', '.join(sorted(_SCHEDULER_KEYS))}")
    ttl = scheduler.get("lock_ttl", DEFAULT_TTL_S)
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0:
        raise fail("scheduler.lock_ttl", f"must be a positive number of seconds, got {ttl!r}")
    timezone = scheduler.get("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise fail("scheduler.timezone", f"unknown time zone {timezone!r}") from exc

    jobs = data.get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        raise fail("jobs", f"no jobs to schedule; add e.g. [jobs.friends] cron = \"0 3 * * *\" (jobs: {', '.join(STEPS)})")
    config = ScheduleConfig(tuple(_job(name, spec, fail) for name, spec in jobs.items()), float(ttl), timezone)
    for job in config.jobs:
        try:
            config.trigger(job)
        except ValueError as exc:
            raise fail(f"jobs.{job.name}.cron", f"invalid cron expression {job.cron!r}: {exc}") from exc
    return config


def _job(name: str, spec: Any, fail: Callable[[str, str], ScheduleConfigError]) -> ScheduledJob:
    key = f"jobs.{name}"
    if name not in STEPS:
        raise fail(key, f"unknown job; expected one of {', '.join(STEPS)}")
    if not isinstance(spec, dict):
        raise fail(key, "must be a table with a cron key")
    unknown = set(spec) - _JOB_KEYS
    if unknown:
        raise fail(f"{key}.{sorted(unknown)[0]}", f"unknown key; expected one of {', '.join(sorted(_JOB_KEYS))}")
    cron = spec.get("cron")
    if not isinstance(cron, str) or not cron.strip():
        raise fail(f"{key}.cron", "missing: a cron expression such as \"0 3 * * *\" (minute hour day month weekday)")
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise fail(f"{key}.seed", f"must be an integer, got {seed!r}")
    device = spec.get("device")
    if device is not None and device not in _DEVICES:
        raise fail(f"{key}.device", f"must be one of {', '.join(_DEVICES)}, got {device!r}")
    return ScheduledJob(name, cron.strip(), seed, device)
