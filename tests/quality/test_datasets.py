"""Public dataset plans against a real Neo4j: counts, rejects with real origins, encodings, idempotence.

Expected numbers are computed independently from the raw files (pandas, json,
plain splitting) rather than copied from the module under test.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from graph.ingest.datasets import (
    DATASETS,
    dataset_steps,
    email_eu_core_steps,
    gowalla_steps,
    lastfm_steps,
    rumoureval_steps,
)
from graph.ingest.kinds import NodeKind
from graph.ingest.loader import Loader, LoadSummary, RejectLog
from graph.ingest.readers import InputError
from graph.ingest.rows import Reject
from graph.ingest.steps import Step, run_steps
from graph.store import GraphStore

log = logging.getLogger(__name__)


def load(store: GraphStore, steps: list[Step], rejects: Path) -> tuple[LoadSummary, list[dict[str, str]]]:
    """Runs ``steps`` into ``store``; returns the summary and the rejects file's rows."""
    reject_log = RejectLog(rejects)
    try:
        summary = run_steps(Loader(store, reject_log), steps)
    finally:
        reject_log.close()
    if not rejects.exists():
        return summary, []
    with rejects.open(encoding="utf-8", newline="") as fh:
        return summary, list(csv.DictReader(fh, delimiter="\t"))


def count(store: GraphStore, query: str, **params: Any) -> Any:
    return store.read(query, params)[0]["n"]


def raw_lines(path: Path, encoding: str = "utf-8") -> list[str]:
    return path.read_text(encoding=encoding).split("\n")


def read_dat(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    # QUOTE_NONE: artist names hold bare double quotes that are part of the name.
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding=encoding)


# --- plans without a database -----------------------------------------------------


