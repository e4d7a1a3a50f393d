"""The Cypher statements that load a batch of rows: ``UNWIND $rows … MERGE`` for nodes and relationships.

Every label, relationship type and property name put into the statement text
goes through :mod:`graph.schema`'s checks; the rows themselves are parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graph.changes import STAMP, WATCHED_LABELS
from graph.ingest.kinds import NodeKind, RelKind
from graph.schema import NODE_KEYS, check_label, check_property, check_relationship_type


def set_properties(var: str, names: Iterable[str]) -> str:
    """Returns a ``SET`` clause that copies each of ``names`` from ``row`` onto ``var``.

    An absent value keeps the stored one, as ``SET var += row.props`` would.  The
    properties are named one by one because ``+=`` with a map the planner cannot
    see into makes it add an ``Eager`` barrier after ``MERGE``, which materialises the
    whole batch between them and slows the relationship load (figures:
    ``bench/RESULTS.md``, Ingest, and ``docs/history/benchmarks.md``).  They sit in the
    row map itself, not in a nested map: one
    map per row for the driver to pack and the server to unpack.

    Raises:
        SchemaError: for a name that is not a plain property name.
    """
    names = [check_property(name) for name in names]
    return "".join(
        f"{' SET' if i == 0 else ','} {var}.`{name}` = coalesce(row.`{name}`, {var}.`{name}`)"
        for i, name in enumerate(names)
    )


def _node_key(label: str) -> str:
    """Returns the key property of ``label``'s nodes, checked as every name put into Cypher text is."""
    return check_property(NODE_KEYS[check_label(label)])


def node_query(kind: NodeKind, stamp: bool = True) -> str:
    """Returns the ``UNWIND … MERGE`` statement that loads a batch of ``kind``'s nodes; with ``stamp``,
    a watched node gets its change stamp (:mod:`graph.changes`)."""
    label = check_label(kind.label)
    props = set_properties("n", (f.name for f in kind.fields if f.name != kind.key))
    if stamp and label in WATCHED_LABELS:
        props += f"{',' if props else ' SET'} n.{STAMP} = datetime()"
    return f"UNWIND $rows AS row MERGE (n:{label} {{{_node_key(label)}: row.key}}){props} RETURN count(*) AS written"


@dataclass(frozen=True)
class BatchStatements:
    """The statements one batch runs, in one transaction.

    Attributes:
        write: merges the rows and returns ``written``, how many it wrote.
        find_missing: returns rows with an unknown endpoint as ``(i, missing_src, missing_dst)``;
            run only when ``written`` falls short.
        create_src / create_dst: merge the batch's distinct endpoint keys (``$ids``) first,
            once per key rather than once per row.
        stamp_src: stamps the batch's distinct start nodes (``$ids``) as changed, once per node.
    """

    write: str
    find_missing: str | None = None
    create_src: str | None = None
    create_dst: str | None = None
    stamp_src: str | None = None


def node_merge(label: str) -> str:
    """Returns ``UNWIND $ids … MERGE`` of bare ``label`` nodes by key."""
    label = check_label(label)
    return f"UNWIND $ids AS id MERGE (:{label} {{{_node_key(label)}: id}})"


def relationship_statements(
    kind: RelKind, create_src: bool = False, create_dst: bool | None = None, stamp: bool = True
) -> BatchStatements:
    """Returns the statements that load a batch of ``kind``'s relationships; with ``stamp``, a watched
    start node gets its change stamp (:mod:`graph.changes`).

    Endpoints are matched by key (after merging them when they may be created);
    a row whose endpoint is unknown is not written, and ``find_missing`` tells
    which side was missing so the caller can reject it.
    """
    rel_type = check_relationship_type(kind.rel_type)
    src_label, dst_label = check_label(kind.src_label), check_label(kind.dst_label)
    create_dst = kind.create_dst if create_dst is None else create_dst
    src = f"(a:{src_label} {{{_node_key(src_label)}: row.src}})"
    dst = f"(b:{dst_label} {{{_node_key(dst_label)}: row.dst}})"
    merge_props = f" {{{check_property(kind.merge_on)}: row.merge}}" if kind.merge_on else ""
    props = set_properties("r", (f.name for f in kind.fields if f.name != kind.merge_on))
    return BatchStatements(
        write=(
            f"UNWIND $rows AS row MATCH {src} MATCH {dst} "
            f"MERGE (a)-[r:{rel_type}{merge_props}]->(b){props} RETURN count(*) AS written"
        ),
        find_missing=(
            f"UNWIND range(0, size($rows) - 1) AS i WITH i, $rows[i] AS row OPTIONAL MATCH {src} OPTIONAL MATCH {dst} "
            "WITH i, a, b WHERE a IS NULL OR b IS NULL "
            "RETURN i, a IS NULL AS missing_src, b IS NULL AS missing_dst"
        ),
        create_src=node_merge(src_label) if create_src else None,
        create_dst=node_merge(dst_label) if create_dst else None,
        stamp_src=(
            f"UNWIND $ids AS id MATCH (a:{src_label} {{{_node_key(src_label)}: id}}) SET a.{STAMP} = datetime()"
            if stamp and src_label in WATCHED_LABELS else None
        ),
    )
