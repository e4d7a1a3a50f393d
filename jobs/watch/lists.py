"""The suggestion lists the watch service edits: a job's published run, and rows merged into it.

The service writes into the job's *current* run (its ``run_id``), so readers see its rows with the
batch rows through the same catalogue queries, and the next batch run replaces them like any
other row of the old run.  Its rows carry ``source: 'watch'`` and ``at`` (when written).  Every edit
of a person's list is one transaction that merges the new rows (a row already there is updated,
never doubled), keeps the ``k`` best by score and renumbers ``rank`` from 1, so a reader never sees a
post or a person twice in one list, nor more than ``k`` entries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import neo4j

from graph.schema import NODE_KEYS, RELATIONSHIP_TYPES, check_relationship_type
from graph.store import GraphStore
from graph.writeback import current_run

SOURCE = "watch"
"""The ``source`` of the rows the service writes."""


@dataclass(frozen=True)
class PublishedRun:
    """What the service needs of a job's current run.

    Attributes:
        run_id: the run the service writes into.
        k: the length of each person's list in that run.
        metrics: the run's metrics (for the recommend job, its fusion weights).
    """

    run_id: str
    k: int
    metrics: Mapping[str, Any]

    @classmethod
    def read(cls, store: GraphStore, job: str) -> "PublishedRun | None":
        """Returns the current run of ``job``, or None when it has none (nothing to fold into)."""
        run = current_run(store, job)
        if run is None:
            return None
        return cls(run["id"], int((run.get("params") or {}).get("k", 10)), run.get("metrics") or {})


def _statements(rel_type: str) -> tuple[str, str, str]:
    rel_type = check_relationship_type(rel_type)
    src_label, dst_label = RELATIONSHIP_TYPES[rel_type]
    src = f"(u:{src_label} {{{NODE_KEYS[src_label]}: row.src}})"
    dst = f"(v:{dst_label} {{{NODE_KEYS[dst_label]}: row.dst}})"
    clear = (
        f"UNWIND $replace AS id MATCH (u:{src_label} {{{NODE_KEYS[src_label]}: id}})-[r:{rel_type} {{run_id: $run}}]->() "
        "WHERE r.source = $source DELETE r"
    )
    merge = (
        f"UNWIND $rows AS row MATCH {src} MATCH {dst} MERGE (u)-[r:{rel_type} {{run_id: $run}}]->(v) "
        "SET r += row.props, r.source = $source, r.at = datetime()"
    )
    trim = (
        f"UNWIND $users AS id MATCH (u:{src_label} {{{NODE_KEYS[src_label]}: id}})-[r:{rel_type} {{run_id: $run}}]->() "
        "WITH u, r ORDER BY r.score DESC WITH u, collect(r) AS ranked "
        "FOREACH (x IN ranked[$k..] | DELETE x) "
        "WITH ranked[..$k] AS kept UNWIND range(0, size(kept) - 1) AS i "
        "WITH kept[i] AS r, i SET r.rank = i + 1"
    )
    return clear, merge, trim


def merge_rows(
    store: GraphStore, rel_type: str, run: PublishedRun, rows: Sequence[Mapping[str, Any]], replace: Sequence[str] = ()
) -> None:
    """Merges ``rows`` (``{src, dst, props}``; ``props`` holds ``score`` and ``reason``) into ``run``'s
    ``rel_type`` lists, in one transaction, first removing the service's earlier rows of the people
    in ``replace`` (whose lists the service recomputed whole); then keeps each touched list's ``k``
    best and renumbers its ranks."""
    clear, merge, trim = _statements(rel_type)
    users = sorted({row["src"] for row in rows} | set(replace))
    if not users:
        return

    def work(tx: neo4j.ManagedTransaction) -> None:
        params = {"run": run.run_id, "source": SOURCE}
        if replace:
            tx.run(clear, replace=list(replace), **params).consume()
        if rows:
            tx.run(merge, rows=[dict(row) for row in rows], **params).consume()
        tx.run(trim, users=users, k=run.k, run=run.run_id).consume()

    with store.session() as session:
        session.execute_write(work)


def renumber(store: GraphStore, rel_type: str, run: PublishedRun, users: Sequence[str]) -> None:
    """Keeps the ``k`` best of each of ``users``' lists in ``run`` and renumbers their ranks from 1
    (after rows left them, so that ranks have no gaps)."""
    if users:
        store.write(_statements(rel_type)[2], {"users": list(users), "k": run.k, "run": run.run_id})


def listed(store: GraphStore, rel_type: str, run: PublishedRun, users: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Returns, per person in ``users`` with a list in ``run``: ``n`` (its length), ``lowest`` (its
    lowest score), ``ids`` (who or what is on it) and ``batch`` (whether a batch run wrote any of it)."""
    rel_type = check_relationship_type(rel_type)
    src_label, dst_label = RELATIONSHIP_TYPES[rel_type]
    rows = store.read(
        f"UNWIND $users AS id MATCH (u:{src_label} {{{NODE_KEYS[src_label]}: id}})-[r:{rel_type} {{run_id: $run}}]->(v:{dst_label}) "
        f"RETURN id, count(r) AS n, min(r.score) AS lowest, collect(v.{NODE_KEYS[dst_label]}) AS ids, "
        "any(x IN collect(coalesce(r.source, '')) WHERE x <> $source) AS batch",
        {"users": list(users), "run": run.run_id, "source": SOURCE},
    )
    return {row["id"]: row for row in rows}
