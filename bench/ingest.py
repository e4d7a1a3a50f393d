"""Ingest rates: transactional loader and bulk path against ``neo4j-admin database import full`` of the same data."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import SHARED, fresh, timed
from graph.ingest.bulk import AdminExport, admin_import, bulk_load
from graph.ingest.datasets import dataset_steps, gowalla_steps
from graph.ingest.kinds import RelKind
from graph.ingest.loader import Loader, LoadSummary, RejectLog
from graph.ingest.rows import RawRow
from graph.ingest.steps import run_steps
from graph.server import LocalNeo4j
from graph.store import GraphStore, batched

log = logging.getLogger(__name__)
FOLDERS = {"lastfm": "lastfm_hetrec2011", "gowalla": "gowalla_lightgcn"}


def _relationships(summary: LoadSummary, steps: list) -> int:
    rel_kinds = {k.name for k in (s.kind for s in steps) if isinstance(k, RelKind)}
    return sum(k.loaded for k in summary.kinds if k.kind in rel_kinds)


def transactional(store: GraphStore, dataset: str, batch_size: int, gowalla_split: str = "train") -> tuple[int, float]:
    """Returns ``(relationships, seconds)`` of a transactional load of ``dataset`` into the current graph."""
    path = SHARED / FOLDERS[dataset]
    steps = gowalla_steps(path, split=gowalla_split) if dataset == "gowalla" else dataset_steps(dataset, path)
    summary, seconds = timed(lambda: run_steps(Loader(store, RejectLog(None), batch_size=batch_size), steps))
    return _relationships(summary, steps), seconds


def incremental(store: GraphStore, batch_size: int) -> tuple[int, float]:
    """Returns ``(relationships, seconds)`` of loading the Gowalla test split onto the train graph already in ``store``."""
    return transactional(store, "gowalla", batch_size, gowalla_split="test")


def remove_test_split(store: GraphStore) -> None:
    """Deletes the check-ins of the Gowalla test split (their users and places stay), so it can be loaded again."""
    (step,) = gowalla_steps(SHARED / FOLDERS["gowalla"], split="test")
    pairs = [{"src": row.fields["src"], "dst": row.fields["dst"]} for row in step.rows() if isinstance(row, RawRow)]
    for batch in batched(pairs, 20_000):
        store.write(
            "UNWIND $rows AS row MATCH (:User {id: row.src})-[r:INTERACTED {kind: 'check-in'}]->(:Post {id: row.dst}) DELETE r",
            {"rows": batch},
        )


def admin_ceiling(server: LocalNeo4j, store: GraphStore, dataset: str, work: Path) -> tuple[int, float, float]:
    """Returns ``(relationships, import_seconds, restart_seconds)`` of neo4j-admin importing pre-written CSVs of ``dataset``.

    ``import_seconds`` times the tool alone (the server stopped meanwhile); ``restart_seconds``
    times what the offline path needs after it before the graph is usable: starting the
    server and creating the schema.
    """
    from graph.schema import ensure_schema

    export = AdminExport(RejectLog(None))
    for step in dataset_steps(dataset, SHARED / FOLDERS[dataset]):
        export.add(step)
    files = export.write(work)
    server.stop()
    try:
        _, seconds = timed(lambda: admin_import(server, files, work / "import.report"))
    finally:
        _, restart = timed(lambda: (server.start(), ensure_schema(store)))
    return files.relationship_count, seconds, restart


def bulk(server: LocalNeo4j, store: GraphStore, dataset: str, work: Path) -> tuple[int, float]:
    """Returns ``(relationships, seconds)`` of the whole bulk path: validate, write CSV, stop, import, start, schema."""
    from graph.schema import ensure_schema

    steps = dataset_steps(dataset, SHARED / FOLDERS[dataset])

    def run() -> LoadSummary:
        summary = bulk_load(server, lambda: True, steps, RejectLog(None), work)
        ensure_schema(store)
        return summary

    summary, seconds = timed(run)
    return _relationships(summary, steps), seconds


def run(server: LocalNeo4j, store: GraphStore, datasets: list[str], batch_sizes: list[int]) -> list[dict[str, Any]]:
    """Measures every path on each dataset.

    Returns:
        One row per measurement: dataset, path, relationships, seconds, rate, ratio to neo4j-admin.
    """
    rows: list[dict[str, Any]] = []

    def record(dataset: str, path: str, rels: int, seconds: float) -> None:
        rows.append(dict(dataset=dataset, path=path, rels=rels, seconds=seconds, rate=rels / seconds))
        log.info("%s", rows[-1])

    for dataset in datasets:
        work = Path(tempfile.mkdtemp(prefix=f"bench-{dataset}-"))
        try:
            rels, seconds, restart = admin_ceiling(server, store, dataset, work / "admin")
            record(dataset, "neo4j-admin import (ceiling)", rels, seconds)
            ceiling = rows[-1]["rate"]
            record(dataset, "neo4j-admin import, then start and schema", rels, seconds + restart)
            fresh(store)
            record(dataset, "sociograph --bulk", *bulk(server, store, dataset, work / "bulk"))
            if dataset == "gowalla":
                record(dataset, "incremental (test split onto train), just restarted", *incremental(store, batch_sizes[0]))
                remove_test_split(store)
                record(dataset, "incremental again, warm server (train graph from --bulk)", *incremental(store, batch_sizes[0]))
            for size in batch_sizes:
                fresh(store)
                record(dataset, f"transactional, batch {size:,}", *transactional(store, dataset, size))
            if dataset == "gowalla":
                record(dataset, "incremental, warm server (train graph loaded transactionally after a wipe)", *incremental(store, batch_sizes[0]))
            for row in rows:
                if row["dataset"] == dataset:
                    row["vs_admin"] = row["rate"] / ceiling
            log.info("%s done", dataset)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return rows
