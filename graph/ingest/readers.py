"""Readers that turn input files into :class:`RawRow` records or :class:`Reject` reasons.

Every reader works line by line and never stops at a bad record: decoding
errors, wrong column counts and quoted fields that span lines become rejects
naming ``file:line:field``, and the following records are still read.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from graph.ingest.kinds import NodeKind, RelKind, kind_columns
from graph.ingest.rows import RawRow, Reject


class InputError(ValueError):
    """A whole file cannot be read (missing, unknown format, bad header)."""


def text_lines(path: Path, encoding: str) -> Iterator[str]:
    """Returns the file's lines lazily; undecodable UTF-8 bytes become lone surrogates, not an error."""
    # surrogateescape keeps undecodable bytes visible per field instead of failing the whole file.
    errors = "surrogateescape" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else "strict"
    with path.open("r", encoding=encoding, errors=errors, newline="") as fh:
        yield from fh


def _has_undecodable(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _check_fields(
    source: str, line: int, columns: Sequence[str], values: Sequence[str]
) -> RawRow | Reject:
    if len(values) != len(columns):
        return Reject(source, line, "*", f"wrong column count: expected {len(columns)}, found {len(values)}")
    for name, value in zip(columns, values):
        if _has_undecodable(value):
            return Reject(source, line, name, "bytes that are not valid UTF-8 (set the file's encoding)")
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
            raise InputError(f"{source}:1: empty file, expected a header line") from None
        except csv.Error as exc:
            raise InputError(f"{source}:1:header: {exc}") from None
        columns = [name.strip().lstrip("\ufeff") for name in header]
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
            yield Reject(source, start, "*", f"malformed quoting: {exc}")
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
        padded = list(tokens) + [None] * (len(columns) - len(tokens))
        row = _check_fields(source, number, columns[: len(tokens)], tokens)
        if isinstance(row, RawRow):
            row = RawRow(source, number, dict(zip(columns, padded)))
        yield row


HEADER_WORDS = frozenset(
    "user users item items weight count rating src dst source target from to node id uid iid".split()
)
"""Words that mark a first line as a header when ``header`` is not given."""


def _looks_like_header(tokens: list[str]) -> bool:
    normalised = [tok.lower().replace("_", "").removesuffix("id") or "id" for tok in tokens]
    return all(tok in HEADER_WORDS for tok in normalised)


def read_jsonl(path: Path, columns: Sequence[str], *, encoding: str = "utf-8") -> Iterator[RawRow | Reject]:
    """Reads one JSON object per line; keys are column names.

    Returns:
        A lazy iterator of rows (values as strings, ``None`` for null or absent) or rejects.
    """
    source = str(path)
    allowed = set(columns)
    for number, text in enumerate(text_lines(path, encoding), start=1):
        if not text.strip():
            continue
        if _has_undecodable(text):
            yield Reject(source, number, "*", "bytes that are not valid UTF-8 (set the file's encoding)")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Reject(source, number, "*", f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield Reject(source, number, "*", "expected a JSON object")
            continue
        unknown = sorted(set(obj) - allowed)
        if unknown:
            yield Reject(source, number, unknown[0], f"unknown field; allowed: {', '.join(columns)}")
            continue
        yield RawRow(source, number, {name: _to_str(obj.get(name)) for name in columns})


def read_parquet(path: Path, columns: Sequence[str]) -> Iterator[RawRow | Reject]:
    """Reads a Parquet file in record batches; the record number stands in for the line.

    Returns:
        A lazy iterator of rows; columns the file lacks are ``None``.
    """
    import pyarrow.parquet as pq

    source = str(path)
    parquet = pq.ParquetFile(path)
    present = [c for c in parquet.schema_arrow.names]
    unknown = sorted(set(present) - set(columns))
    if unknown:
        raise InputError(f"{source}:0:{unknown[0]}: unknown column; allowed: {', '.join(columns)}")
    number = 0
    for batch in parquet.iter_batches(batch_size=65_536):
        data = batch.to_pydict()
        for i in range(batch.num_rows):
            number += 1
            yield RawRow(source, number, {c: _to_str(data[c][i]) if c in data else None for c in columns})


def _to_str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
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
        return read_jsonl(path, allowed, encoding=encoding)
    if suffix == ".parquet":
        return read_parquet(path, allowed)
    raise InputError(f"{path}: unknown format {suffix!r}; use .csv, .tsv, .jsonl or .parquet")
