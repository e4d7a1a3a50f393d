"""Validation of raw rows against their kind: types, ids, weights, text, duplicates, self-loops.

Rows are checked a chunk at a time, one column after another: a clean column is converted
in one pass, and only a column holding an absent or bad value is parsed value by value.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from itertools import repeat
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from graph.ingest.kinds import MAX_ID_CHARS, MAX_TEXT_CHARS, Field, FieldType, NodeKind, RelKind
from graph.ingest.rows import RawRow, Reject

TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f", ""}


class FieldError(ValueError):
    """A single field's value is unacceptable; the message is the reason."""


Parser = Callable[[str | None], Any]
"""Parses one raw value of a field: returns the typed value or ``None`` when absent, raises :class:`FieldError`."""

_MISSING = {FieldType.ID: "missing or empty id", FieldType.TEXT: "empty text"}
_INT64 = (-(2**63), 2**63 - 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NOT_PRINTABLE = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Zs": "a space other than ' '",
}
_NUL = "NUL character (binary data, or a UTF-16 file read as UTF-8?)"


def _id(raw: str) -> str:
    """An id is compared exactly, as stored: so that two spellings of one visible id cannot become
    two nodes, it must be printable (no control, invisible format, separator other than the space,
    private-use or unassigned characters) and in Unicode NFC.  Ids that are not are refused rather
    than rewritten, which would make the graph's keys disagree with the source's."""
    value = raw.strip()
    if len(value) > MAX_ID_CHARS:
        raise FieldError(f"id too long: {len(value)} characters, at most {MAX_ID_CHARS}")
    if not value.isprintable():
        ch = next(c for c in value if not c.isprintable())
        raise FieldError(f"id holds U+{ord(ch):04X}, {_NOT_PRINTABLE[unicodedata.category(ch)]}")
    if not unicodedata.is_normalized("NFC", value):
        raise FieldError(f"id {value!r} is not in Unicode NFC form (normalise the source's ids to NFC)")
    return value


def _string(raw: str) -> str:
    if "\x00" in raw:
        raise FieldError(_NUL)
    if len(raw) > MAX_TEXT_CHARS:
        raise FieldError(f"string too long: {len(raw)} characters, at most {MAX_TEXT_CHARS}")
    return raw


def _text(raw: str) -> str:
    if not raw.strip():
        raise FieldError("empty text")
    if "\x00" in raw:
        raise FieldError(_NUL)
    if len(raw) > MAX_TEXT_CHARS:
        raise FieldError(f"text too long: {len(raw)} characters, at most {MAX_TEXT_CHARS}")
    return raw


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise FieldError(f"not a boolean: {raw!r}")


def _int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise FieldError(f"unparsable integer: {raw!r}") from None
    # Neo4j integers are 64-bit; a larger one would fail the whole batch's transaction.
    if not _INT64[0] <= value <= _INT64[1]:
        raise FieldError(f"integer out of the 64-bit range: {raw!r}")
    return value


