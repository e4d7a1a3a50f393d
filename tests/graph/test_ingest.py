"""Ingest against a real Neo4j: canonical files, generic lists, every class of bad input, idempotence, resume."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from graph.changes import STAMP
from graph.ingest.kinds import FOLLOWS, INTERACTED, MAX_TEXT_CHARS, USERS, Field, FieldType
from graph.ingest.loader import LOCK_NAME, CheckpointConflict, Loader, RejectLog
from graph.ingest.statements import node_query, relationship_statements, set_properties
from graph.ingest.steps import Step, canonical_dir_steps, canonical_steps, edges_steps, interactions_steps, run_steps
from graph.lock import JobLock, LockBusy, LockLost
from graph.schema import existing_constraints, NODE_KEYS, SchemaError
from graph.store import GraphStore

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def dump(store: GraphStore) -> tuple[list, list]:
    """Every node and relationship with its properties, in a stable order; without the change
    stamps, which say when a load last wrote a node, not what it holds."""
    nodes = store.read("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    for node in nodes:
        node["p"].pop(STAMP, None)
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


def test_a_load_stamps_the_people_and_posts_it_writes_for_the_watch_service(store: GraphStore, good_dir: Path, tmp_path: Path) -> None:
    before = store.read("RETURN datetime() AS now")[0]["now"]
    load_dir(store, good_dir, tmp_path / "r.tsv")
    unstamped = store.read(f"MATCH (n) WHERE (n:User OR n:Post) AND NOT n.{STAMP} >= $before RETURN count(n) AS n", {"before": before})
    assert unstamped[0]["n"] == 0
    assert store.read(f"MATCH (t:Tag) WHERE t.{STAMP} IS NOT NULL RETURN count(t) AS n")[0]["n"] == 0, "only watched labels"
    mark = store.write(f"MATCH (u:User) SET u.{STAMP} = $before RETURN count(u) AS n", {"before": before})
    assert mark[0]["n"] == 3
    log = RejectLog(tmp_path / "r2.tsv")
    run_steps(Loader(store, log), edges_steps(write(tmp_path / "e.txt", "u3 u1\n")))
    log.close()
    restamped = store.read(f"MATCH (u:User) WHERE u.{STAMP} > $before RETURN collect(u.id) AS ids", {"before": before})[0]["ids"]
    assert restamped == ["u3"], "a new follow stamps its start, the person whose suggestions it changes"
    quiet = store.write(f"MATCH (u:User) SET u.{STAMP} = $before RETURN count(u) AS n", {"before": before})
    assert quiet[0]["n"] == 3
    run_steps(Loader(store, RejectLog(None), stamp_changes=False), edges_steps(write(tmp_path / "e2.txt", "u2 u1\n")))
    assert store.read(f"MATCH (u:User) WHERE u.{STAMP} > $before RETURN count(u) AS n", {"before": before})[0]["n"] == 0


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


HOSTILE_NAME = "a`) DETACH DELETE n //"


def test_hostile_property_names_never_reach_cypher(store: GraphStore) -> None:
    store.write("CREATE (:User {id: 'sentinel'})")
    hostile_merge = dataclasses.replace(INTERACTED, merge_on=HOSTILE_NAME)
    hostile_field = dataclasses.replace(USERS, fields=(*USERS.fields, Field(HOSTILE_NAME, FieldType.STRING)))
    with pytest.raises(SchemaError, match="not a property name"):
        set_properties("r", ["weight", HOSTILE_NAME])
    with pytest.raises(SchemaError, match="not a property name"):
        relationship_statements(hostile_merge)
    with pytest.raises(SchemaError, match="not a property name"):
        node_query(hostile_field)
    loader = Loader(store, RejectLog(None))
    for kind in (hostile_merge, hostile_field):
        with pytest.raises(SchemaError):
            loader.load(kind, [], "hostile")
    assert store.read("MATCH (n) RETURN n.id AS id") == [{"id": "sentinel"}]


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


def _duplicates(store: GraphStore, rel_type: str) -> int:
    return store.read(
        f"MATCH (a)-[r:{rel_type}]->(b) WITH a, b, r.kind AS kind, count(r) AS c WHERE c > 1 RETURN count(*) AS n"
    )[0]["n"]


def _load_at_once(store: GraphStore, inputs: list[Path], batch_size: int) -> None:
    """Loads each of ``inputs`` (interaction lists) in its own thread, all starting together."""
    barrier = threading.Barrier(len(inputs))
    failures: list[BaseException] = []

    def writer(path: Path) -> None:
        try:
            loader = Loader(store, RejectLog(None), batch_size=batch_size)
            barrier.wait()
            run_steps(loader, interactions_steps(path))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(path,)) for path in inputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures


def test_writers_merging_the_same_relationships_at_once_create_none_twice(store: GraphStore, tmp_path: Path) -> None:
    # Each round, three inputs hold the same interactions in the same order, with other separators:
    # three checkpoints and no ingest lock between the loaders, so all write each pair at once.
    # A round is one transaction per writer, so they cannot drift apart as batches go by, and the
    # endpoints exist beforehand, so creating them does not serialise the writers.
    rounds, n, users = 6, 1_000, 97
    store.write("UNWIND range(0, $n - 1) AS i MERGE (:Post {id: 'p' + i})", {"n": n})
    store.write("UNWIND range(0, $n - 1) AS i MERGE (:User {id: 'u' + i})", {"n": users})
    for r in range(rounds):
        rows = [(f"u{(i + r) % users}", f"p{i}", str(i % 3 + 1)) for i in range(n)]
        inputs = [
            write(tmp_path / f"{r}-{i}.txt", "".join(sep.join(row) + "\n" for row in rows))
            for i, sep in enumerate((" ", "\t", "  "))
        ]
        _load_at_once(store, inputs, batch_size=n)
    pairs = {((i + r) % users, i) for r in range(rounds) for i in range(n)}
    assert store.relationship_count("INTERACTED") == len(pairs)
    assert _duplicates(store, "INTERACTED") == 0
    assert (store.node_count("User"), store.node_count("Post")) == (users, n)


def _interrupted_after_first_batch(store: GraphStore, steps: list[Step], batch: int) -> None:
    """Loads ``steps`` until the first batch committed, then stops as a crash would."""
    def crash(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_steps(Loader(store, RejectLog(None), batch_size=batch, on_progress=crash), steps)


def test_a_load_read_another_way_does_not_resume_from_the_first_ones_checkpoint(store: GraphStore, tmp_path: Path) -> None:
    n, batch = 1_000, 100
    path = write(tmp_path / "edges.txt", "".join(f"u{i} v{i}\n" for i in range(n)))
    _interrupted_after_first_batch(store, edges_steps(path, header=False), batch)
    others = [edges_steps(path, header=True), edges_steps(path), edges_steps(path, header=False, encoding="latin-1")]
    for steps in others:
        assert run_steps(Loader(store, RejectLog(None), batch_size=batch), steps).kinds[0].resumed_from == 0
    assert store.relationship_count("FOLLOWS") == n
    # The first reading again, under another name of its codec, resumes.
    same = run_steps(Loader(store, RejectLog(None), batch_size=batch), edges_steps(path, header=False, encoding="UTF8"))
    assert same.kinds[0].resumed_from == batch
    assert store.read("MATCH (c:IngestCheckpoint) RETURN count(c) AS n")[0]["n"] == 0


def test_a_checkpoint_moved_by_another_load_fails_the_next_batch_whole(store: GraphStore, tmp_path: Path) -> None:
    path = write(tmp_path / "edges.txt", "".join(f"u{i} v{i}\n" for i in range(1_000)))
    (step,) = edges_steps(path)

    def another_load_moves_it(_: int) -> None:
        store.write("MATCH (c:IngestCheckpoint {key: $key}) SET c.rows = 700", {"key": step.checkpoint})

    loader = Loader(store, RejectLog(None), batch_size=100, on_progress=another_load_moves_it)
    with pytest.raises(CheckpointConflict, match="stands at 700 rows, not at 100"):
        run_steps(loader, [step])
    assert store.relationship_count("FOLLOWS") == 100
    assert store.node_count("User") == 200
    assert store.read("MATCH (c:IngestCheckpoint) RETURN c.rows AS rows") == [{"rows": 700}]


def test_a_retried_batch_whose_first_commit_went_through_is_merged_again_without_conflict(store: GraphStore) -> None:
    loader = Loader(store, RejectLog(None))
    statements = relationship_statements(FOLLOWS, create_src=True, create_dst=True)
    rows = [{"src": "u1", "dst": "u2", "merge": None}]
    for _ in range(2):
        assert loader._write_batch(statements, rows, "retried", 0, 1) == []
    assert store.relationship_count("FOLLOWS") == 1
    assert store.read("MATCH (c:IngestCheckpoint {key: 'retried'}) RETURN c.rows AS rows") == [{"rows": 1}]


def test_a_lost_lock_stops_the_load_before_its_next_batch(store: GraphStore, tmp_path: Path) -> None:
    path = write(tmp_path / "edges.txt", "".join(f"u{i} v{i}\n" for i in range(1_000)))
    with JobLock(store, LOCK_NAME, ttl_s=0.3).hold() as lock:

        def taken_by_another(_: int) -> None:
            store.write("MATCH (l:JobLock {job: $job}) SET l.owner = 'another-host:1:x'", {"job": LOCK_NAME})
            assert lock.lost.wait(5), "the heartbeat should find the lock gone"

        loader = Loader(store, RejectLog(None), batch_size=100, on_progress=taken_by_another, lock=lock)
        with pytest.raises(LockLost):
            run_steps(loader, edges_steps(path))
    assert store.relationship_count("FOLLOWS") == 100


def test_a_second_ingest_fails_fast_naming_the_holder_and_two_waiting_ones_load_one_after_the_other(
    store: GraphStore, tmp_path: Path
) -> None:
    n = 6_000
    path = write(tmp_path / "edges.txt", "".join(f"u{i} u{(i * 7 + 1) % n}\n" for i in range(n)))
    args = ("ingest", "--edges", str(path), "--batch-size", "500")
    env = _env(store)
    holder = JobLock(store, LOCK_NAME, owner="holder-host:4242:test")
    with holder.hold():
        waiting = [_cli(*args, "--wait", "--rejects", str(tmp_path / f"r{i}.tsv"), env=env) for i in range(2)]
        busy = _cli(*args, "--rejects", str(tmp_path / "r.tsv"), env=env)
        out, err = busy.communicate(timeout=120)
        assert busy.returncode == 3, err
        assert "another run of 'ingest' is in progress (held by holder-host:4242:test since 20" in err
        assert all(proc.poll() is None for proc in waiting), "the loads with --wait should still be waiting"
        assert store.relationship_count("FOLLOWS") == 0
    outputs = [proc.communicate(timeout=300) for proc in waiting]
    assert [proc.returncode for proc in waiting] == [0, 0], [err for _, err in outputs]
    # Each ran whole, one after the other: the second found no checkpoint left by the first.
    assert all(f"{n:,d} rows loaded" in out and "resumed after" not in out for out, _ in outputs)
    assert store.relationship_count("FOLLOWS") == n
    assert store.node_count("User") == n
    assert _duplicates(store, "FOLLOWS") == 0
    assert holder.holder() is None


@pytest.mark.skipif(bool(os.environ.get("NEO4J_URI")), reason="the bulk path runs on the project-managed server")
def test_bulk_import_builds_the_same_graph_as_the_transactional_load(
    store: GraphStore, settings, good_dir: Path, tmp_path: Path
) -> None:
    from graph.ingest.bulk import BulkImportError
    from jobs.commands.ingest import bulk

    write(good_dir / "reply_to.csv", "src,dst\np2,p1\np2,nowhere\n")
    _, rejects = load_dir(store, good_dir, tmp_path / "r1.tsv")
    transactional = dump(store)
    store.wipe()
    # The command's own path: it holds the ingest lock, whose node the empty database then holds.
    log = RejectLog(tmp_path / "r2.tsv")
    summary = bulk(settings, store, canonical_dir_steps(good_dir), log)
    log.close()
    assert dump(store) == transactional
    bulk_rejects = [line.split("\t") for line in (tmp_path / "r2.tsv").read_text().splitlines()[1:]]
    assert bulk_rejects == rejects and len(rejects) == 1 and "edge to unknown node" in rejects[0][3]
    assert summary.rejected == 1
    with pytest.raises(BulkImportError, match="empty database"):
        bulk(settings, store, canonical_dir_steps(good_dir), RejectLog(None))


@pytest.mark.skipif(bool(os.environ.get("NEO4J_URI")), reason="the bulk path runs on the project-managed server")
def test_bulk_import_fails_at_once_while_another_ingest_holds_the_lock(
    store: GraphStore, settings, good_dir: Path
) -> None:
    from jobs.commands.ingest import bulk

    store.write(
        "MERGE (l:JobLock {job: $job}) SET l.owner = 'other-host:1:x', l.taken_at = datetime(), "
        "l.expires_at = datetime() + duration('PT5M')",
        {"job": LOCK_NAME},
    )
    with pytest.raises(LockBusy, match="held by other-host:1:x"):
        bulk(settings, store, canonical_dir_steps(good_dir), RejectLog(None))
    assert store.read("MATCH (n) WHERE NOT n:JobLock RETURN count(n) AS n") == [{"n": 0}]


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
