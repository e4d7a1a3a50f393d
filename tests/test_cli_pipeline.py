"""The command line end to end: generate canonical files, ingest them, query the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from graph.store import GraphStore

REPO = Path(__file__).resolve().parents[1]


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
