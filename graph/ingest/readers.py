"""Readers that turn input files into :class:`RawRow` records or :class:`Reject` reasons.

Every reader works line by line and never stops at a bad record: decoding
errors, wrong column counts, quoted fields that span lines, and values of the
wrong JSON or Parquet type become rejects naming ``file:line:field``, and the
following records are still read.  A UTF-8 byte-order mark at the start of a
file is dropped; CRLF and CR line endings read as LF.
"""

from __future__ import annotations

import gzip

import csv
import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from pathlib import Path

from graph.ingest.kinds import FieldType, NodeKind, RelKind, kind_columns
from graph.ingest.rows import RawRow, Reject


class InputError(ValueError):
    """A whole file cannot be read (missing, unknown format, bad header)."""


def text_lines(path: Path, encoding: str) -> Iterator[str]:
    """Returns the file's lines lazily (a leading UTF-8 byte-order mark dropped; a ``.gz`` file
    decompressed as it is read); undecodable UTF-8 bytes become lone surrogates, not an error."""
    if encoding.lower().replace("_", "-") in {"utf-8", "utf8", "utf-8-sig"}:
        # utf-8-sig reads exactly as utf-8 but for a byte-order mark at the start; surrogateescape
        # keeps undecodable bytes visible per field instead of failing the whole file.
        encoding, errors = "utf-8-sig", "surrogateescape"
    else:
        errors = "strict"
    opened = gzip.open(path, "rt", encoding=encoding, errors=errors, newline="") if path.suffix == ".gz" else path.open(
        "r", encoding=encoding, errors=errors, newline=""
    )
    with opened as fh:
        yield from fh


_UNDECODABLE = re.compile("[\udc80-\udcff]")
"""The lone surrogates that ``surrogateescape`` puts in place of bytes that are not UTF-8."""
_SURROGATE = re.compile("[\ud800-\udfff]")
"""Any lone surrogate: a JSON ``\\ud83d`` escape without its pair is one, and no driver can send it."""
_UNDECODABLE_REASON = "bytes that are not valid UTF-8 (set the file's encoding)"


def _check_fields(
    source: str, line: int, columns: Sequence[str], values: Sequence[str]
) -> RawRow | Reject:
    if len(values) != len(columns):
        return Reject(source, line, "*", f"wrong column count: expected {len(columns)}, found {len(values)}")
    # One scan of the joined record is cheaper than one per field, and almost every record is clean.
    if _UNDECODABLE.search("".join(values)):
        name = next(name for name, value in zip(columns, values) if _UNDECODABLE.search(value))
        return Reject(source, line, name, _UNDECODABLE_REASON)
    return RawRow(source, line, dict(zip(columns, values)))


def read_csv(
    path: Path, *, encoding: str = "utf-8", delimiter: str = ",", columns: Sequence[str] | None = None
) -> tuple[list[str], Iterator[RawRow | Reject]]:
    """Reads a delimited file with a header line (unless ``columns`` is given).

    Returns:
        ``(columns, records)``: the column names and a lazy iterator of rows or rejects.

    Raises:
        InputError: when the file is missing or its header line cannot be read.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file")
    source = str(path)
    reader = csv.reader(text_lines(path, encoding), delimiter=delimiter, strict=True)
    if columns is None:
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{source}:1:header: empty file, expected a header line") from None
        except csv.Error as exc:
            raise InputError(f"{source}:1:header: {exc}") from None
        columns = [name.strip() for name in header]
        twice = next((name for i, name in enumerate(columns) if name in columns[:i]), None)
        if twice is not None:
            raise InputError(f"{source}:1:{twice}: column named twice in the header")
    return list(columns), _csv_records(reader, source, list(columns))


def _csv_records(reader: "csv._reader", source: str, columns: list[str]) -> Iterator[RawRow | Reject]:
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if str(exc).startswith("field larger than field limit"):
                reason = f"a field longer than {csv.field_size_limit():,} characters, longer than any value accepted"
            else:
                reason = f"malformed quoting: {exc}"
            yield Reject(source, start, "*", reason)
            last_line = reader.line_num
            continue
        last_line = reader.line_num
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        if last_line > start:
            field = next((c for c, v in zip(columns, values) if "\n" in v or "\r" in v), "*")
            yield Reject(source, start, field, f"quoted field with embedded newline (record spans lines {start}-{last_line})")
            continue
        yield _check_fields(source, start, columns, values)


def read_whitespace(
    path: Path, columns: Sequence[str], *, optional: int = 0, encoding: str = "utf-8", header: bool | None = None
) -> Iterator[RawRow | Reject]:
    """Reads a tab- or space-separated list such as ``user item [weight]``.

    Args:
        columns: column names in order; the last ``optional`` of them may be missing.
        header: True/False to say whether the first line is a header; None to
            detect it: a first line made only of words such as ``user``, ``item``,
            ``weight``, ``src``, ``dst`` (see :data:`HEADER_WORDS`) is a header.

    Returns:
        A lazy iterator of rows (absent optional columns are ``None``) or rejects.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file")
    source = str(path)
    required = len(columns) - optional
    for number, text in enumerate(text_lines(path, encoding), start=1):
        tokens = text.split()
        if not tokens:
            continue
        if number == 1 and (header is True or (header is None and _looks_like_header(tokens))):
            continue
        if not required <= len(tokens) <= len(columns):
            expected = str(len(columns)) if optional == 0 else f"{required} to {len(columns)}"
            yield Reject(source, number, "*", f"wrong column count: expected {expected}, found {len(tokens)}")
            continue
        if _UNDECODABLE.search(text):
            name = next(name for name, token in zip(columns, tokens) if _UNDECODABLE.search(token))
            yield Reject(source, number, name, _UNDECODABLE_REASON)
            continue
        yield RawRow(source, number, dict(zip(columns, [*tokens, *[None] * (len(columns) - len(tokens))])))


