"""What every dataset's load plan shares: namespaced ids, required files, checkpoint keys, renamed columns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from graph.ingest.readers import InputError
from graph.ingest.rows import RawRow, Reject
from graph.ingest.steps import file_digest


def namespaced(dataset: str, raw: str) -> str:
    """Returns the dataset-qualified id ``f"{dataset}:{raw}"`` (``raw`` stripped).

    A blank ``raw`` is returned unchanged, so validation still rejects it as a
    missing id instead of loading a node called ``"dataset:"``.
    """
    stripped = raw.strip()
    return f"{dataset}:{stripped}" if stripped else raw


def require_file(folder: Path, name: str) -> Path:
    """Returns ``folder / name``.

    Raises:
        InputError: when that is not a file.
    """
    path = folder / name
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    return path


def checkpoint_key(dataset: str, kind_name: str, *paths: Path, extra: str = "") -> str:
    """Returns a step's checkpoint key: the dataset, the kind, ``extra`` if any, and a digest of ``paths``."""
    parts = [dataset, kind_name, *([extra] if extra else []), file_digest(*paths)]
    return ":".join(parts)


def renamed(
    rows: Iterable[RawRow | Reject],
    dataset: str,
    ids: dict[str, str],
    values: dict[str, str] | None = None,
    constants: dict[str, str] | None = None,
) -> Iterator[RawRow | Reject]:
    """Maps raw columns to canonical fields: ``ids`` are namespaced, ``values`` copied, ``constants`` added.

    Returns:
        A lazy iterator of the renamed rows, rejects passed through unchanged.
    """
    for row in rows:
        if isinstance(row, Reject):
            yield row
            continue
        fields: dict[str, str | None] = {}
        for raw, canonical in ids.items():
            value = row.fields.get(raw)
            fields[canonical] = None if value is None else namespaced(dataset, value)
        for raw, canonical in (values or {}).items():
            fields[canonical] = row.fields.get(raw)
        fields.update(constants or {})
        yield RawRow(row.source, row.line, fields)
