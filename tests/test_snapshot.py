"""Snapshots from a real Neo4j into PyTorch Geometric: ids and counts round-trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graph.snapshot import IdMap, Projection, RelSpec, read_snapshot
from graph.store import GraphStore


@pytest.fixture
def small_graph(store: GraphStore) -> GraphStore:
    users = [{"id": f"u{i:03d}", "emb": [float(i), float(i) / 2]} for i in range(57)]
    store.write("UNWIND $rows AS r CREATE (:User {id: r.id, embedding: r.emb})", {"rows": users})
    store.write("UNWIND range(0, 20) AS i CREATE (:Post {id: 'p' + toString(i), text: 'post ' + toString(i)})")
    store.write(
        "MATCH (a:User), (b:User) WHERE a.id < b.id AND (toInteger(substring(a.id, 1)) + toInteger(substring(b.id, 1))) % 7 = 0 "
        "CREATE (a)-[:FOLLOWS]->(b)"
    )
    store.write(
        "MATCH (u:User), (p:Post) WHERE toInteger(substring(u.id, 1)) % 5 = toInteger(substring(p.id, 1)) % 5 "
        "CREATE (u)-[:INTERACTED {kind: 'like', weight: toFloat(toInteger(substring(p.id, 1)) + 1)}]->(p)"
    )
    return store


def test_snapshot_round_trips_ids_and_counts(small_graph: GraphStore) -> None:
    projection = Projection(
        nodes={"User": "embedding", "Post": None},
        relationships=[RelSpec("User", "FOLLOWS", "User"), RelSpec("User", "INTERACTED", "Post", weight="weight")],
    )
    snap = read_snapshot(small_graph, projection, page_size=10)
    data = snap.data
    assert data["User"].num_nodes == 57 and data["Post"].num_nodes == 21
    expected = small_graph.read("MATCH (a:User)-[:FOLLOWS]->(b:User) RETURN a.id AS a, b.id AS b")
    edge_index = data["User", "FOLLOWS", "User"].edge_index
    assert edge_index.shape == (2, len(expected))
    got = set(zip(snap.id_maps["User"].to_id(edge_index[0]), snap.id_maps["User"].to_id(edge_index[1])))
    assert got == {(r["a"], r["b"]) for r in expected}
    x = data["User"].x
    assert x.dtype == torch.float32 and x.shape == (57, 2)
    row = snap.id_maps["User"].to_index(["u042"])[0]
    assert x[row].tolist() == [42.0, 21.0]
    inter = data["User", "INTERACTED", "Post"]
    weights = small_graph.read("MATCH (:User)-[r:INTERACTED]->(:Post) RETURN sum(r.weight) AS s")[0]["s"]
    assert inter.edge_index.shape[1] == small_graph.relationship_count("INTERACTED")
    assert float(inter.edge_weight.sum()) == pytest.approx(weights)


def test_homogeneous_view_and_missing_features(small_graph: GraphStore) -> None:
    small_graph.write("CREATE (:User {id: 'zz-no-embedding'})")
    snap = read_snapshot(small_graph, Projection({"User": "embedding"}, [RelSpec("User", "FOLLOWS", "User")]))
    assert snap.missing_features["User"] == 1
    data = snap.homogeneous("User", "FOLLOWS")
    assert data.num_nodes == 58 and data.x.shape == (58, 2)
    row = snap.id_maps["User"].to_index(["zz-no-embedding"])[0]
    assert not data.has_x[row] and data.x[row].abs().sum() == 0
    assert int(data.has_x.sum()) == 57 and data.x[snap.id_maps["User"].to_index(["u042"])[0]].tolist() == [42.0, 21.0]
    assert int(data.edge_index.max()) < 58


def test_id_map_is_two_way_and_rejects_duplicates() -> None:
    ids = IdMap(["b", "a", "c"])
    assert ids.to_index(["c", "a", "missing"]).tolist() == [2, 1, -1]
    assert list(ids.to_id(np.array([0, 2]))) == ["b", "c"]
    with pytest.raises(ValueError):
        IdMap(["a", "a"])


def test_projection_labels_are_allow_listed(small_graph: GraphStore) -> None:
    with pytest.raises(ValueError):
        read_snapshot(small_graph, Projection({"User) DETACH DELETE (x": None}))