HEADER_WORDS = frozenset(
    "user users item items weight count rating src dst source target from to node id uid iid".split()
)
"""Words that mark a first line as a header when ``header`` is not given."""


def _looks_like_header(tokens: list[str]) -> bool:
    normalised = [tok.lower().replace("_", "").removesuffix("id") or "id" for tok in tokens]
    return all(tok in HEADER_WORDS for tok in normalised)


_ACCEPTED: dict[FieldType, tuple[type, ...]] = {
    FieldType.ID: (str, int),
    FieldType.STRING: (str,),
    FieldType.TEXT: (str,),
    FieldType.BOOL: (str, bool, int),
    FieldType.INT: (str, int),
    FieldType.WEIGHT: (str, int, float),
    FieldType.DATETIME: (str, int, float, date),
}
"""The value types a field takes from a typed format (JSON, Parquet).  Each is read as the string a
CSV would hold, so a number is no id unless it is an integer (``1e3`` would become ``"1000.0"``),
and a list, object or binary value is refused rather than stored as its Python spelling."""

_EXPECTED = {
    FieldType.ID: "a string or an integer",
    FieldType.STRING: "a string",
    FieldType.TEXT: "a string",
    FieldType.BOOL: "a boolean",
    FieldType.INT: "an integer",
    FieldType.WEIGHT: "a number",
    FieldType.DATETIME: "a date-time, a string or Unix seconds",
}
_JSON_TYPES = {dict: "an object", list: "an array", bool: "a boolean", int: "an integer", float: "a floating-point number", str: "a string"}


def _field_types(kind: NodeKind | RelKind) -> dict[str, FieldType]:
    """Returns the type of every column a file of ``kind`` may have, in canonical order."""
    ids = {} if isinstance(kind, NodeKind) else {"src": FieldType.ID, "dst": FieldType.ID}
    return {**ids, **{f.name: f.type for f in kind.fields}}


def read_jsonl(path: Path, kind: NodeKind | RelKind, *, encoding: str = "utf-8") -> Iterator[RawRow | Reject]:
    """Reads one JSON object per line; keys are the column names of ``kind``.

    Returns:
        A lazy iterator of rows (values as strings, ``None`` for null or absent) or rejects:
        a line that is not one JSON object, an unknown key, a value of a type the field does
        not take (see :data:`_ACCEPTED`), undecodable bytes or a lone surrogate escape.
    """
    source = str(path)
    types = _field_types(kind)
    columns = list(types)
    allowed = set(columns)
    for number, text in enumerate(text_lines(path, encoding), start=1):
        if not text.strip():
            continue
        undecodable = _UNDECODABLE.search(text) is not None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            reason = _UNDECODABLE_REASON if undecodable else f"invalid JSON: {exc.msg} at column {exc.colno}"
            yield Reject(source, number, "*", reason)
            continue
        if not isinstance(obj, dict):
            yield Reject(source, number, "*", f"expected a JSON object, found {_JSON_TYPES.get(type(obj), 'null')}")
            continue
        unknown = sorted(set(obj) - allowed)
        if unknown:
            yield Reject(source, number, unknown[0], f"unknown field; allowed: {', '.join(columns)}")
            continue
        yield _json_row(source, number, obj, types, check_surrogates=undecodable or "\\u" in text)


