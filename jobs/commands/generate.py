"""``python -m jobs generate``: write a synthetic social network as canonical files."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from graph.config import Settings
from graph.synthetic import generate, write_canonical
from jobs.common.arguments import Commands, add_command

log = logging.getLogger(__name__)


def register(commands: Commands) -> None:
    """Adds ``generate``, which needs no server."""
    parser = add_command(commands, "generate", _run, uses_server=False, help="write a synthetic social network as canonical files")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return run_generate(args.users, args.seed, args.out, args.format)


def run_generate(users: int, seed: int, out: Path, fmt: str) -> int:
    """Generates ``users`` users with ``seed`` and writes them under ``out``.

    Returns:
        0 after printing the files written and their row counts.
    """
    graph = generate(users, seed=seed)
    paths = write_canonical(graph, out, fmt=fmt)
    for kind, path in paths.items():
        frame = getattr(graph, kind, None)
        rows = len(frame) if frame is not None else len(graph.communities)
        print(f"{kind:12s} {rows:>10,d} rows  {path}")
    return 0
