"""The command line end to end: generate canonical files, ingest them, query the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from graph.store import GraphStore

REPO = Path(__file__).resolve().parents[2]


def jobs(store: GraphStore, *args: str) -> subprocess.CompletedProcess[str]:
    conn = store.connection
    env = {**os.environ, "NEO4J_URI": conn.uri, "NEO4J_USER": conn.user, "NEO4J_PASSWORD": conn.password}
    return subprocess.run([sys.executable, "-m", "jobs", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_generate_then_ingest_then_query(store: GraphStore, tmp_path: Path) -> None:
    out = tmp_path / "net"
    generated = jobs(store, "generate", "--users", "150", "--seed", "3", "--out", str(out), "--format", "parquet")
    assert generated.returncode == 0, generated.stderr
    users = pd.read_parquet(out / "users.parquet")
    follows = pd.read_parquet(out / "follows.parquet")
    assert len(users) == 150

    loaded = jobs(store, "ingest", "--dir", str(out), "--rejects", str(tmp_path / "r.tsv"))
    assert loaded.returncode == 0, loaded.stderr
    assert "0 rejected" in loaded.stdout
    assert store.node_count("User") == 150
    assert store.relationship_count("FOLLOWS") == len(follows)

    again = jobs(store, "ingest", "--nodes", f"users={out / 'users.parquet'}", "--relationships", f"follows={out / 'follows.parquet'}")
    assert again.returncode == 0, again.stderr
    assert store.relationship_count("FOLLOWS") == len(follows)

    counts = jobs(store, "cypher", "@graph_counts", "--format", "json")
    assert counts.returncode == 0, counts.stderr
    rows = {(r["kind"], r["name"]): r["count"] for r in json.loads(counts.stdout)}
    assert rows[("node", "User")] == 150
    opted_out = int(users["opt_out"].sum())
    assert store.read("MATCH (u:User {opt_out: true}) RETURN count(u) AS n")[0]["n"] == opted_out >= 1


def test_ingest_without_input_is_a_usage_error(store: GraphStore) -> None:
    result = jobs(store, "ingest")
    assert result.returncode == 2
    assert "nothing to ingest" in result.stderr


def test_query_reads_each_value_as_its_declared_type(store: GraphStore) -> None:
    store.write("CREATE (:User {id: '123', name: 'Numeric id'}), (:User {id: '0123', name: 'Leading zero'})")
    for text_id, name in (("123", "Numeric id"), ("0123", "Leading zero"), ('"123"', "Numeric id")):
        result = jobs(store, "query", "user_profile", f"user={text_id}", "--format", "json")
        assert result.returncode == 0, result.stderr
        assert [row["name"] for row in json.loads(result.stdout)] == [name]
    wrong = jobs(store, "query", "similar_users", "user=123", "k=many")
    assert wrong.returncode == 2 and "k='many' is not of type integer" in wrong.stderr
    unknown = jobs(store, "query", "user_profile", "usr=123")
    assert unknown.returncode == 2 and "takes no parameter 'usr'" in unknown.stderr


def test_a_job_whose_lock_is_held_exits_3_naming_the_holder(store: GraphStore) -> None:
    store.write(
        "CREATE (:JobLock {job: 'reply', owner: 'elsewhere:1:x', taken_at: datetime(), "
        "expires_at: datetime() + duration({hours: 1})})"
    )
    result = jobs(store, "reply", "--all")
    assert result.returncode == 3, result.stderr
    assert "held by elsewhere:1:x since" in result.stderr and "--wait" in result.stderr
    assert store.read("MATCH (r:JobRun) RETURN count(r) AS n")[0]["n"] == 0