def _json_row(source: str, number: int, obj: dict, types: dict[str, FieldType], check_surrogates: bool) -> RawRow | Reject:
    fields: dict[str, str | None] = {}
    for name, field_type in types.items():
        value = obj.get(name)
        if value is None or value.__class__ is str:
            fields[name] = value
        elif value.__class__ in _ACCEPTED[field_type]:
            fields[name] = _to_str(value)
        else:
            return Reject(source, number, name, f"{_JSON_TYPES[value.__class__]} where {_EXPECTED[field_type]} is expected")
    if check_surrogates:
        for name, value in fields.items():
            if value is not None and _SURROGATE.search(value):
                reason = _UNDECODABLE_REASON if _UNDECODABLE.search(value) else "a lone surrogate escape, not a character"
                return Reject(source, number, name, reason)
    return RawRow(source, number, fields)


def _arrow_type(arrow: object) -> type | None:
    """Returns the Python type a Parquet column's values arrive as, or None for one no field takes."""
    import pyarrow as pa

    t = arrow.value_type if pa.types.is_dictionary(arrow) else arrow  # type: ignore[attr-defined]
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return str
    if pa.types.is_boolean(t):
        return bool
    if pa.types.is_integer(t):
        return int
    if pa.types.is_floating(t):
        return float
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return date
    return None


def read_parquet(path: Path, kind: NodeKind | RelKind) -> Iterator[RawRow | Reject]:
    """Reads a Parquet file in record batches; the record number stands in for the line.

    Returns:
        A lazy iterator of rows (columns the file lacks are ``None``), or rejects for the
        records that have a value in a column of a type its field does not take.

    Raises:
        InputError: when the file is not Parquet, cannot be read to its end, or has a column
            that ``kind`` does not have.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = str(path)
    types = _field_types(kind)
    columns = list(types)
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{source}: not a readable Parquet file: {exc}") from None
    schema = parquet.schema_arrow
    unknown = sorted(set(schema.names) - set(columns))
    if unknown:
        raise InputError(f"{source}:0:{unknown[0]}: unknown column; allowed: {', '.join(columns)}")
    wrong = {
        name: f"Parquet column of type {schema.field(name).type} where {_EXPECTED[types[name]]} is expected"
        for name in schema.names
        if schema.field(name).type != pa.null() and _arrow_type(schema.field(name).type) not in _ACCEPTED[types[name]]
    }
    number = 0
    batches = parquet.iter_batches(batch_size=65_536)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{source}:{number + 1}: Parquet file unreadable after record {number}: {exc}") from None
        data = batch.to_pydict()
        for i in range(batch.num_rows):
            number += 1
            bad = next((name for name in wrong if data[name][i] is not None), None) if wrong else None
            if bad is not None:
                yield Reject(source, number, bad, wrong[bad])
                continue
            yield RawRow(source, number, {c: _to_str(data[c][i]) if c in data else None for c in columns})


def _to_str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_canonical(path: Path, kind: NodeKind | RelKind, *, encoding: str = "utf-8") -> Iterable[RawRow | Reject]:
    """Reads a canonical file of ``kind``; the format follows the extension (.csv, .tsv, .jsonl, .parquet).

    Returns:
        A lazy iterable of rows or rejects.

    Raises:
        InputError: naming the file when its format or header is unusable.
    """
    allowed = kind_columns(kind)
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if suffix in {".csv", ".tsv"}:
        columns, records = read_csv(path, encoding=encoding, delimiter="\t" if suffix == ".tsv" else ",")
        unknown = [c for c in columns if c not in allowed]
        if unknown:
            raise InputError(f"{path}:1:{unknown[0]}: unknown column; allowed: {', '.join(allowed)}")
        return records
    if suffix in {".jsonl", ".ndjson"}:
        return read_jsonl(path, kind, encoding=encoding)
    if suffix == ".parquet":
        return read_parquet(path, kind)
    raise InputError(f"{path}: unknown format {suffix!r}; use .csv, .tsv, .jsonl or .parquet")
