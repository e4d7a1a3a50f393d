"""Rows as read from an input file, and the rejects that explain why a row was refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class RawRow(NamedTuple):
    """One input record before validation (a named tuple: millions are made per load, and a
    tuple is built twice as fast as a frozen dataclass).

    Attributes:
        source: the file it came from.
        line: 1-based line (or record number for Parquet) where the record starts.
        fields: raw string values by canonical field name; ``None`` when absent.
    """

    source: str
    line: int
    fields: dict[str, str | None]


@dataclass(frozen=True)
class Reject:
    """A refused input record: ``source:line:field: reason``."""

    source: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.field}: {self.reason}"
