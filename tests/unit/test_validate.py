"""Column-at-a-time validation: typed values, rejects naming the first bad field, duplicates across chunks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from graph.ingest.kinds import FOLLOWS, INTERACTED, USERS, Field, FieldType
from graph.ingest.rows import RawRow, Reject
from graph.ingest.validate import Validator, parse_column, parse_each
from graph.store import batched

SOURCE = "input.csv"


def interaction(line: int, src: str | None, dst: str | None, kind: str | None = "like", weight: str | None = "1", at: str | None = None) -> RawRow:
    return RawRow(SOURCE, line, {"src": src, "dst": dst, "kind": kind, "weight": weight, "at": at})


INTERACTIONS: list[RawRow | Reject] = [
    interaction(2, "u1", "p1"),
    interaction(3, "u1", "p1"),
    interaction(4, "u1", "p1", weight="2"),
    interaction(5, "u1", "p1", kind="repost"),
    Reject(SOURCE, 6, "*", "wrong column count: expected 5, found 7"),
    interaction(7, "", "p1"),
    interaction(8, "u2", "  "),
    interaction(9, "u2", "p1", weight="lots"),
    interaction(10, "u2", "p2", weight="NaN"),
    interaction(11, "u2", "p3", weight="-1"),
    interaction(12, "u2", "p4", weight=None),
    interaction(13, "u2", "p5", kind=None),
    interaction(14, "u2", "p6", at="2026-01-01T00:00:00Z"),
    interaction(15, "u2", "p7", weight="lots", at="garbage"),
    interaction(16, "u3", "p8", at="garbage"),
    interaction(17, " u4 ", "p9", weight=" 2.5 "),
    interaction(18, "u2", "p5", kind=None),
]


def run(kind: Any, rows: list[RawRow | Reject], chunk: int) -> tuple[list[tuple], list[Reject], int]:
    """Validates ``rows`` in chunks of ``chunk``; returns every valid row as a tuple, the rejects and the duplicates."""
    validator = Validator(kind)
    valid: list[tuple] = []
    rejects: list[Reject] = []
    for part in batched(rows, chunk):
        checked, found = validator.check(part)
        props = [dict(zip(checked.props, values)) for values in zip(*checked.props.values())] or [{}] * len(checked.keys)
        dsts = checked.dsts or [None] * len(checked.keys)
        merges = checked.merges or [None] * len(checked.keys)
        valid += [
            (source, line, key, dst, merge, tuple(sorted(p.items())))
            for source, line, key, dst, merge, p in zip(checked.sources, checked.lines, checked.keys, dsts, merges, props)
        ]
        rejects += found
    return valid, rejects, validator.duplicates


def test_rows_get_typed_values_and_rejects_name_the_first_bad_field() -> None:
    valid, rejects, duplicates = run(INTERACTED, INTERACTIONS, len(INTERACTIONS))
    assert [(r.line, r.field) for r in rejects] == [
        (4, "weight"),
        (6, "*"),
        (7, "src"),
        (8, "dst"),
        (9, "weight"),
        (10, "weight"),
        (11, "weight"),
        (15, "weight"),
        (16, "at"),
    ]
    reasons = {r.line: r.reason for r in rejects}
    assert reasons[4] == "duplicate of line 2 with a different value"
    assert reasons[7] == reasons[8] == "missing or empty id"
    assert "unparsable number" in reasons[9] and "not a finite number" in reasons[10] and "negative weight" in reasons[11]
    assert "unparsable date-time" in reasons[16]
    assert duplicates == 2, "line 3 repeats line 2, line 18 repeats line 13"
    by_line = {row[1]: row for row in valid}
    assert sorted(by_line) == [2, 5, 12, 13, 14, 17]
    assert by_line[2][2:5] == ("u1", "p1", "like") and by_line[5][4] == "repost"
    assert dict(by_line[12][5])["weight"] is None
    assert by_line[13][4] == "interaction", "an absent merge value falls back to the default"
    assert dict(by_line[14][5])["at"] == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert by_line[17][2] == "u4" and dict(by_line[17][5])["weight"] == 2.5


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_chunking_changes_nothing(chunk: int) -> None:
    assert run(INTERACTED, INTERACTIONS, chunk) == run(INTERACTED, INTERACTIONS, len(INTERACTIONS))


def test_row_maps_are_flat_and_leave_out_properties_no_row_has() -> None:
    checked, _ = Validator(INTERACTED).check([interaction(2, "u1", "p1"), interaction(3, "u1", "p2", weight=None)])
    assert checked.row_maps(src=checked.keys, dst=checked.dsts) == [
        {"src": "u1", "dst": "p1", "weight": 1.0},
        {"src": "u1", "dst": "p2", "weight": None},
    ]
    with pytest.raises(ValueError, match="clash"):
        checked.row_maps(weight=checked.keys)


def test_nodes_and_self_loops() -> None:
    users = [
        RawRow(SOURCE, 2, {"id": "u1", "name": "Ann", "opt_out": "yes", "community": "3"}),
        RawRow(SOURCE, 3, {"id": "u2", "name": "  ", "bio": "  ", "opt_out": "no"}),
        RawRow(SOURCE, 4, {"id": "u3", "opt_out": "maybe"}),
        RawRow(SOURCE, 5, {"id": "u1", "name": "Bea", "opt_out": "yes", "community": "3"}),
        RawRow(SOURCE, 6, {"id": "u4", "community": "3.5"}),
        RawRow(SOURCE, 7, {"id": "u5", "name": "Cy"}),
    ]
    valid, rejects, _ = run(USERS, users, 2)
    assert [(r.line, r.field) for r in rejects] == [(3, "bio"), (4, "opt_out"), (5, "name"), (6, "community")]
    assert [(row[2], dict(row[5])) for row in valid] == [
        ("u1", {"name": "Ann", "bio": None, "opt_out": True, "community": 3}),
        ("u5", {"name": "Cy", "bio": None, "opt_out": None, "community": None}),
    ]
    follows = [RawRow(SOURCE, 2, {"src": "a", "dst": "a"}), RawRow(SOURCE, 3, {"src": "a", "dst": "b"})]
    valid, rejects, _ = run(FOLLOWS, follows, 10)
    assert [(r.line, r.field, r.reason) for r in rejects] == [(2, "dst", "self-loop not allowed for FOLLOWS")]
    assert [(row[2], row[3], row[4]) for row in valid] == [("a", "b", None)]


@dataclass(frozen=True)
class Err:
    """An expected error: ``part`` of its reason."""

    part: str


UTC = timezone.utc
EXPECTED: dict[FieldType, list[tuple[str, Any]]] = {
    FieldType.ID: [
        (" a", "a"),
        ("b ", "b"),
        ("caf\u00e9", "caf\u00e9"),
        ("g\u0430", "g\u0430"),
        ("x" * 1000, "x" * 1000),
        ("u\t1", Err("U+0009, a control character")),
        ("u\n1", Err("U+000A, a control character")),
        ("g\u200b", Err("U+200B, an invisible format character")),
        ("cafe\u0301", Err("not in Unicode NFC")),
        ("x" * 1001, Err("id too long: 1001 characters, at most 1000")),
    ],
    FieldType.STRING: [
        ("x", "x"),
        (" y ", " y "),
        ("Ann\tLee", "Ann\tLee"),
        ("s" * 20_000, "s" * 20_000),
        ("B\x00o", Err("NUL character")),
        ("s" * 20_001, Err("string too long")),
    ],
    FieldType.INT: [
        ("1", 1),
        (" 2", 2),
        ("-3", -3),
        (str(2**63 - 1), 2**63 - 1),
        (str(-(2**63)), -(2**63)),
        ("3.5", Err("unparsable integer")),
        ("bad", Err("unparsable integer")),
        (str(2**63), Err("out of the 64-bit range")),
    ],
    FieldType.WEIGHT: [
        ("1", 1.0),
        ("2.5e1", 25.0),
        (" 0 ", 0.0),
        ("-0.0", 0.0),
        ("1_0", 10.0),
        ("bad", Err("unparsable number")),
        ("inf", Err("not a finite number")),
        ("NaN", Err("not a finite number")),
        ("1e309", Err("not a finite number")),
        ("-1", Err("negative weight")),
    ],
    FieldType.BOOL: [
        ("true", True),
        ("0", False),
        ("Y", True),
        (" yes ", True),
        ("F", False),
        ("2", Err("not a boolean")),
        ("maybe", Err("not a boolean")),
    ],
    FieldType.TEXT: [
        ("hello", "hello"),
        (" there ", " there "),
        ("t" * 20_000, "t" * 20_000),
        ("t\x00", Err("NUL character")),
        ("t" * 20_001, Err("text too long: 20001 characters")),
    ],
    FieldType.DATETIME: [
        ("1700000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("0", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2026-01-02T03:04:05+02:00", datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)),
        ("2026-01-02", datetime(2026, 1, 2, tzinfo=UTC)),
        ("-1", Err("negative Unix time")),
        ("1969-12-31T23:59:59Z", Err("date-time before 1970")),
        ("1700000000000", Err("seconds expected, not milliseconds")),
        ("nan", Err("not a date-time")),
        ("garbage", Err("unparsable date-time")),
    ],
}
"""Per type, raw values and what each parses to (or the error), written by hand."""

MISSING = {FieldType.ID: "missing or empty id", FieldType.TEXT: "empty text"}


def absent(field: Field) -> list[tuple[str | None, Any]]:
    """Absent values: ``None`` when the field is optional, else the missing-value error; blank
    text is an error of its own either way."""
    missing: Any = Err(MISSING.get(field.type, "missing value")) if field.required else None
    blank = Err("empty text") if field.type is FieldType.TEXT else missing
    return [(None, missing), ("", missing), ("   ", blank)]


def assert_parsed(got: tuple[list[Any], dict[int, str]], want: list[Any]) -> None:
    parsed, errors = got
    assert len(parsed) == len(want)
    for i, (value, expected) in enumerate(zip(parsed, want)):
        if isinstance(expected, Err):
            assert value is None and i in errors and expected.part in errors[i], (i, value, errors.get(i))
        else:
            assert i not in errors, errors[i]
            assert value == expected and type(value) is type(expected), (i, value, expected)
    assert set(errors) == {i for i, expected in enumerate(want) if isinstance(expected, Err)}


@pytest.mark.parametrize("field_type", list(EXPECTED))
@pytest.mark.parametrize("required", [False, True])
def test_a_column_parses_to_the_values_written_by_hand(field_type: FieldType, required: bool) -> None:
    field = Field("f", field_type, required)
    good = [(raw, want) for raw, want in EXPECTED[field_type] if not isinstance(want, Err)]
    spoils = [(raw, want) for raw, want in EXPECTED[field_type] if isinstance(want, Err)] + absent(field)
    raws, wants = [raw for raw, _ in good], [want for _, want in good]
    for parse in (parse_column, parse_each):
        assert_parsed(parse(field, raws), wants)
        for raw, want in spoils:
            # One bad or absent value among clean ones: the column path falls back value by value.
            assert_parsed(parse(field, [*raws, raw, *raws]), [*wants, want, *wants])
        assert_parsed(parse(field, [raw for raw, _ in spoils]), [want for _, want in spoils])
