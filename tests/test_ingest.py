"""Ingest against a real Neo4j: canonical files, generic lists, every class of bad input, idempotence, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.ingest.kinds import MAX_TEXT_CHARS
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, canonical_steps, edges_steps, interactions_steps, run_steps
from graph.schema import existing_constraints, NODE_KEYS
from graph.store import GraphStore

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def dump(store: GraphStore) -> tuple[list, list]:
    """Every node and relationship with its properties, in a stable order."""
    nodes = store.read("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    rels = store.read(
        "MATCH (a)-[r]->(b) RETURN type(r) AS t, coalesce(a.id, a.name) AS a, coalesce(b.id, b.name) AS b, properties(r) AS p"
    )
    def key(row: dict) -> str:
        return repr(sorted((k, sorted(v.items()) if isinstance(v, dict) else v) for k, v in row.items()))

    return sorted(map(key, nodes)), sorted(map(key, rels))


def load_dir(store: GraphStore, directory: Path, rejects: Path, batch_size: int = 1000) -> tuple:
    log = RejectLog(rejects)
    try:
        summary = run_steps(Loader(store, log, batch_size=batch_size), canonical_dir_steps(directory))
    finally:
        log.close()
    lines = rejects.read_text().splitlines()[1:] if rejects.exists() else []
    return summary, [line.split("\t") for line in lines]


@pytest.fixture
def good_dir(tmp_path: Path) -> Path:
    d = tmp_path / "good"
    write(d / "users.csv", 'id,name,bio,opt_out\nu1,Ann,"Hikes, and takes photos",false\nu2,Bo,Jazz and vinyl,true\nu3,Cy,,\n')
    write(d / "posts.csv", "id,text,created_at,lang\np1,Sunrise over the ridge,2026-01-02T10:00:00Z,en\np2,New record,1700000000,en\n")
    write(d / "follows.csv", "src,dst\nu1,u2\nu2,u1\nu3,u1\n")
    write(d / "posted.csv", "src,dst\nu1,p1\nu2,p2\n")
    write(d / "interacted.csv", "src,dst,kind,weight,at\nu2,p1,like,1,2026-01-03T00:00:00Z\nu2,p1,repost,2.5,\nu3,p2,like,1,\n")
    write(d / "post_tagged.csv", "src,dst,weight\np1,hiking,1\np1,photography,0.5\n")
    write(d / "user_tagged.csv", "src,dst,weight\nu1,hiking,1\nu2,jazz,1\n")
    return d


def test_schema_constraints_exist_before_any_load(store: GraphStore) -> None:
    constraints = existing_constraints(store)
    for label, key in NODE_KEYS.items():
        assert (label, key) in constraints


def test_canonical_load_builds_the_graph(store: GraphStore, good_dir: Path, tmp_path: Path) -> None:
    summary, rejects = load_dir(store, good_dir, tmp_path / "r.tsv")
    assert rejects == []
    assert summary.rejected == 0
    assert store.node_count("User") == 3
    assert store.node_count("Tag") == 3
    assert store.relationship_count("INTERACTED") == 3
    assert store.relationship_count("TAGGED") == 4
    row = store.read("MATCH (u:User {id: 'u2'}) RETURN u.opt_out AS o, u.bio AS b")[0]
    assert row == {"o": True, "b": "Jazz and vinyl"}
    created = store.read("MATCH (p:Post {id: 'p2'}) RETURN p.created_at.epochSeconds AS s")[0]["s"]
    assert created == 1_700_000_000
    bio = store.read("MATCH (u:User {id: 'u1'}) RETURN u.bio AS b")[0]["b"]
    assert bio == "Hikes, and takes photos"


def test_loading_twice_changes_nothing(store: GraphStore, good_dir: Path, tmp_path: Path) -> None:
    load_dir(store, good_dir, tmp_path / "r1.tsv")
    first = dump(store)
    load_dir(store, good_dir, tmp_path / "r2.tsv")
    assert dump(store) == first


def test_a_later_load_updates_given_values_and_keeps_absent_ones(store: GraphStore, good_dir: Path, tmp_path: Path) -> None:
    load_dir(store, good_dir, tmp_path / "r1.tsv")
    update = tmp_path / "update"
    write(update / "users.csv", "id,name\nu1,Annie\n")
    write(update / "interacted.csv", "src,dst,kind,at\nu2,p1,repost,2026-02-01T00:00:00Z\n")
    load_dir(store, update, tmp_path / "r2.tsv")
    user = store.read("MATCH (u:User {id: 'u1'}) RETURN u.name AS name, u.bio AS bio")[0]
    assert user == {"name": "Annie", "bio": "Hikes, and takes photos"}
    repost = store.read(
        "MATCH (:User {id: 'u2'})-[r:INTERACTED {kind: 'repost'}]->(:Post {id: 'p1'}) RETURN r.weight AS w, r.at.year AS year"
    )
    assert repost == [{"w": 2.5, "year": 2026}]


BAD_CASES = {
    "empty id": ("users.csv", "id,name\n,Nobody\n", 2, "id", "missing or empty id"),
    "conflicting duplicate": ("users.csv", "id,name\nu9,Ann\nu9,Bea\n", 3, "name", "duplicate of line 2"),
    "unknown endpoint": ("follows.csv", "src,dst\nu1,ghost\n", 2, "dst", "edge to unknown node"),
    "unparsable number": ("interacted.csv", "src,dst,kind,weight\nu1,p1,like,lots\n", 2, "weight", "unparsable number"),
    "negative weight": ("interacted.csv", "src,dst,kind,weight\nu1,p1,like,-1\n", 2, "weight", "negative weight"),
    "nan weight": ("interacted.csv", "src,dst,kind,weight\nu1,p1,like,NaN\n", 2, "weight", "not a finite number"),
    "non utf-8": ("users.csv", b"id,name,bio\nu9,Zo\xe9,fine\n", 2, "name", "not valid UTF-8"),
    "empty text": ("posts.csv", 'id,text\np9,"  "\n', 2, "text", "empty text"),
    "overlong text": ("posts.csv", f"id,text\np9,{'x' * (MAX_TEXT_CHARS + 1)}\n", 2, "text", "text too long"),
    "self-loop": ("follows.csv", "src,dst\nu1,u1\n", 2, "dst", "self-loop"),
    "wrong column count": ("follows.csv", "src,dst\nu1,u2,u3\n", 2, "*", "wrong column count"),
    "embedded newline": ("users.csv", 'id,name,bio\nu9,Zed,"two\nlines"\nu8,Ok,fine\n', 2, "bio", "embedded newline"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_rejected_with_file_line_field(store: GraphStore, good_dir: Path, tmp_path: Path, case: str) -> None:
    load_dir(store, good_dir, tmp_path / "r0.tsv")
    before = dump(store)
    name, content, line, field, reason = BAD_CASES[case]
    bad_dir = tmp_path / "bad"
    bad = write(bad_dir / name, content)
    summary, rejects = load_dir(store, bad_dir, tmp_path / "r.tsv")
    assert summary.rejected >= 1
    first = rejects[0]
    assert first[0] == str(bad)
    assert (int(first[1]), first[2]) == (line, field)
    assert reason in first[3]
    after = dump(store)
    assert set(before[0]) <= set(after[0]) and set(before[1]) <= set(after[1]), "earlier data changed"
    if case == "embedded newline":
        assert store.read("MATCH (u:User {id: 'u8'}) RETURN u.bio AS b")[0]["b"] == "fine"
        assert store.read("MATCH (u:User {id: 'u9'}) RETURN count(u) AS n")[0]["n"] == 0


def test_good_rows_still_load_beside_bad_ones(store: GraphStore, tmp_path: Path) -> None:
    write(tmp_path / "d" / "users.csv", "id,name\nu1,Ann\n,Nameless\nu2,Bo\nu3,Cy,extra\n")
    summary, rejects = load_dir(store, tmp_path / "d", tmp_path / "r.tsv")
    assert store.node_count("User") == 2
    assert summary.loaded == 2 and summary.rejected == 2
    assert [int(r[1]) for r in rejects] == [3, 5]


def test_latin1_is_a_documented_option(store: GraphStore, tmp_path: Path) -> None:
    path = write(tmp_path / "users.csv", "id,name\nu1,Zoë Müller\n".encode("latin-1"))
    log = RejectLog(tmp_path / "r.tsv")
    run_steps(Loader(store, log), canonical_steps({"users": path}, {}, encoding="latin-1"))
    log.close()
    assert store.read("MATCH (u:User {id: 'u1'}) RETURN u.name AS n")[0]["n"] == "Zoë Müller"


@pytest.mark.parametrize("separator", ["\t", " "])
@pytest.mark.parametrize("header", [True, False])
def test_generic_lists_with_or_without_header(store: GraphStore, tmp_path: Path, separator: str, header: bool) -> None:
    inter = ("user item weight\n" if header else "") + "\n".join(
        separator.join(row) for row in (("a", "x", "2"), ("a", "y"), ("b", "x", "0.5"))
    )
    edges = ("src dst\n" if header else "") + "\n".join(separator.join(row) for row in (("a", "b"), ("b", "c")))
    log = RejectLog(tmp_path / "r.tsv")
    loader = Loader(store, log)
    run_steps(loader, interactions_steps(write(tmp_path / "i.txt", inter), kind="check-in"))
    run_steps(loader, edges_steps(write(tmp_path / "e.txt", edges)))
    log.close()
    assert loader.summary.rejected == 0
    assert store.relationship_count("INTERACTED") == 3
    assert store.relationship_count("FOLLOWS") == 2
    weights = store.read("MATCH (:User {id: 'a'})-[r:INTERACTED]->(p:Post) RETURN p.id AS p, r.weight AS w, r.kind AS k ORDER BY p")
    assert weights == [{"p": "x", "w": 2.0, "k": "check-in"}, {"p": "y", "w": 1.0, "k": "check-in"}]


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jobs", *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _env(store: GraphStore) -> dict[str, str]:
    conn = store.connection
    return {**os.environ, "NEO4J_URI": conn.uri, "NEO4J_USER": conn.user, "NEO4J_PASSWORD": conn.password}


def test_cli_exit_status_follows_max_rejects(store: GraphStore, tmp_path: Path) -> None:
    path = write(tmp_path / "edges.txt", "a b\nb b\nc d\n")
    rejects = tmp_path / "rejects.tsv"
    strict = _cli("ingest", "--edges", str(path), "--rejects", str(rejects), env=_env(store))
    out, err = strict.communicate(timeout=120)
    assert strict.returncode == 1, err
    assert "2 rows loaded, 1 rejected" in out
    assert f"{path}:2:dst: self-loop" in err
    lenient = _cli("ingest", "--edges", str(path), "--rejects", str(rejects), "--max-rejects", "1", env=_env(store))
    lenient.communicate(timeout=120)
    assert lenient.returncode == 0
    assert store.relationship_count("FOLLOWS") == 2


def test_killed_load_resumes_to_a_complete_duplicate_free_graph(store: GraphStore, tmp_path: Path) -> None:
    n = 30_000
    path = write(tmp_path / "edges.txt", "".join(f"u{i} u{(i * 7 + 1) % n}\n" for i in range(n)))
    args = ("ingest", "--edges", str(path), "--batch-size", "500", "--rejects", str(tmp_path / "r.tsv"))
    proc = _cli(*args, env=_env(store))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = store.read("MATCH (c:IngestCheckpoint) RETURN max(c.rows) AS rows")[0]["rows"]
        if done and done >= 5_000:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    partial = store.relationship_count("FOLLOWS")
    assert 0 < partial < n, "the kill should land mid-load"
    rerun = _cli(*args, env=_env(store))
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "resumed after" in out
    assert store.relationship_count("FOLLOWS") == n
    assert store.node_count("User") == n
    dupes = store.read("MATCH (a)-[r:FOLLOWS]->(b) WITH a, b, count(r) AS c WHERE c > 1 RETURN count(*) AS n")[0]["n"]
    assert dupes == 0
    assert store.read("MATCH (c:IngestCheckpoint) RETURN count(c) AS n")[0]["n"] == 0


@pytest.mark.skipif(bool(os.environ.get("NEO4J_URI")), reason="the bulk path runs on the project-managed server")
def test_bulk_import_builds_the_same_graph_as_the_transactional_load(
    store: GraphStore, settings, good_dir: Path, tmp_path: Path
) -> None:
    from graph.ingest.bulk import BulkImportError, bulk_load
    from graph.schema import ensure_schema
    from graph.server import LocalNeo4j

    write(good_dir / "reply_to.csv", "src,dst\np2,p1\np2,nowhere\n")
    _, rejects = load_dir(store, good_dir, tmp_path / "r1.tsv")
    transactional = dump(store)
    store.wipe()
    server = LocalNeo4j(settings.server)
    is_empty = lambda: store.read("MATCH (n) RETURN count(n) AS n")[0]["n"] == 0  # noqa: E731
    log = RejectLog(tmp_path / "r2.tsv")
    summary = bulk_load(server, is_empty, canonical_dir_steps(good_dir), log, tmp_path / "admin")
    log.close()
    ensure_schema(store)
    assert dump(store) == transactional
    bulk_rejects = [line.split("\t") for line in (tmp_path / "r2.tsv").read_text().splitlines()[1:]]
    assert bulk_rejects == rejects and len(rejects) == 1 and "edge to unknown node" in rejects[0][3]
    assert summary.rejected == 1
    with pytest.raises(BulkImportError, match="empty database"):
        bulk_load(server, is_empty, canonical_dir_steps(good_dir), RejectLog(None), tmp_path / "admin2")


@pytest.mark.skipif(bool(os.environ.get("NEO4J_URI")), reason="the bulk path runs on the project-managed server")
def test_bulk_merges_two_inputs_of_one_kind_as_the_transactional_load_does(
    store: GraphStore, settings, tmp_path: Path
) -> None:
    from graph.ingest.bulk import bulk_load
    from graph.schema import ensure_schema
    from graph.server import LocalNeo4j

    first = write(tmp_path / "first.txt", "u1 p1 1\nu1 p2 2\n")
    second = write(tmp_path / "second.txt", "u1 p1 5\nu2 p1 1\n")
    steps = lambda: interactions_steps(first) + interactions_steps(second)  # noqa: E731
    run_steps(Loader(store, RejectLog(None)), steps())
    transactional = dump(store)
    store.wipe()
    bulk_load(LocalNeo4j(settings.server), lambda: True, steps(), RejectLog(None), tmp_path / "admin")
    ensure_schema(store)
    assert dump(store) == transactional
    assert store.relationship_count("INTERACTED") == 3
    weight = store.read("MATCH (:User {id: 'u1'})-[r:INTERACTED]->(:Post {id: 'p1'}) RETURN r.weight AS w")
    assert weight == [{"w": 5.0}]
