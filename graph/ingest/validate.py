"""Validation of raw rows against their kind: types, ids, weights, text, duplicates, self-loops."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, NamedTuple

from graph.ingest.kinds import MAX_TEXT_CHARS, Field, FieldType, NodeKind, RelKind
from graph.ingest.rows import RawRow, Reject

TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f", ""}


class FieldError(ValueError):
    """A single field's value is unacceptable; the message is the reason."""


Parser = Callable[[str | None], Any]
"""Parses one raw value of a field: returns the typed value or ``None`` when absent, raises :class:`FieldError`."""

_MISSING = {FieldType.ID: "missing or empty id", FieldType.TEXT: "empty text"}


def _text(raw: str) -> str:
    if not raw.strip():
        raise FieldError("empty text")
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
        return int(raw)
    except ValueError:
        raise FieldError(f"unparsable integer: {raw!r}") from None


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
    text = raw.strip()
    try:
        return datetime.fromtimestamp(float(text), tz=timezone.utc)
    except ValueError:
        pass
    except (OverflowError, OSError):
        raise FieldError(f"timestamp out of range: {raw!r}") from None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(f"unparsable date-time (ISO-8601 or Unix seconds expected): {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


_CONVERTERS: dict[FieldType, Callable[[str], Any]] = {
    FieldType.ID: str.strip,
    FieldType.STRING: str,
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


def parse_value(field: Field, raw: str | None) -> Any:
    """Returns the typed value of ``raw`` for ``field``, or ``None`` when absent.

    Raises:
        FieldError: with the reason when the value is missing, unparsable or out of range.
    """
    return parser_for(field)(raw)


class NodeRecord(NamedTuple):
    """A valid node row: its origin, key and properties (absent values left out)."""

    source: str
    line: int
    key: str
    props: dict[str, Any]


class RelRecord(NamedTuple):
    """A valid relationship row: its origin, endpoints, distinguishing value and properties."""

    source: str
    line: int
    src: str
    dst: str
    merge: Any
    props: dict[str, Any]


class Validator:
    """Checks the rows of one kind from one input, remembering ids to catch conflicting duplicates.

    Exact repeats of a row are dropped (counted in :attr:`duplicates`); a repeat
    that disagrees on any attribute is rejected naming that attribute.
    """

    def __init__(self, kind: NodeKind | RelKind, default_merge: str = "interaction") -> None:
        self.kind = kind
        self.default_merge = default_merge
        self.duplicates = 0
        self._seen: dict[Any, tuple[int, tuple[int, ...]]] = {}
        self._is_node = isinstance(kind, NodeKind)
        self._prop_fields = [f for f in kind.fields if not (self._is_node and f.name == kind.key)]
        self._prop_parsers = [(f.name, parser_for(f)) for f in self._prop_fields]
        self._prop_names = [f.name for f in self._prop_fields]
        self._key = kind.key if self._is_node else "src"
        self._parse_key = parser_for(Field(self._key, FieldType.ID, True))
        self._parse_dst = parser_for(Field("dst", FieldType.ID, True))
        self._merge_on = None if self._is_node else kind.merge_on
        self._no_self_loops = not self._is_node and kind.src_label == kind.dst_label and not kind.self_loops

    def check(self, row: RawRow) -> NodeRecord | RelRecord | Reject | None:
        """Returns the typed record, a reject naming the field, or None for an exact duplicate."""
        fields = row.fields
        try:
            src = self._parse_key(fields.get(self._key))
            if not self._is_node:
                dst = self._parse_dst(fields.get("dst"))
        except FieldError as exc:
            field = self._key if self._is_node or not (fields.get("src") or "").strip() else "dst"
            return Reject(row.source, row.line, field, str(exc))
        props: dict[str, Any] = {}
        for name, parse in self._prop_parsers:
            try:
                value = parse(fields.get(name))
            except FieldError as exc:
                return Reject(row.source, row.line, name, str(exc))
            if value is not None:
                props[name] = value
        if self._is_node:
            ident: Any = src
        else:
            if self._no_self_loops and src == dst:
                return Reject(row.source, row.line, "dst", f"self-loop not allowed for {self.kind.rel_type}")
            merge = props.pop(self._merge_on, self.default_merge) if self._merge_on else None
            ident = (src, dst, merge)
        seen = self._remember(ident, row.line, props)
        if seen == "repeat":
            self.duplicates += 1
            return None
        if seen != "new":
            field_name, first_line = seen
            return Reject(row.source, row.line, field_name, f"duplicate of line {first_line} with a different value")
        if self._is_node:
            return NodeRecord(row.source, row.line, src, props)
        return RelRecord(row.source, row.line, src, dst, merge, props)

    def _remember(self, ident: Any, line: int, props: dict[str, Any]) -> str | tuple[str, int]:
        """Returns ``"new"``, ``"repeat"`` (same values) or ``(field, first_line)`` of the first disagreeing field."""
        # Hashes, not values, are kept: a text property may be long.  Each field holds one type,
        # so equal hashes of values of that type mean equal values up to hash collisions.
        signature = tuple([hash(props.get(name)) for name in self._prop_names])
        previous = self._seen.get(ident)
        if previous is None:
            self._seen[ident] = (line, signature)
            return "new"
        first_line, first_signature = previous
        if first_signature == signature:
            return "repeat"
        for (name, _), old, new in zip(self._prop_parsers, first_signature, signature):
            if old != new:
                return name, first_line
        return "repeat"


def valid_records(
    rows: Iterable[RawRow | Reject], validator: Validator, on_reject: Callable[[Reject], None]
) -> Iterator[NodeRecord | RelRecord]:
    """Returns the valid records of ``rows`` lazily, passing every reject to ``on_reject`` and dropping exact repeats."""
    for row in rows:
        checked = row if isinstance(row, Reject) else validator.check(row)
        if isinstance(checked, Reject):
            on_reject(checked)
        elif checked is not None:
            yield checked