def test_registry_and_errors(datasets: Path, tmp_path: Path) -> None:
    assert set(DATASETS) == {"lastfm", "gowalla", "email-eu-core", "epinions", "rumoureval"}
    with pytest.raises(InputError, match="trust.tsv.gz"):
        dataset_steps("epinions", tmp_path)
    with pytest.raises(InputError, match="'nope'"):
        dataset_steps("nope", datasets)
    with pytest.raises(InputError, match="artists.dat"):
        dataset_steps("lastfm", tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        dataset_steps("gowalla", tmp_path / "absent")
    (tmp_path / "train.txt").write_text("0 1\n")
    with pytest.raises(InputError, match="split"):
        gowalla_steps(tmp_path, split="validation")
    with pytest.raises(InputError, match="test.txt"):
        gowalla_steps(tmp_path, split="all")


@pytest.mark.parametrize(
    "name, folder",
    [
        ("lastfm", "lastfm_hetrec2011"),
        ("email-eu-core", "email_eu_core"),
        ("epinions", "epinions_trust"),
        ("rumoureval", "rumoureval2017_threads"),
        ("gowalla", "gowalla_lightgcn"),
    ],
)
def test_plans_put_nodes_first_with_distinct_checkpoints(datasets: Path, name: str, folder: str) -> None:
    steps = dataset_steps(name, datasets / folder)
    is_node = [isinstance(s.kind, NodeKind) for s in steps]
    assert is_node == sorted(is_node, reverse=True), [s.kind.name for s in steps]
    keys = [s.checkpoint for s in steps]
    assert len(set(keys)) == len(keys)
    assert all(k.startswith(f"{name}:") for k in keys)


def test_gowalla_streams_every_train_interaction(datasets: Path) -> None:
    (step,) = gowalla_steps(datasets / "gowalla_lightgcn")
    rows = step.rows()
    assert isinstance(rows, Iterator)
    counts = {"rows": 0, "rejects": 0, "last_line": 0}
    for row in rows:
        if isinstance(row, Reject):
            counts["rejects"] += 1
        else:
            counts["rows"] += 1
            counts["last_line"] = row.line
    assert counts == {"rows": 810128, "rejects": 0, "last_line": 29858}


# --- lastfm against Neo4j ---------------------------------------------------------


@pytest.fixture(scope="module")
def lastfm_raw(datasets: Path) -> dict[str, Any]:
    """Independent facts about the lastfm files, computed with pandas."""
    folder = datasets / "lastfm_hetrec2011"
    artists = read_dat(folder / "artists.dat")
    tags = read_dat(folder / "tags.dat", encoding="latin-1")
    tagged = read_dat(folder / "user_taggedartists.dat")
    known = tagged["artistID"].isin(set(artists["id"])) & tagged["tagID"].isin(set(tags["tagID"]))
    unknown_artist = tagged[~tagged["artistID"].isin(set(artists["id"]))]
    valid = tagged[known].merge(tags, on="tagID")
    valid["tag"] = valid["tagValue"].str.strip().str.lower()
    return {
        "folder": folder,
        "artist_ids": set(artists["id"]),
        "tags": tags,
        "valid": valid,
        # The header is line 1, so the frame's row i is line i + 2.
        "unknown_lines": {int(i) + 2 for i in unknown_artist.index},
    }


def graph_state(store: GraphStore) -> dict[str, Any]:
    """Node counts per label and relationship counts and weight sums per type."""
    return {
        "nodes": store.read("MATCH (n) RETURN labels(n)[0] AS label, count(n) AS n ORDER BY label"),
        "rels": store.read(
            "MATCH ()-[r]->() RETURN type(r) AS type, count(r) AS n, sum(coalesce(r.weight, 0)) AS w ORDER BY type"
        ),
    }


def check_lastfm_counts(store: GraphStore, raw: dict[str, Any]) -> None:
    assert store.node_count("User") == 1892
    assert store.node_count("Post") == 17632
    assert store.relationship_count("FOLLOWS") == 25434
    assert store.relationship_count("INTERACTED") == 92834
    assert count(store, "MATCH ()-[r:INTERACTED]->() WHERE r.kind <> 'listen' RETURN count(r) AS n") == 0
    posts = {row["id"] for row in store.read("MATCH (p:Post) RETURN p.id AS id")}
    assert posts == {f"lastfm:{a}" for a in raw["artist_ids"]}


def check_lastfm_rejects(summary: LoadSummary, rejects: list[dict[str, str]], raw: dict[str, Any]) -> None:
    tagged_file = raw["folder"] / "user_taggedartists.dat"
    lines = raw_lines(tagged_file)
    assert len(raw["unknown_lines"]) == 1538
    assert summary.rejected == len(rejects) == len(raw["unknown_lines"])
    assert {int(r["line"]) for r in rejects} == raw["unknown_lines"]
    for r in rejects:
        assert r["file"] == str(tagged_file) and r["field"] == "artistID"
        artist = lines[int(r["line"]) - 1].split("\t")[1]
        assert artist not in raw["artist_ids"]
        assert repr(artist) in r["reason"]


def check_lastfm_tags(store: GraphStore, raw: dict[str, Any]) -> None:
    valid: pd.DataFrame = raw["valid"]
    post_pairs = valid.groupby(["artistID", "tag"])["userID"].nunique()
    user_pairs = valid.groupby(["userID", "tag"]).size()
    post_tagged = store.read("MATCH (:Post)-[r:TAGGED]->(:Tag) RETURN count(r) AS c, sum(r.weight) AS w")[0]
    user_tagged = store.read("MATCH (:User)-[r:TAGGED]->(:Tag) RETURN count(r) AS c, sum(r.weight) AS w")[0]
    assert (post_tagged["c"], post_tagged["w"]) == (len(post_pairs), float(post_pairs.sum()))
    assert (user_tagged["c"], user_tagged["w"]) == (len(user_pairs), float(user_pairs.sum()))
    (artist, tag), users = next(iter(post_pairs.sort_values(ascending=False).items()))
    weight = store.read(
        "MATCH (:Post {id: $p})-[r:TAGGED]->(:Tag {name: $t}) RETURN r.weight AS w", {"p": f"lastfm:{artist}", "t": tag}
    )
    assert weight == [{"w": float(users)}]
    assert store.node_count("Tag") == valid["tag"].nunique()

    used = set(valid["tagValue"])
    non_ascii = [t for t in raw["tags"]["tagValue"] if t in used and not t.isascii()]
    assert non_ascii, "expected a used tag with a latin-1 character"
    assert non_ascii[0].encode("latin-1") in (raw["folder"] / "tags.dat").read_bytes()
    assert count(store, "MATCH (t:Tag {name: $name}) RETURN count(t) AS n", name=non_ascii[0].lower()) == 1
    assert count(store, "MATCH (t:Tag) WHERE t.name CONTAINS 'Ã' OR t.name CONTAINS '\ufffd' RETURN count(t) AS n") == 0


def test_lastfm_loads_exactly_and_reloads_unchanged(store: GraphStore, tmp_path: Path, lastfm_raw: dict[str, Any]) -> None:
    # One test for both loads: a full lastfm load takes tens of seconds, so the
    # reload check reuses the first load instead of starting from an empty graph again.
    folder: Path = lastfm_raw["folder"]
    start = time.perf_counter()
    first, rejects = load(store, lastfm_steps(folder), tmp_path / "rejects.tsv")
    log.info("lastfm loaded in %.1f s", time.perf_counter() - start)

    check_lastfm_counts(store, lastfm_raw)
    check_lastfm_rejects(first, rejects, lastfm_raw)
    check_lastfm_tags(store, lastfm_raw)

    before = graph_state(store)
    second, again = load(store, lastfm_steps(folder), tmp_path / "second.tsv")
    assert graph_state(store) == before
    assert (second.loaded, second.rejected) == (first.loaded, first.rejected)
    assert [(r["line"], r["reason"]) for r in again] == [(r["line"], r["reason"]) for r in rejects]
    assert count(store, "MATCH (c:IngestCheckpoint) RETURN count(c) AS n") == 0


# --- email-Eu-core ----------------------------------------------------------------


def test_email_eu_core(store: GraphStore, tmp_path: Path, datasets: Path) -> None:
    folder = datasets / "email_eu_core"
    edge_file = folder / "email-Eu-core.txt"
    pairs = [line.split() for line in raw_lines(edge_file) if line.strip()]
    loops = {i for i, (a, b) in enumerate(pairs, start=1) if a == b}
    labels = dict(line.split() for line in raw_lines(folder / "email-Eu-core-department-labels.txt") if line.strip())

    _, rejects = load(store, email_eu_core_steps(folder), tmp_path / "rejects.tsv")

    assert len(pairs) == 25571 and len(loops) == 642
    assert store.node_count("User") == 1005
    assert count(store, "MATCH (u:User) WHERE u.community IS NOT NULL RETURN count(u) AS n") == 1005
    assert store.relationship_count("FOLLOWS") == 25571 - 642
    assert len(rejects) == 642
    assert {int(r["line"]) for r in rejects} == loops
    assert all(r["file"] == str(edge_file) and "self-loop" in r["reason"] for r in rejects)
    sample = store.read("MATCH (u:User) RETURN u.id AS id, u.community AS c ORDER BY u.id LIMIT 50")
    assert sample and all(row["c"] == int(labels[row["id"].removeprefix("email-eu-core:")]) for row in sample)


# --- RumourEval -------------------------------------------------------------------


def reply_edges(tree: Any, parent: str | None = None) -> Iterator[tuple[str, str]]:
    for node, sub in (tree.items() if isinstance(tree, dict) else []):
        if parent is not None:
            yield node, parent
        yield from reply_edges(sub, node)


def test_rumoureval(store: GraphStore, tmp_path: Path, datasets: Path) -> None:
    folder = datasets / "rumoureval2017_threads"
    posts: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str]] = []
    for part in ("traindev", "test"):
        posts.update(json.loads((folder / part / "posts.json").read_text(encoding="utf-8")))
        for tree in json.loads((folder / part / "structures.json").read_text(encoding="utf-8")).values():
            edges += list(reply_edges(tree))
    dangling = [e for e in edges if e[0] not in posts or e[1] not in posts]

    summary, rejects = load(store, rumoureval_steps(folder), tmp_path / "rejects.tsv")

    assert store.node_count("Post") == len(posts) == 4519 + 1049
    assert store.relationship_count("REPLY_TO") == len(edges) - len(dangling)
    assert summary.rejected == len(rejects) == len(dangling) > 0
    assert all(r["file"].endswith("structures.json") and "edge to unknown node" in r["reason"] for r in rejects)
    assert count(store, "MATCH (p:Post) WHERE p.stance IS NULL OR p.thread IS NULL RETURN count(p) AS n") == 0

    stance_names = {str(v): k for k, v in json.loads((folder / "stanceCategory.json").read_text()).items()}
    post_id = raw_lines(folder / "test" / "post_id.txt")[5].strip()
    label = raw_lines(folder / "test" / "post_label.txt")[5].strip()
    (row,) = store.read(
        "MATCH (p:Post {id: $id}) RETURN p.stance AS stance, p.text AS text, p.lang AS lang, p.created_at.epochSeconds AS t",
        {"id": f"rumoureval:{post_id}"},
    )
    assert row == {"stance": stance_names[label], "text": posts[post_id]["text"], "lang": "en", "t": int(posts[post_id]["time"])}
    child, parent = next(e for e in edges if e[0] in posts and e[1] in posts)
    thread = store.read(
        "MATCH (c:Post {id: $c})-[:REPLY_TO]->(p:Post {id: $p}) RETURN c.thread = p.thread AS same, c.thread AS t",
        {"c": f"rumoureval:{child}", "p": f"rumoureval:{parent}"},
    )
    assert thread and thread[0]["same"]
    assert count(store, "MATCH (p:Post {id: $t}) RETURN count(p) AS n", t=thread[0]["t"]) == 1


# --- Gowalla (excerpt) ------------------------------------------------------------


def test_gowalla_excerpt(store: GraphStore, tmp_path: Path, datasets: Path) -> None:
    source = datasets / "gowalla_lightgcn" / "train.txt"
    with source.open(encoding="utf-8") as fh:
        excerpt = [next(fh) for _ in range(200)]
    (tmp_path / "train.txt").write_text("".join(excerpt), encoding="utf-8")
    tokens = [line.split() for line in excerpt]
    items = sum(len(t) - 1 for t in tokens)

    _, rejects = load(store, gowalla_steps(tmp_path), tmp_path / "rejects.tsv")

    assert rejects == []
    assert store.relationship_count("INTERACTED") == items
    assert store.node_count("User") == len(tokens)
    assert store.node_count("Post") == len({i for t in tokens for i in t[1:]})
    row = store.read("MATCH ()-[r:INTERACTED]->() RETURN collect(DISTINCT r.kind) AS k, sum(r.weight) AS w")[0]
    assert row == {"k": ["check-in"], "w": float(items)}
