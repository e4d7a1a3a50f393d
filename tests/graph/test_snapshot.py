"""Snapshots from a real Neo4j into PyTorch Geometric: ids and counts round-trip, and writes
during a snapshot never leave an edge index outside the snapshot's nodes."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from graph.snapshot import IdMap, Projection, RelSpec, Snapshot, read_snapshot
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


FOLLOWS_ONLY = Projection({"User": "embedding"}, [RelSpec("User", "FOLLOWS", "User")])


def follows_pairs(snap: Snapshot) -> set[tuple[str, str]]:
    """The snapshot's FOLLOWS as id pairs, after checking that every index names one of its nodes."""
    edge_index = snap.data["User", "FOLLOWS", "User"].edge_index
    n = snap.data["User"].num_nodes
    assert edge_index.dtype == torch.int64
    if edge_index.numel():
        assert int(edge_index.min()) >= 0 and int(edge_index.max()) < n, "an edge index outside [0, num_nodes)"
    users = snap.id_maps["User"]
    return set(zip(users.to_id(edge_index[0]), users.to_id(edge_index[1])))


def stored_follows(store: GraphStore) -> set[tuple[str, str]]:
    return {(r["a"], r["b"]) for r in store.read("MATCH (a:User)-[:FOLLOWS]->(b:User) RETURN a.id AS a, b.id AS b")}


def before_first_edge_page(store: GraphStore, monkeypatch: pytest.MonkeyPatch, write: Callable[[], None]) -> None:
    """Runs ``write`` once, right after the last node page and before the first relationship page is read."""
    read_columns = store.read_columns
    done = []

    def reading(query: str, params: Any = None) -> Any:
        if query.startswith("MATCH (a:") and not done:
            done.append(True)
            write()
        return read_columns(query, params)

    monkeypatch.setattr(store, "read_columns", reading)


def test_nodes_created_and_deleted_between_node_and_edge_pages(small_graph: GraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    old = stored_follows(small_graph)
    assert ("u000", "u014") in old and ("u007", "u014") in old

    def write() -> None:
        # u005~ sorts inside the first page of source ids; zz-new after every id read.
        small_graph.write(
            "CREATE (n:User {id: 'u005~'}), (z:User {id: 'zz-new'}) WITH n, z "
            "MATCH (a:User {id: 'u001'}), (b:User {id: 'u002'}), (c:User {id: 'u003'}), (d:User {id: 'u004'}) "
            "CREATE (n)-[:FOLLOWS]->(a), (b)-[:FOLLOWS]->(n), (c)-[:FOLLOWS]->(z), (z)-[:FOLLOWS]->(d)"
        )
        small_graph.write("MATCH (u:User {id: 'u014'}) DETACH DELETE u")

    before_first_edge_page(small_graph, monkeypatch, write)
    snap = read_snapshot(small_graph, FOLLOWS_ONLY, page_size=10)
    users = snap.id_maps["User"]
    assert snap.data["User"].num_nodes == 57 and "u005~" not in set(users.ids) and "zz-new" not in set(users.ids)
    pairs = follows_pairs(snap)
    assert pairs == {(a, b) for a, b in old if "u014" not in (a, b)}
    assert snap.dropped[("User", "FOLLOWS", "User")] == 3, "u005~ -> u001, u002 -> u005~, u003 -> zz-new"
    deleted = users.to_index(["u014"])[0]
    assert deleted >= 0, "a node deleted after its page was read stays, without relationships"
    assert snap.data["User"].x[deleted].tolist() == [14.0, 7.0]


def test_relationship_weights_stay_aligned_when_edges_are_dropped(small_graph: GraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def write() -> None:
        small_graph.write(
            "CREATE (p:Post {id: 'p10~'}) WITH p MATCH (u:User {id: 'u000'}) "
            "CREATE (u)-[:INTERACTED {kind: 'like', weight: 1000.0}]->(p)"
        )

    before_first_edge_page(small_graph, monkeypatch, write)
    spec = RelSpec("User", "INTERACTED", "Post", weight="weight")
    snap = read_snapshot(small_graph, Projection({"User": None, "Post": None}, [spec]), page_size=10)
    edges = snap.data[spec.edge_type]
    assert snap.dropped[spec.edge_type] == 1
    got = {
        (u, p): w
        for u, p, w in zip(snap.id_maps["User"].to_id(edges.edge_index[0]), snap.id_maps["Post"].to_id(edges.edge_index[1]), edges.edge_weight.tolist())
    }
    stored = small_graph.read("MATCH (u:User)-[r:INTERACTED]->(p:Post) WHERE p.id <> 'p10~' RETURN u.id AS u, p.id AS p, r.weight AS w")
    assert got == {(r["u"], r["p"]): r["w"] for r in stored}


def test_snapshots_while_users_and_follows_are_written(small_graph: GraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    old_ids = [f"u{i:03d}" for i in range(57)]
    old = stored_follows(small_graph)
    stop = threading.Event()
    writes = [0]
    wrote = threading.Condition()
    failures: list[BaseException] = []
    read_columns = small_graph.read_columns

    def read_after_a_write(query: str, params: dict | None = None):
        # However the threads are scheduled, every page of the snapshot is read after at least
        # one more write than the page before it.
        with wrote:
            seen = writes[0]
            assert wrote.wait_for(lambda: writes[0] > seen or bool(failures), timeout=60), "the writer stalled"
        return read_columns(query, params)

    monkeypatch.setattr(small_graph, "read_columns", read_after_a_write)

    def writer() -> None:
        rng = random.Random(3)
        created: list[str] = []
        try:
            while not stop.is_set():
                # New ids sort between the old ones ("u017~4" after "u017"), so they fall inside the
                # pages of source ids as well as at their ends.
                new = f"{rng.choice(old_ids)}~{writes[0]}"
                small_graph.write(
                    "MATCH (a:User {id: $a}), (b:User {id: $b}) CREATE (n:User {id: $id}), (n)-[:FOLLOWS]->(a), (b)-[:FOLLOWS]->(n)",
                    {"id": new, "a": rng.choice(old_ids), "b": rng.choice(old_ids)},
                )
                created.append(new)
                if len(created) > 3:
                    small_graph.write("MATCH (n:User {id: $id}) DETACH DELETE n", {"id": created.pop(rng.randrange(len(created)))})
                with wrote:
                    writes[0] += 1
                    wrote.notify_all()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
            with wrote:
                wrote.notify_all()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        for _ in range(6):
            before = writes[0]
            snap = read_snapshot(small_graph, FOLLOWS_ONLY, page_size=4)
            assert writes[0] > before and not failures, failures
            pairs = follows_pairs(snap)
            users = set(snap.id_maps["User"].ids)
            assert set(old_ids) <= users
            assert {(a, b) for a, b in pairs if a in old_ids and b in old_ids} == old, "edges among untouched users are exact"
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not failures, failures
