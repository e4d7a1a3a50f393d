"""``python -m jobs generate``: write a synthetic social network as canonical files."""

from __future__ import annotations

import logging
from pathlib import Path

from graph.synthetic import generate, write_canonical

log = logging.getLogger(__name__)


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
