"""Malformed inputs, one class each, loaded through the real loader into the real test Neo4j.

Each case is a directory of canonical files loaded after a good graph: the bad records are
rejected as ``file:line:field: reason`` (or, when the file as a whole is unusable, the load stops
with an :class:`InputError` naming ``file:line:field``), the good records of the same file load
with exactly their values, and nothing written before is lost.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graph.changes import STAMP
from graph.ingest.loader import Loader, LoadSummary, RejectLog
from graph.ingest.readers import InputError
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.store import GraphStore

pytestmark = pytest.mark.faults

Content = str | bytes | pa.Table


@dataclass(frozen=True)
class Case:
    """Files to load, what is rejected, and what loads.

    Attributes:
        files: file name -> content (text is written as UTF-8 without newline translation).
        rejects: ``(file name, line, field, part of the reason)`` in file order.
        loads: ``(query returning one value v, expected v)`` for the good records.
        fails: the start of the :class:`InputError` message after the file's path, when the
            whole file is refused.
        setup: Cypher run on the good graph before the load.
    """

    files: dict[str, Content]
    rejects: list[tuple[str, int, str, str]] = field(default_factory=list)
    loads: list[tuple[str, Any]] = field(default_factory=list)
    fails: str | None = None
    setup: str | None = None


def user(uid: str, prop: str) -> str:
    return f"MATCH (u:User {{id: '{uid}'}}) RETURN u.{prop} AS v"


def exists(label: str, key: str) -> tuple[str, Any]:
    return (f"MATCH (n:{label} {{id: '{key}'}}) RETURN count(n) AS v", 1)


TEN_MB = "x" * (10 * 1024 * 1024)

CASES: dict[str, Case] = {
    "jsonl line that is not an object": Case(
        {"users.jsonl": '{"id": "g1", "name": "Good"}\n["g2", "Array"]\n"g3"\n{"id": "g4"}\n'},
        [("users.jsonl", 2, "*", "expected a JSON object, found an array"), ("users.jsonl", 3, "*", "found a string")],
        [(user("g1", "name"), "Good"), exists("User", "g4")],
    ),
    "jsonl line with trailing garbage": Case(
        {"users.jsonl": '{"id": "g1"} {"id": "g2"}\n{"id": "g3", "name": "Cy"}\n'},
        [("users.jsonl", 1, "*", "invalid JSON: Extra data")],
        [(user("g3", "name"), "Cy"), ("MATCH (u:User {id: 'g2'}) RETURN count(u) AS v", 0)],
    ),
    "json number where a string id is expected": Case(
        {"users.jsonl": '{"id": 7, "name": "Seven"}\n{"id": 1e3, "name": "Float"}\n{"id": true}\n'},
        [
            ("users.jsonl", 2, "id", "a floating-point number where a string or an integer is expected"),
            ("users.jsonl", 3, "id", "a boolean where a string or an integer is expected"),
        ],
        [(user("7", "name"), "Seven"), ("MATCH (u:User) WHERE u.id IN ['1000.0', 'true'] RETURN count(u) AS v", 0)],
    ),
    "json object where a string is expected": Case(
        {"users.jsonl": '{"id": "g1", "name": {"first": "Ann"}}\n{"id": "g2", "name": "Bo", "opt_out": true}\n'},
        [("users.jsonl", 1, "name", "an object where a string is expected")],
        [(user("g2", "opt_out"), True), ("MATCH (u:User {id: 'g1'}) RETURN count(u) AS v", 0)],
    ),
    "json escape of a lone surrogate": Case(
        {"users.jsonl": '{"id": "g1", "bio": "broken \\ud83d emoji"}\n{"id": "g2", "bio": "paired \\ud83d\\ude00"}\n'},
        [("users.jsonl", 1, "bio", "lone surrogate")],
        [(user("g2", "bio"), "paired \U0001f600")],
    ),
    "invalid utf-8 in the middle of a jsonl line": Case(
        {"users.jsonl": b'{"id": "g1", "name": "Zo\xe9 M", "bio": "fine"}\n{"id": "g2", "name": "Zo\xc3\xa9"}\n'},
        [("users.jsonl", 1, "name", "not valid UTF-8")],
        [(user("g2", "name"), "Zoé")],
    ),
    "jsonl file with a byte-order mark": Case(
        {"users.jsonl": '\ufeff{"id": "g1", "name": "First"}\n{"id": "g2"}\n'},
        [],
        [(user("g1", "name"), "First"), exists("User", "g2")],
    ),
    "csv with a byte-order mark and a quoted header": Case(
        {"users.csv": '\ufeff"id","name",bio\ng1,Ann,hello\n'},
        [],
        [(user("g1", "name"), "Ann"), (user("g1", "bio"), "hello")],
    ),
    "crlf and cr line endings": Case(
        {
            "users.csv": 'id,name,opt_out\r\ng1,"Ann, A",true\r\ng2,Bo,maybe\r\ng3,Cy,false\r\n',
            "follows.csv": "src,dst\rg1,g3\rg3,g3\rg3,g1\r",
        },
        [("users.csv", 3, "opt_out", "not a boolean"), ("follows.csv", 3, "dst", "self-loop")],
        [
            (user("g1", "name"), "Ann, A"),
            (user("g3", "opt_out"), False),
            ("MATCH (a:User)-[:FOLLOWS]->(b:User) WHERE a.id STARTS WITH 'g' RETURN collect(a.id + '>' + b.id) AS v", ["g1>g3", "g3>g1"]),
        ],
    ),
    "nul byte": Case(
        {"users.csv": "id,name\ng1,Ann\ng2,B\x00o\n"},
        [("users.csv", 3, "name", "NUL character")],
        [(user("g1", "name"), "Ann"), ("MATCH (u:User {id: 'g2'}) RETURN count(u) AS v", 0)],
    ),
    "id with a newline": Case(
        {"users.jsonl": '{"id": "g\\n2", "name": "Two lines"}\n{"id": " g3\\n", "name": "Trailing"}\n'},
        [("users.jsonl", 1, "id", "U+000A, a control character")],
        [(user("g3", "name"), "Trailing")],
    ),
    "tab inside a quoted csv field": Case(
        {"users.csv": 'id,name\n"g\t1",Tab\ng2,"Ann\tLee"\n'},
        [("users.csv", 2, "id", "U+0009, a control character")],
        [(user("g2", "name"), "Ann\tLee")],
    ),
    "id not in unicode nfc (a confusable spelling)": Case(
        {"users.csv": "id,name\ncafe\u0301,Decomposed\ncaf\u00e9,Composed\ng\u0430,Cyrillic a\n"},
        [("users.csv", 2, "id", "not in Unicode NFC")],
        [(user("caf\u00e9", "name"), "Composed"), (user("g\u0430", "name"), "Cyrillic a")],
    ),
    "id with an invisible character": Case(
        {"follows.csv": "src,dst\nu1\u200b,u2\nu1,u3\nu2,u3\u00a0x\n"},
        [("follows.csv", 2, "src", "U+200B, an invisible format character"), ("follows.csv", 4, "dst", "U+00A0, a space other than ' '")],
        [("MATCH (:User {id: 'u1'})-[:FOLLOWS]->(b:User {id: 'u3'}) RETURN count(b) AS v", 1)],
    ),
    "overlong id": Case(
        {"users.csv": f"id,name\n{'x' * 10_000},Long\ng2,Short\n"},
        [("users.csv", 2, "id", "id too long: 10000 characters, at most 1000")],
        [(user("g2", "name"), "Short")],
    ),
    "10 mb single line": Case(
        {"posts.csv": f"id,text\ng1,hello\ng2,{TEN_MB}\ng3,bye\n"},
        [("posts.csv", 3, "*", "a field longer than 131,072 characters")],
        [("MATCH (p:Post {id: 'g1'}) RETURN p.text AS v", "hello"), ("MATCH (p:Post {id: 'g3'}) RETURN p.text AS v", "bye")],
    ),
    "negative timestamp and a date before 1970": Case(
        {"posts.csv": "id,text,created_at\ng1,a,1700000000\ng2,b,-1\ng3,c,1969-07-20T20:17:00Z\ng4,d,1970-01-01T00:00:00Z\n"},
        [("posts.csv", 3, "created_at", "negative Unix time"), ("posts.csv", 4, "created_at", "before 1970")],
        [
            ("MATCH (p:Post {id: 'g1'}) RETURN p.created_at.epochSeconds AS v", 1_700_000_000),
            ("MATCH (p:Post {id: 'g4'}) RETURN p.created_at.epochSeconds AS v", 0),
        ],
    ),
    "timestamp in milliseconds": Case(
        {"interacted.csv": "src,dst,kind,at\nu1,p1,like,1700000000\nu1,p2,like,1700000000000\n"},
        [("interacted.csv", 3, "at", "seconds expected, not milliseconds")],
        [("MATCH (:User {id: 'u1'})-[r:INTERACTED]->(:Post {id: 'p1'}) RETURN r.at.epochSeconds AS v", 1_700_000_000)],
    ),
    "weight that overflows to infinity": Case(
        {"interacted.csv": "src,dst,kind,weight\nu1,p1,like,2\nu1,p2,like,1e309\n"},
        [("interacted.csv", 3, "weight", "not a finite number")],
        [("MATCH (:User {id: 'u1'})-[r:INTERACTED]->(:Post {id: 'p1'}) RETURN r.weight AS v", 2.0)],
    ),
    "integer beyond 64 bits": Case(
        {"users.csv": "id,community\ng1,3\ng2,18446744073709551616\n"},
        [("users.csv", 3, "community", "out of the 64-bit range")],
        [(user("g1", "community"), 3)],
    ),
    "opt_out of 2": Case(
        {"users.csv": "id,opt_out\ng1,1\ng2,2\ng3,yes\n"},
        [("users.csv", 3, "opt_out", "not a boolean")],
        [(user("g1", "opt_out"), True), (user("g3", "opt_out"), True)],
    ),
    "unterminated quote at the end of the file": Case(
        {"users.csv": 'id,name\ng1,Ann\ng2,"Bo\n'},
        [("users.csv", 3, "*", "malformed quoting: unexpected end of data")],
        [(user("g1", "name"), "Ann")],
    ),
    "interaction to a deleted post": Case(
        {"interacted.csv": "src,dst,kind\nu1,p1,like\nu1,p2,like\n"},
        [("interacted.csv", 3, "dst", "edge to unknown node: no Post 'p2'")],
        [
            ("MATCH (:User {id: 'u1'})-[r:INTERACTED]->(:Post {id: 'p1'}) RETURN r.kind AS v", "like"),
            ("MATCH (p:Post {id: 'p2'}) RETURN count(p) AS v", 0),
        ],
        setup="MATCH (p:Post {id: 'p2'}) DETACH DELETE p",
    ),
    "parquet column of a wrong type": Case(
        {"users.parquet": pa.table({"id": ["g1", "g2", "g3"], "bio": pa.array([None, ["a", "b"], None], pa.list_(pa.string()))})},
        [("users.parquet", 2, "bio", "Parquet column of type list<element: string> where a string is expected")],
        [exists("User", "g1"), exists("User", "g3"), ("MATCH (u:User {id: 'g2'}) RETURN count(u) AS v", 0)],
    ),
    "parquet with nulls in the id column": Case(
        {"users.parquet": pa.table({"id": ["g1", None, "g3"], "name": ["Ann", "Nobody", "Cy"]})},
        [("users.parquet", 2, "id", "missing or empty id")],
        [(user("g1", "name"), "Ann"), (user("g3", "name"), "Cy")],
    ),
    "file that is not parquet": Case({"users.parquet": b"PAR1 this is not a parquet file"}, fails=": not a readable Parquet file"),
    "duplicate header column": Case({"users.csv": "id,name,name\ng1,Ann,Bea\n"}, fails=":1:name: column named twice in the header"),
    "empty file": Case({"users.csv": ""}, fails=":1:header: empty file"),
    "header-only file": Case({"users.csv": "id,name\n", "follows.csv": "src,dst\r\n"}, []),
}
"""Malformed input classes the other ingest tests lack, and the few look-alikes that must load."""


def write(path: Path, content: Content) -> None:
    if isinstance(content, pa.Table):
        pq.write_table(content, path)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(content)


def load(store: GraphStore, directory: Path, rejects: Path) -> tuple[LoadSummary, list[list[str]]]:
    log = RejectLog(rejects)
    try:
        summary = run_steps(Loader(store, log, batch_size=2), canonical_dir_steps(directory))
    finally:
        log.close()
    if not rejects.exists():
        return summary, []
    with rejects.open(encoding="utf-8", newline="") as fh:
        return summary, list(csv.reader(fh, delimiter="\t"))[1:]


def dump(store: GraphStore) -> tuple[set, set]:
    """Every node and relationship with its properties; without the change stamps, which say when a
    load last wrote a node, not what it holds."""
    nodes = store.read("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    for node in nodes:
        node["p"].pop(STAMP, None)
    rels = store.read("MATCH (a)-[r]->(b) RETURN type(r) AS t, a.id AS a, coalesce(b.id, b.name) AS b, properties(r) AS p")
    as_key: Callable[[dict], str] = lambda row: repr(sorted((k, sorted(v.items()) if isinstance(v, dict) else v) for k, v in row.items()))  # noqa: E731
    return set(map(as_key, nodes)), set(map(as_key, rels))


@pytest.fixture
def good_graph(store: GraphStore, tmp_path: Path) -> GraphStore:
    good = tmp_path / "good"
    good.mkdir()
    write(good / "users.csv", "id,name,bio,opt_out\nu1,Ann,Hikes,false\nu2,Bo,Jazz,true\nu3,Cy,,\n")
    write(good / "posts.csv", "id,text,created_at\np1,Sunrise,2026-01-02T10:00:00Z\np2,New record,1700000000\n")
    write(good / "follows.csv", "src,dst\nu1,u2\nu2,u1\n")
    write(good / "interacted.csv", "src,dst,kind,weight\nu2,p1,like,1\nu3,p2,like,1\n")
    summary, rejects = load(store, good, tmp_path / "good.tsv")
    assert summary.rejected == 0 and rejects == []
    return store


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_input(good_graph: GraphStore, tmp_path: Path, name: str) -> None:
    case = CASES[name]
    if case.setup:
        good_graph.write(case.setup)
    before = dump(good_graph)
    bad = tmp_path / "bad"
    bad.mkdir()
    for file_name, content in case.files.items():
        write(bad / file_name, content)
    if case.fails is not None:
        (file_name,) = case.files
        with pytest.raises(InputError) as raised:
            load(good_graph, bad, tmp_path / "rejects.tsv")
        assert str(raised.value).startswith(f"{bad / file_name}{case.fails}"), str(raised.value)
        assert dump(good_graph) == before
        return
    summary, rejects = load(good_graph, bad, tmp_path / "rejects.tsv")
    assert [(r[0], int(r[1]), r[2]) for r in rejects] == [(str(bad / f), line, fld) for f, line, fld, _ in case.rejects]
    for got, (_, _, _, reason) in zip(rejects, case.rejects):
        assert reason in got[3], got
    assert summary.rejected == len(case.rejects)
    for query, expected in case.loads:
        assert good_graph.read(query)[0]["v"] == expected, query
    after = dump(good_graph)
    assert before[0] <= after[0] and before[1] <= after[1], "data written before the bad input changed"
