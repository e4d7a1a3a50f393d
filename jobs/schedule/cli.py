"""``python -m jobs pipeline`` (every job once, in data-flow order) and ``python -m jobs schedule`` (on cron expressions)."""

from __future__ import annotations

import argparse
from pathlib import Path

from graph.config import Settings
from jobs.common.arguments import Commands, add_command, add_device, add_wait
from jobs.schedule.pipeline import STEPS, run_pipeline


def register(commands: Commands) -> None:
    """Adds ``pipeline`` and ``schedule``."""
    pipeline = add_command(commands, "pipeline", _run_pipeline, help=f"run every job in order: {', '.join(STEPS)}")
    pipeline.add_argument("--seed", type=int, default=0)
    add_device(pipeline)
    pipeline.add_argument("--skip", action="append", default=[], choices=STEPS)
    add_wait(pipeline)
    schedule = add_command(
        commands, "schedule", _run_schedule,
        help="run jobs on cron expressions from a TOML file, one run of a job at a time (a lock in the graph)",
        description="Runs until interrupted. See schedule.example.toml and the README's Scheduling section.",
    )
    schedule.add_argument("--config", type=Path, required=True, help="the schedule, e.g. schedule.toml")


def _run_pipeline(settings: Settings, args: argparse.Namespace) -> int:
    return run_pipeline(settings, args.seed, args.device, tuple(args.skip), args.wait)


def _run_schedule(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.schedule.scheduler import run_schedule_command

    return run_schedule_command(settings, args.config)
