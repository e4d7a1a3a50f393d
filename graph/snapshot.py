"""Snapshots of a graph projection into PyTorch Geometric, read in columnar pages.

Node ids are read in key order, one page per query, each page returned as one
record of ``collect``-ed lists; relationships are read per page of source ids.
Ids become contiguous indices through :class:`IdMap`, vectorised with pandas,
so no Python loop runs per node or per relationship.

What a snapshot is, when the graph is written while it is read
---------------------------------------------------------------
Each page is its own transaction, so a snapshot is not one point in time.  It holds
the nodes of each label as they were when their page was read, and the relationships
*among those nodes* that exist when the relationships' page is read:

- a node created after its page was read is not in the snapshot, and a relationship
  that touches it is dropped (counted in :attr:`Snapshot.dropped` and logged), so no
  edge index is ever ``-1``: every one is in ``[0, num_nodes)``;
- a node deleted after its page was read stays in the snapshot, with the features
  it had, but without relationships, since deleting a node deletes them.

Labels and relationship types pass the schema's allow-lists, and feature and weight
property names :func:`graph.schema.check_property`, before any query runs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data, HeteroData

from graph.arrays import VectorPages
from graph.schema import NODE_KEYS, check_label, check_property, check_relationship_type
from graph.store import GraphStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelSpec:
    """A relationship type between two labels, with an optional numeric property read as edge weight."""

    src: str
    type: str
    dst: str
    weight: str | None = None

    @property
    def edge_type(self) -> tuple[str, str, str]:
        """Returns the PyG edge type ``(src_label, rel_type, dst_label)``."""
        return (self.src, self.type, self.dst)


@dataclass(frozen=True)
class Projection:
    """What to read: node labels (each with an optional vector property as features) and relationship types."""

    nodes: dict[str, str | None]
    relationships: Sequence[RelSpec] = field(default_factory=tuple)


class IdMap:
    """A stable two-way map between node ids (strings) and row indices ``0..n-1``."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.ids = np.asarray(ids, dtype=object)
        self._index = pd.Index(self.ids)
        if not self._index.is_unique:
            raise ValueError("node ids are not unique")

    def __len__(self) -> int:
        return len(self.ids)

    def to_index(self, ids: Sequence[str]) -> np.ndarray:
        """Returns the indices (int64) of ``ids``; ``-1`` for ids not in the map."""
        return self._index.get_indexer(pd.Index(ids, dtype=object)).astype(np.int64)

    def to_id(self, index: Sequence[int] | np.ndarray | torch.Tensor) -> np.ndarray:
        """Returns the ids at ``index`` as an object array."""
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        return self.ids[np.asarray(index, dtype=np.int64)]


@dataclass
class Snapshot:
    """A projection read into memory.

    Attributes:
        data: ``HeteroData`` with ``data[label].num_nodes``, ``data[label].x`` (``[N, F]``
            float32, zeros where a node lacks the property) and ``data[label].has_x`` (``[N]``
            bool) when features were asked for and at least one node has them, and
            ``data[edge_type].edge_index`` (``[2, E]`` int64), plus ``edge_weight`` (``[E]``).
        id_maps: one :class:`IdMap` per label.
        missing_features: per label, how many nodes lacked the feature property.
        dropped: per edge type, how many relationships were left out because an endpoint
            was created after its page was read (0 when nothing was written meanwhile).
    """

    data: HeteroData
    id_maps: dict[str, IdMap]
    missing_features: dict[str, int] = field(default_factory=dict)
    dropped: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def homogeneous(self, label: str, rel_type: str) -> Data:
        """Returns a ``Data`` of one label and one relationship type between nodes of that label."""
        store = self.data[label]
        edge = self.data[(label, rel_type, label)]
        out = Data(edge_index=edge.edge_index, num_nodes=store.num_nodes)
        if "x" in store:
            out.x, out.has_x = store.x, store.has_x
        if "edge_weight" in edge:
            out.edge_weight = edge.edge_weight
        return out


def _check(projection: Projection) -> None:
    """Raises :class:`graph.schema.SchemaError` for a name that may not reach Cypher text, and
    ``ValueError`` for a relationship whose labels are not both projected."""
    for label, feature in projection.nodes.items():
        check_label(label)
        if feature is not None:
            check_property(feature)
    for spec in projection.relationships:
        check_label(spec.src)
        check_label(spec.dst)
        check_relationship_type(spec.type)
        if spec.weight is not None:
            check_property(spec.weight)
        if spec.src not in projection.nodes or spec.dst not in projection.nodes:
            raise ValueError(f"relationship {spec.edge_type} needs both labels in the projection")


