"""``python -m jobs evaluate``: each job's offline evaluation (a target), or ``--online``, how the published suggestions fared."""

from __future__ import annotations

import argparse
import importlib

from graph.config import Settings
from jobs.common.arguments import Commands, add_command

EVALUATIONS: tuple[str, ...] = ("jobs.communities.cli", "jobs.friends.cli", "jobs.recommend.cli", "jobs.sentiment.cli", "jobs.emotion.cli", "jobs.reply.cli")
"""The modules whose ``register_evaluation(targets)`` adds an ``evaluate`` target."""


def register(commands: Commands) -> None:
    """Adds ``evaluate`` and, from each job in :data:`EVALUATIONS`, its target."""
    parser = add_command(
        commands, "evaluate", _run, uses_server=_online,
        help="measure a job on a public dataset or your files, in a throwaway Neo4j",
    )
    parser.add_argument(
        "--online", action="store_true",
        help="instead: measure how the current suggestions fared (suggested friends followed, recommended posts interacted with)",
    )
    targets = parser.add_subparsers(dest="target")
    for module in EVALUATIONS:
        importlib.import_module(module).register_evaluation(targets)
    # --online wins over a target, whose parser's defaults would otherwise replace these.
    for target in targets.choices.values():
        target.set_defaults(run=_run, uses_server=_online, evaluation=target.get_default("run"))


def _online(args: argparse.Namespace) -> bool:
    # The targets start a throwaway server of their own; --online measures the configured graph.
    return args.online or args.target is None


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if not _online(args):
        return args.evaluation(settings, args)
    from jobs.common.feedback import run_online_evaluation

    return run_online_evaluation(settings, args.online)
