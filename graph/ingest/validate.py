"""Validation of raw rows against their kind: types, ids, weights, text, duplicates, self-loops."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from graph.ingest.kinds import MAX_TEXT_CHARS, Field, FieldType, NodeKind, RelKind
from graph.ingest.rows import RawRow, Reject

TRUE = {"true", "1", "yes", "y", "t"}
FALSE = {"false", "0", "no", "n", "f", ""}


class FieldError(ValueError):
    """A single field's value is unacceptable; the message is the reason."""


def parse_value(field: Field, raw: str | None) -> Any:
    """Returns the typed value of ``raw`` for ``field``, or ``None`` when absent.

    Raises:
        FieldError: with the reason when the value is missing, unparsable or out of range.
    """
    if raw is None or raw == "" or (raw.strip() == "" and field.type is not FieldType.TEXT):
        if field.required:
            reasons = {FieldType.ID: "missing or empty id", FieldType.TEXT: "empty text"}
            raise FieldError(reasons.get(field.type, "missing value"))
        return None
    kind = field.type
    if kind is FieldType.ID:
        return raw.strip()
    if kind is FieldType.STRING:
        return raw
    if kind is FieldType.TEXT:
        if not raw.strip():
            raise FieldError("empty text")
        if len(raw) > MAX_TEXT_CHARS:
            raise FieldError(f"text too long: {len(raw)} characters, at most {MAX_TEXT_CHARS}")
        return raw
    if kind is FieldType.BOOL:
        lowered = raw.strip().lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise FieldError(f"not a boolean: {raw!r}")
    if kind is FieldType.INT:
        try:
            return int(raw)
        except ValueError:
            raise FieldError(f"unparsable integer: {raw!r}") from None
    if kind is FieldType.WEIGHT:
        try:
            value = float(raw)
        except ValueError:
            raise FieldError(f"unparsable number: {raw!r}") from None
        if math.isnan(value) or math.isinf(value):
            raise FieldError(f"weight is {raw!r}, not a finite number")
        if value < 0:
            raise FieldError(f"negative weight: {raw}")
        return value
    return _parse_datetime(raw)


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


@dataclass(frozen=True)
class NodeRecord:
    """A valid node row: its origin, key and properties (absent values left out)."""

    source: str
    line: int
    key: str
    props: dict[str, Any]


@dataclass(frozen=True)
class RelRecord:
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
        self._prop_fields = [f for f in kind.fields if not (isinstance(kind, NodeKind) and f.name == kind.key)]
        key = kind.key if isinstance(kind, NodeKind) else "src"
        self._key_field = Field(key, FieldType.ID, True)
        self._dst_field = Field("dst", FieldType.ID, True)

    def check(self, row: RawRow) -> NodeRecord | RelRecord | Reject | None:
        """Returns the typed record, a reject naming the field, or None for an exact duplicate."""
        try:
            if isinstance(self.kind, NodeKind):
                key = parse_value(self._key_field, row.fields.get(self.kind.key))
                ident: Any = key
            else:
                src = parse_value(self._key_field, row.fields.get("src"))
                dst = parse_value(self._dst_field, row.fields.get("dst"))
        except FieldError as exc:
            field = self.kind.key if isinstance(self.kind, NodeKind) else ("src" if not (row.fields.get("src") or "").strip() else "dst")
            return Reject(row.source, row.line, field, str(exc))
        props: dict[str, Any] = {}
        for field in self._prop_fields:
            try:
                value = parse_value(field, row.fields.get(field.name))
            except FieldError as exc:
                return Reject(row.source, row.line, field.name, str(exc))
            if value is not None:
                props[field.name] = value
        if isinstance(self.kind, RelKind):
            if src == dst and self.kind.src_label == self.kind.dst_label and not self.kind.self_loops:
                return Reject(row.source, row.line, "dst", f"self-loop not allowed for {self.kind.rel_type}")
            merge = props.pop(self.kind.merge_on, self.default_merge) if self.kind.merge_on else None
            ident = (src, dst, merge)
        seen = self._remember(ident, row.line, props)
        if seen == "repeat":
            self.duplicates += 1
            return None
        if seen != "new":
            field_name, first_line = seen
            return Reject(row.source, row.line, field_name, f"duplicate of line {first_line} with a different value")
        if isinstance(self.kind, NodeKind):
            return NodeRecord(row.source, row.line, key, props)
        return RelRecord(row.source, row.line, src, dst, merge, props)

    def _remember(self, ident: Any, line: int, props: dict[str, Any]) -> str | tuple[str, int]:
        """Returns ``"new"``, ``"repeat"`` (same values) or ``(field, first_line)`` of the first disagreeing field."""
        signature = tuple(hash(repr(props.get(f.name))) for f in self._prop_fields)
        previous = self._seen.get(ident)
        if previous is None:
            self._seen[ident] = (line, signature)
            return "new"
        first_line, first_signature = previous
        for field, old, new in zip(self._prop_fields, first_signature, signature):
            if old != new:
                return field.name, first_line
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