def _read_node_pages(
    store: GraphStore, label: str, feature: str | None, page_size: int
) -> tuple[list[str], np.ndarray | None, np.ndarray | None]:
    """Returns ``(ids, x [n, F] | None, has_x [n] | None)`` of every ``label`` node in key order;
    x is None when no node has ``feature``, both are None without a feature."""
    key = NODE_KEYS[label]
    # collect() drops nulls, which would misalign features and ids: missing becomes [].
    feature_expr = f"collect(coalesce(n.`{feature}`, []))" if feature is not None else "[]"
    query = (
        f"MATCH (n:{label}) WHERE n.{key} > $after "
        f"WITH n ORDER BY n.{key} LIMIT $page "
        f"RETURN collect(n.{key}) AS ids, {feature_expr} AS features"
    )
    ids: list[str] = []
    vectors = VectorPages(f"{label}.{feature}")
    for page_ids, values in store.collected_pages(query, page_size, 2):
        ids.extend(page_ids)
        if feature is not None:
            vectors.add(values)
    if feature is None:
        return ids, None, None
    x, has_x = vectors.matrix()
    return ids, x, has_x


def _read_edges(store: GraphStore, spec: RelSpec, src_ids: list[str], page_size: int) -> tuple[list, list, list]:
    src_key, dst_key = NODE_KEYS[spec.src], NODE_KEYS[spec.dst]
    weight_expr = f"collect(coalesce(r.`{spec.weight}`, 1.0))" if spec.weight is not None else "[]"
    query = (
        f"MATCH (a:{spec.src})-[r:{spec.type}]->(b:{spec.dst}) "
        f"WHERE a.{src_key} >= $lo AND a.{src_key} <= $hi "
        f"RETURN collect(a.{src_key}) AS src, collect(b.{dst_key}) AS dst, {weight_expr} AS weight"
    )
    src: list = []
    dst: list = []
    weight: list = []
    for start in range(0, len(src_ids), page_size):
        page = src_ids[start : start + page_size]
        _, rows = store.read_columns(query, {"lo": page[0], "hi": page[-1]})
        if not rows:
            continue
        s, d, w = rows[0]
        src.extend(s)
        dst.extend(d)
        weight.extend(w)
    return src, dst, weight


def read_snapshot(store: GraphStore, projection: Projection, page_size: int | None = None) -> Snapshot:
    """Reads ``projection`` from the graph, a page of ``page_size`` nodes per transaction.

    Returns:
        A :class:`Snapshot` as the module docstring defines it: the nodes as of their page's
        read and the relationships among them; relationships with an endpoint outside the
        snapshot are dropped and counted, so every edge index is in ``[0, num_nodes)``.

    Raises:
        SchemaError: for a label, relationship type, feature or weight name that is not
            allowed, before any query runs.
        ValueError: for a relationship whose labels are not both in the projection.
    """
    _check(projection)
    page = page_size or 50_000
    data = HeteroData()
    id_maps: dict[str, IdMap] = {}
    missing: dict[str, int] = {}
    dropped: dict[tuple[str, str, str], int] = {}
    for label, feature in projection.nodes.items():
        ids, x, has_x = _read_node_pages(store, label, feature, page)
        id_maps[label] = IdMap(ids)
        data[label].num_nodes = len(ids)
        if has_x is not None:
            missing[label] = int(len(ids) - has_x.sum())
            if x is not None:
                data[label].x = torch.from_numpy(x)
                data[label].has_x = torch.from_numpy(has_x)
            if missing[label]:
                log.info("%d of %d %s nodes lack %r (zero features, has_x false)", missing[label], len(ids), label, feature)
    for spec in projection.relationships:
        src, dst, weight = _read_edges(store, spec, list(id_maps[spec.src].ids), page)
        src_index = id_maps[spec.src].to_index(src)
        dst_index = id_maps[spec.dst].to_index(dst)
        # An endpoint created after its page was read maps to -1, which torch would take for
        # the last node: such relationships are not among the snapshot's nodes, so they go.
        inside = (src_index >= 0) & (dst_index >= 0)
        dropped[spec.edge_type] = int(inside.size - np.count_nonzero(inside))
        if dropped[spec.edge_type]:
            log.info(
                "dropped %d of %d %s relationships: an endpoint was created after its page was read",
                dropped[spec.edge_type], inside.size, spec.edge_type,
            )
            src_index, dst_index = src_index[inside], dst_index[inside]
        data[spec.edge_type].edge_index = torch.from_numpy(np.stack([src_index, dst_index]))
        if spec.weight is not None:
            weights = np.asarray(weight, dtype=np.float32)
            data[spec.edge_type].edge_weight = torch.from_numpy(weights[inside] if dropped[spec.edge_type] else weights)
    return Snapshot(data, id_maps, missing, dropped)
