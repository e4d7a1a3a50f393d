"""Every file of the query catalogue runs against a known graph and returns what it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.catalogue import QUERIES_DIR, load_query, query_names
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.store import GraphStore

TESTED = {"graph_counts", "popular_posts", "user_profile", "shared_interests"}
TESTED_WITH_EMBEDDINGS = {"similar_posts", "similar_users"}
"""Exercised in tests/graph/test_embed.py, where the vectors exist."""
TESTED_WITH_REPLIES = {"suggested_replies"}
"""Exercised in tests/graph/test_replies.py, where the reply job has run."""
TESTED_AFTER_PIPELINE = {
    "friend_suggestions", "recommendations", "community", "communities", "bridges",
    "community_sentiment_over_time", "community_emotions", "job_runs", "suggestion_acceptance",
}
"""Exercised in tests/graph/test_query_library.py, after every job has run."""


@pytest.fixture
def graph(store: GraphStore, tmp_path: Path) -> GraphStore:
    files = {
        "users.csv": "id,name,bio,opt_out\nann,Ann,hiker,false\nbo,Bo,photographer,false\ncy,Cy,hiker too,true\ndee,Dee,jazz,false\n",
        "posts.csv": "id,text\np1,Ridge at dawn\np2,Blue note\np3,Trail mix\n",
        "follows.csv": "src,dst\nann,dee\ndee,ann\nbo,ann\n",
        "posted.csv": "src,dst\nbo,p1\ndee,p2\n",
        "interacted.csv": "src,dst,kind,weight\nann,p1,like,1\nann,p1,repost,2\ncy,p1,like,1\nann,p2,like,1\nbo,p3,like,0.5\n",
        "post_tagged.csv": "src,dst,weight\np1,hiking,1\np1,photography,1\np2,jazz,1\n",
        "user_tagged.csv": "src,dst,weight\nann,hiking,1\nann,photography,0.5\nbo,hiking,1\nbo,photography,1\ncy,hiking,1\ncy,photography,1\ndee,jazz,1\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    log = RejectLog(None)
    summary = run_steps(Loader(store, log), canonical_dir_steps(tmp_path))
    assert summary.rejected == 0
    return store


def run(store: GraphStore, name: str, **params: object) -> list[dict]:
    return store.read(load_query(name), params)


def test_every_catalogue_query_is_tested() -> None:
    assert set(query_names()) == TESTED | TESTED_WITH_EMBEDDINGS | TESTED_WITH_REPLIES | TESTED_AFTER_PIPELINE, f"add a test for the new files in {QUERIES_DIR}"


def test_readme_lists_every_query_with_an_example() -> None:
    readme = (QUERIES_DIR.parent / "README.md").read_text(encoding="utf-8")
    missing = [name for name in query_names() if f"`python -m jobs query {name}" not in readme]
    assert not missing, f"add an example of each to the README's query catalogue: {missing}"


def test_graph_counts(graph: GraphStore) -> None:
    rows = {(r["kind"], r["name"]): r["count"] for r in run(graph, "graph_counts")}
    assert rows[("node", "User")] == 4 and rows[("node", "Post")] == 3 and rows[("node", "Tag")] == 3
    assert rows[("relationship", "INTERACTED")] == 5 and rows[("relationship", "TAGGED")] == 10


def test_popular_posts(graph: GraphStore) -> None:
    rows = run(graph, "popular_posts")
    assert [r["post"] for r in rows] == ["p1", "p2", "p3"]
    top = rows[0]
    assert top["weight"] == 4.0 and top["interactions"] == 3 and top["author"] == "Bo"
    assert sorted(top["tags"]) == ["hiking", "photography"]


def test_user_profile(graph: GraphStore) -> None:
    [row] = run(graph, "user_profile", user="ann")
    assert row["interests"] == ["hiking", "photography"]
    assert (row["following"], row["followers"], row["posts"], row["interactions"]) == (1, 2, 0, 3)


def test_shared_interests_skips_followed_and_opted_out(graph: GraphStore) -> None:
    rows = run(graph, "shared_interests", user="ann")
    assert [r["user"] for r in rows] == ["bo"], "cy opted out; dee shares nothing"
    assert rows[0]["shared_tags"] == 2
    assert run(graph, "shared_interests", user="dee") == []
