"""Load plan for the LightGCN split of Gowalla: check-ins of users at places (as Posts)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from graph.ingest.datasets.common import checkpoint_key, require_file
from graph.ingest.kinds import INTERACTED
from graph.ingest.readers import InputError, text_lines
from graph.ingest.rows import RawRow, Reject
from graph.ingest.steps import Step

GOWALLA = "gowalla"

_INTEGER = re.compile(r"[0-9]+")

_GOWALLA_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("train.txt",),
    "test": ("test.txt",),
    "all": ("train.txt", "test.txt"),
}


def _gowalla_rows(path: Path) -> Iterator[RawRow | Reject]:
    """One INTERACTED row per item of each ``user item item ...`` line, streamed.

    A line whose user is not an integer id is refused whole; a bad item token is
    refused alone.  A user without items has nothing to load and is skipped.
    """
    source = str(path)
    prefix = f"{GOWALLA}:"
    for number, text in enumerate(text_lines(path, "utf-8"), start=1):
        tokens = text.split()
        if not tokens:
            continue
        user, items = tokens[0], tokens[1:]
        if not _INTEGER.fullmatch(user):
            yield Reject(source, number, "src", f"user id is not a non-negative integer: {user!r}")
            continue
        src = prefix + user
        # Almost every line is all ASCII digits: one check for the line instead of one per token.
        clean = text.isascii() and "".join(items).isdigit()
        for item in items:
            if not clean and not _INTEGER.fullmatch(item):
                yield Reject(source, number, "dst", f"item id is not a non-negative integer: {item!r}")
                continue
            yield RawRow(source, number, {"src": src, "dst": prefix + item, "kind": "check-in", "weight": "1.0"})


def gowalla_steps(path: Path, *, split: str = "train") -> list[Step]:
    """Returns the steps that load the LightGCN Gowalla split from its folder.

    ``split`` is ``train`` (``train.txt``), ``test`` (``test.txt``) or ``all``
    (both, one step each).  Every (user, place) pair becomes INTERACTED
    ``check-in`` with weight 1.0; users and places (as Posts) are created as needed.

    Raises:
        InputError: for an unknown split or a missing file.
    """
    if split not in _GOWALLA_SPLITS:
        raise InputError(f"unknown gowalla split {split!r}; choose from {', '.join(_GOWALLA_SPLITS)}")
    steps = []
    for name in _GOWALLA_SPLITS[split]:
        file = require_file(path, name)
        steps.append(
            Step(
                INTERACTED,
                lambda file=file: _gowalla_rows(file),
                str(file),
                checkpoint_key(GOWALLA, INTERACTED.name, file, extra=file.stem),
                create_src=True,
                create_dst=True,
            )
        )
    return steps
