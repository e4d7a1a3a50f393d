"""Names that reach Cypher text (labels, relationship types, feature and weight properties) pass one
check in graph/schema before any query runs, so a hostile name changes nothing in the graph."""

from __future__ import annotations

from typing import Any

import pytest

from graph.schema import SchemaError
from graph.snapshot import Projection, RelSpec, read_snapshot
from graph.store import GraphStore

pytestmark = pytest.mark.faults

HOSTILE = ["a`) DETACH DELETE n //", "User) DETACH DELETE (x", "weight`, 1.0)) MATCH (m) DETACH DELETE m //", "", "1st", "em bedding"]


def projections(name: str) -> dict[str, Projection]:
    """One projection per place a name can take, each valid but for ``name``."""
    return {
        "label": Projection({"User": None, name: None}),
        "feature": Projection({"User": None, "Post": name}),
        "relationship type": Projection({"User": None}, [RelSpec("User", name, "User")]),
        "source label": Projection({"User": None}, [RelSpec(name, "FOLLOWS", "User")]),
        "weight": Projection({"User": None, "Post": None}, [RelSpec("User", "INTERACTED", "Post", weight=name)]),
    }


@pytest.fixture
def graph_counts(store: GraphStore) -> GraphStore:
    store.write(
        "CREATE (a:User {id: 'a', embedding: [1.0]}), (b:User {id: 'b'}), (p:Post {id: 'p'}), "
        "(a)-[:FOLLOWS]->(b), (a)-[:INTERACTED {kind: 'like', weight: 2.0}]->(p)"
    )
    return store


def counts(store: GraphStore) -> tuple[int, int]:
    row = store.read("MATCH (n) OPTIONAL MATCH (n)-[r]->() RETURN count(DISTINCT n) AS n, count(r) AS r")[0]
    return row["n"], row["r"]


def no_queries(store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every query the store is asked to run from now on."""
    ran: list[str] = []
    for method in ("read", "read_columns", "write", "run_autocommit"):
        original = getattr(store, method)

        def recording(query: str, params: Any = None, _original: Any = original) -> Any:
            ran.append(query)
            return _original(query, params)

        monkeypatch.setattr(store, method, recording)
    return ran


@pytest.mark.parametrize("place", ["label", "feature", "relationship type", "source label", "weight"])
@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_in_a_projection_is_refused_before_any_query(
    graph_counts: GraphStore, monkeypatch: pytest.MonkeyPatch, place: str, name: str
) -> None:
    before = counts(graph_counts)
    ran = no_queries(graph_counts, monkeypatch)
    with pytest.raises(SchemaError):
        read_snapshot(graph_counts, projections(name)[place])
    assert ran == [], "the check comes before the first query"
    monkeypatch.undo()
    assert counts(graph_counts) == before


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_label_or_type_is_refused_by_the_store_counts(graph_counts: GraphStore, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    before = counts(graph_counts)
    ran = no_queries(graph_counts, monkeypatch)
    with pytest.raises(SchemaError):
        graph_counts.node_count(name)
    with pytest.raises(SchemaError):
        graph_counts.relationship_count(name)
    assert ran == []
    monkeypatch.undo()
    assert counts(graph_counts) == before


def test_allowed_names_still_read(graph_counts: GraphStore) -> None:
    snap = read_snapshot(graph_counts, projections("embedding")["feature"])
    assert snap.data["User"].num_nodes == 2 and snap.data["Post"].num_nodes == 1
    weighted = read_snapshot(graph_counts, projections("weight")["weight"])
    assert weighted.data["User", "INTERACTED", "Post"].edge_weight.tolist() == [2.0]
    assert (graph_counts.node_count("User"), graph_counts.relationship_count("FOLLOWS")) == (2, 1)
