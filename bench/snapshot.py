"""Snapshot read rate: paged columnar reads against a naive per-record driver loop, same graph, same run."""

from __future__ import annotations

from typing import Any

import torch

from bench.harness import timed
from graph.snapshot import Projection, RelSpec, read_snapshot
from graph.store import GraphStore

PROJECTION = Projection({"User": None, "Post": None}, [RelSpec("User", "INTERACTED", "Post", weight="weight")])


def naive(store: GraphStore) -> int:
    """Reads the same projection record by record, as a first attempt would.

    Returns:
        The number of edges read.
    """
    with store.session() as session:
        users = {rec["id"]: i for i, rec in enumerate(session.run("MATCH (u:User) RETURN u.id AS id ORDER BY id"))}
        posts = {rec["id"]: i for i, rec in enumerate(session.run("MATCH (p:Post) RETURN p.id AS id ORDER BY id"))}
        src, dst, weight = [], [], []
        for rec in session.run("MATCH (u:User)-[r:INTERACTED]->(p:Post) RETURN u.id AS u, p.id AS p, r.weight AS w"):
            src.append(users[rec["u"]])
            dst.append(posts[rec["p"]])
            weight.append(rec["w"])
    edge_index = torch.tensor([src, dst], dtype=torch.long)
    torch.tensor(weight, dtype=torch.float32)
    return edge_index.shape[1]


def run(store: GraphStore, repeats: int = 3) -> list[dict[str, Any]]:
    """Times both readers ``repeats`` times each (best of) on the graph in ``store``.

    Returns:
        One row per reader: edges, best seconds, edges/s, speed-up over the naive loop.
    """
    def edges_read() -> int:
        return read_snapshot(store, PROJECTION).data["User", "INTERACTED", "Post"].edge_index.shape[1]

    readers = {"naive per-record loop": lambda: naive(store), "graph.snapshot (paged columns)": edges_read}
    best = {name: min((timed(reader) for _ in range(repeats)), key=lambda t: t[1]) for name, reader in readers.items()}
    base = best["naive per-record loop"][1]
    return [dict(reader=name, edges=e, seconds=s, rate=e / s, speedup=base / s) for name, (e, s) in best.items()]
