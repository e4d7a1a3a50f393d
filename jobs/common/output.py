"""Rendering query results for people (table) and programs (csv, json)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):
        return value.iso_format()
    if hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    return str(value)


def _cell(value: Any) -> str:
    plain = _plain(value)
    if plain is None:
        return ""
    if isinstance(plain, float):
        return f"{plain:.4g}"
    if isinstance(plain, (list, dict)):
        return json.dumps(plain, ensure_ascii=False)
    return str(plain)


def render(keys: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table", max_width: int = 60) -> str:
    """Returns the rows as an aligned text table, CSV with a header line, or a JSON array of objects."""
    if fmt == "json":
        return json.dumps([dict(zip(keys, map(_plain, row))) for row in rows], ensure_ascii=False, indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(keys)
        writer.writerows([[_cell(v) for v in row] for row in rows])
        return buffer.getvalue().rstrip("\n")
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; choose table, csv or json")
    cells = [[_cell(v) for v in row] for row in rows]
    cells = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in cells]
    widths = [max([len(k)] + [len(row[i]) for row in cells]) for i, k in enumerate(keys)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line, "| " + " | ".join(k.ljust(w) for k, w in zip(keys, widths)) + " |", line]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    out += [line, f"{len(rows)} row{'s' if len(rows) != 1 else ''}"]
    return "\n".join(out)


def parse_param(text: str) -> tuple[str, Any]:
    """Returns ``(name, value)`` from ``name=value``; the value is read as JSON when it parses, else kept as text.

    Raises:
        ValueError: when there is no ``=`` or the name is empty.
    """
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--param expects name=value, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name.strip(), value