def _weight(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise FieldError(f"unparsable number: {raw!r}") from None
    if not math.isfinite(value):
        raise FieldError(f"weight is {raw!r}, not a finite number")
    if value < 0:
        raise FieldError(f"negative weight: {raw}")
    return value


def _parse_datetime(raw: str) -> datetime:
    """ISO-8601 (UTC when it names no offset) or Unix seconds, not before 1970: the date-times are
    of social events, and a negative Unix time is in practice a placeholder for "unknown", which
    would otherwise load as a real 1969 date.  ISO dates before 1970 are refused alike."""
    text = raw.strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if not math.isfinite(seconds):
            raise FieldError(f"not a date-time: {raw!r}")
        if seconds < 0:
            raise FieldError(f"negative Unix time {raw!r}: date-times before 1970 are refused (leave it empty when unknown)")
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise FieldError(f"Unix time out of range: {raw!r} (seconds expected, not milliseconds)") from None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(f"unparsable date-time (ISO-8601 or Unix seconds expected): {raw!r}") from None
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if value < _EPOCH:
        raise FieldError(f"date-time before 1970: {raw!r}")
    return value


_CONVERTERS: dict[FieldType, Callable[[str], Any]] = {
    FieldType.ID: _id,
    FieldType.STRING: _string,
    FieldType.TEXT: _text,
    FieldType.BOOL: _bool,
    FieldType.INT: _int,
    FieldType.WEIGHT: _weight,
    FieldType.DATETIME: _parse_datetime,
}


def parser_for(field: Field) -> Parser:
    """Returns the :data:`Parser` of ``field``, built once per field so that each row pays only its own checks.

    A value is absent when it is missing or empty, or blank for any type but text (blank text is
    an error of its own); a required field raises then.
    """
    convert = _CONVERTERS[field.type]
    missing = _MISSING.get(field.type, "missing value")
    blank_is_absent = field.type is not FieldType.TEXT

    def parse(raw: str | None) -> Any:
        if not raw or (blank_is_absent and not raw.strip()):
            if field.required:
                raise FieldError(missing)
            return None
        return convert(raw)

    return parse


class Checked(NamedTuple):
    """The valid rows of one chunk, column by column (row ``j`` of every column is one record).

    Attributes:
        positions: where each row stands in the chunk (rejects included), for resuming mid-chunk.
        sources / lines: where each row came from.
        keys: the node key, or the relationship's source key.
        dsts: the relationship's target key (empty for nodes).
        merges: the value that tells parallel relationships apart (empty for nodes).
        props: one column per property, ``None`` where the row has no value (the merge
            property of a relationship is in ``merges`` instead).
    """

    positions: list[int]
    sources: list[str]
    lines: list[int]
    keys: list[str]
    dsts: list[str]
    merges: list[Any]
    props: dict[str, list[Any]]

    def take(self, indices: list[int]) -> Checked:
        """Returns the rows at ``indices`` (ascending), in a new :class:`Checked`."""
        return Checked(
            [self.positions[j] for j in indices],
            [self.sources[j] for j in indices],
            [self.lines[j] for j in indices],
            [self.keys[j] for j in indices],
            [self.dsts[j] for j in indices] if self.dsts else [],
            [self.merges[j] for j in indices] if self.merges else [],
            {name: [column[j] for j in indices] for name, column in self.props.items()},
        )

    def unknown_endpoint(self, j: int, side: str, label: str) -> Reject:
        """Returns the reject of row ``j``, whose ``side`` (``"src"`` or ``"dst"``) names no ``label`` node."""
        key = self.keys[j] if side == "src" else self.dsts[j]
        return Reject(self.sources[j], self.lines[j], side, f"edge to unknown node: no {label} {key!r}")

    def row_maps(self, **leading: list[Any]) -> list[dict[str, Any]]:
        """Returns one flat map per row: the ``leading`` columns (e.g. ``src=…``), then the properties.

        A property no row has is left out (less for the driver to pack and the server to
        unpack); one that some rows have is ``None`` in the others.

        Raises:
            ValueError: when a property's name is one of the ``leading`` names.
        """
        present = {name: column for name, column in self.props.items() if column.count(None) < len(column)}
        clash = set(present) & set(leading)
        if clash:
            raise ValueError(f"property names {sorted(clash)} clash with the row's own fields")
        names = [*leading, *present]
        return [dict(zip(names, values)) for values in zip(*leading.values(), *present.values())]


def _fast_column(field_type: FieldType, values: list[str | None]) -> list[Any] | None:
    """Returns the parsed column when every value is present and valid, else ``None``.

    Converts the whole column in one comprehension; the first absent, blank or bad
    value sends the column to the exact per-value parser instead.
    """
    try:
        if field_type is FieldType.ID:
            stripped = list(map(str.strip, values))  # type: ignore[arg-type]
            if not all(stripped) or max(map(len, stripped), default=0) > MAX_ID_CHARS:
                return None
            # The space is printable and composes with nothing, so the joined ids are printable
            # and NFC exactly when each id is.
            joined = " ".join(stripped)
            return stripped if joined.isprintable() and unicodedata.is_normalized("NFC", joined) else None
        if field_type is FieldType.STRING:
            if None in values or "" in values or any(map(str.isspace, values)):  # type: ignore[arg-type]
                return None
            too_long = max(map(len, values), default=0) > MAX_TEXT_CHARS  # type: ignore[arg-type]
            nul = any(map(str.__contains__, values, repeat("\x00")))  # type: ignore[arg-type]
            return None if too_long or nul else values
        if field_type is FieldType.INT:
            parsed = list(map(int, values))  # type: ignore[arg-type]
            return parsed if not parsed or (min(parsed) >= _INT64[0] and max(parsed) <= _INT64[1]) else None
        if field_type is FieldType.WEIGHT:
            parsed = list(map(float, values))  # type: ignore[arg-type]
            array = np.fromiter(parsed, dtype=np.float64, count=len(parsed))
            return parsed if np.isfinite(array).all() and (array >= 0).all() else None
    except (AttributeError, TypeError, ValueError):
        return None
    return None


def _column(fields: list[dict[str, str | None]], name: str) -> list[str | None]:
    """Returns the raw values of ``name`` in each row's fields, ``None`` where a row lacks it."""
    try:
        return list(map(itemgetter(name), fields))
    except KeyError:
        return [f.get(name) for f in fields]


def parse_column(field: Field, values: list[str | None]) -> tuple[list[Any], dict[int, str]]:
    """Parses one column of raw values.

    Returns:
        ``(parsed, errors)``: the typed values (``None`` where absent or bad) and the
        reason for each bad value by its index.
    """
    if not any(values) and not field.required:
        return [None] * len(values), {}
    fast = _fast_column(field.type, values)
    if fast is not None:
        return fast, {}
    return parse_each(field, values)


def parse_each(field: Field, values: list[str | None]) -> tuple[list[Any], dict[int, str]]:
    """Parses ``values`` one by one with the field's parser; the slow path of :func:`parse_column`.

    Returns:
        ``(parsed, errors)`` as :func:`parse_column` does.
    """
    parse = parser_for(field)
    parsed: list[Any] = []
    errors: dict[int, str] = {}
    for i, raw in enumerate(values):
        try:
            parsed.append(parse(raw))
        except FieldError as exc:
            parsed.append(None)
            errors[i] = str(exc)
    return parsed, errors


class Validator:
    """Checks the rows of one kind from one input a chunk at a time, column by column.

    Remembers the ids it has seen across chunks to catch duplicates: an exact
    repeat of a row is dropped (counted in :attr:`duplicates`); a repeat that
    disagrees on any attribute is rejected naming that attribute.  A row is
    checked field by field in the kind's order, and the first bad field names
    the reject.
    """

    def __init__(self, kind: NodeKind | RelKind, default_merge: str = "interaction") -> None:
        self.kind = kind
        self.default_merge = default_merge
        self.duplicates = 0
        self._seen: dict[Any, tuple[int, tuple[int, ...]]] = {}
        self._is_node = isinstance(kind, NodeKind)
        self._key = kind.key if self._is_node else "src"
        self._id_fields = [Field(self._key, FieldType.ID, True)] + ([] if self._is_node else [Field("dst", FieldType.ID, True)])
        self._prop_fields = [f for f in kind.fields if not (self._is_node and f.name == kind.key)]
        self._merge_on = None if self._is_node else kind.merge_on
        self._no_self_loops = not self._is_node and kind.src_label == kind.dst_label and not kind.self_loops

    def check(self, chunk: Sequence[RawRow | Reject]) -> tuple[Checked, list[Reject]]:
        """Checks one chunk of rows (rejects from the reader pass through).

        Returns:
            The valid rows, and every reject of the chunk in input order.
        """
        at = [i for i, row in enumerate(chunk) if row.__class__ is RawRow]
        rows: Sequence[RawRow] = chunk if len(at) == len(chunk) else [chunk[i] for i in at]  # type: ignore[assignment]
        ordered: list[tuple[int, Reject]] = [(i, row) for i, row in enumerate(chunk) if row.__class__ is not RawRow]  # type: ignore[misc]
        sources = [row.source for row in rows]
        lines = [row.line for row in rows]
        fields = [row.fields for row in rows]
        bad: dict[int, tuple[str, str]] = {}
        columns: dict[str, list[Any]] = {}
        for field in (*self._id_fields, *self._prop_fields):
            columns[field.name], errors = parse_column(field, _column(fields, field.name))
            for j, reason in errors.items():
                bad.setdefault(j, (field.name, reason))
        keys = columns.pop(self._key)
        dsts = [] if self._is_node else columns.pop("dst")
        if self._no_self_loops:
            for j, (src, dst) in enumerate(zip(keys, dsts)):
                if src == dst and j not in bad:
                    bad[j] = ("dst", f"self-loop not allowed for {self.kind.rel_type}")
        merges: list[Any] = []
        if self._merge_on:
            merges = [self.default_merge if m is None else m for m in columns.pop(self._merge_on)]
        elif not self._is_node:
            merges = [None] * len(keys)
        idents: list[Any] = keys if self._is_node else list(zip(keys, dsts, merges))
        signatures: list[tuple[int, ...]] = list(zip(*(map(hash, c) for c in columns.values()))) if columns else [()] * len(keys)
        seen = self._seen
        if not bad and len(set(idents)) == len(idents) and seen.keys().isdisjoint(idents):
            # The common case: every row is valid and new, so remember them all at C speed.
            seen.update(zip(idents, zip(lines, signatures)))
            keep = list(range(len(rows)))
        else:
            keep = self._remember(idents, signatures, lines, list(columns), bad)
        ordered += [(at[j], Reject(sources[j], lines[j], name, reason)) for j, (name, reason) in bad.items()]
        ordered.sort(key=lambda pair: pair[0])
        checked = Checked(at, sources, lines, keys, dsts, merges, columns)
        return (checked if len(keep) == len(rows) else checked.take(keep)), [reject for _, reject in ordered]

    def _remember(
        self, idents: list[Any], signatures: list[tuple[int, ...]], lines: list[int], names: list[str], bad: dict[int, tuple[str, str]]
    ) -> list[int]:
        """Returns the indices of the rows seen for the first time; adds a reject to ``bad`` for each conflicting repeat."""
        # Hashes, not values, are kept: a text property may be long.  Each field holds one type,
        # so equal hashes of values of that type mean equal values up to hash collisions.
        keep = []
        seen = self._seen
        for j, (ident, signature) in enumerate(zip(idents, signatures)):
            if j in bad:
                continue
            first = seen.get(ident)
            if first is None:
                seen[ident] = (lines[j], signature)
                keep.append(j)
            elif first[1] == signature:
                self.duplicates += 1
            else:
                name = next(n for n, old, new in zip(names, first[1], signature) if old != new)
                bad[j] = (name, f"duplicate of line {first[0]} with a different value")
        return keep
