"""Initial bulk load through ``neo4j-admin database import full`` for the project-managed server.

Rows are validated exactly as the transactional loader validates them (same
rejects, same merge semantics: a later value of a property wins, repeated
relationships collapse), written as neo4j-admin CSV files, and imported into an
*empty* database while the server is stopped.  The schema is created after the
import.  Use it for the first load of a large input; incremental loads go
through :class:`graph.ingest.loader.Loader`.
"""

from __future__ import annotations

import csv
import logging
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from graph.ingest.kinds import FieldType, NodeKind, RelKind
from graph.ingest.loader import KindSummary, LoadSummary, RejectLog
from graph.ingest.rows import Reject
from graph.ingest.steps import Step
from graph.ingest.validate import RelRecord, Validator, valid_records
from graph.schema import NODE_KEYS, check_label, check_relationship_type
from graph.server import LocalNeo4j

log = logging.getLogger(__name__)

ADMIN_TYPES = {
    FieldType.WEIGHT: "float",
    FieldType.INT: "long",
    FieldType.BOOL: "boolean",
    FieldType.DATETIME: "datetime",
}


class BulkImportError(RuntimeError):
    """Raised when the bulk path cannot be used (non-empty database, import failure)."""


@dataclass
class _RelTable:
    kind: RelKind
    rows: dict[tuple[str, str, Any], dict[str, Any]] = field(default_factory=dict)


@dataclass
class AdminFiles:
    """neo4j-admin import inputs: ``(label, path)`` node files and ``(type, path)`` relationship files."""

    nodes: list[tuple[str, Path]]
    relationships: list[tuple[str, Path]]
    relationship_count: int

    def arguments(self) -> list[str]:
        """Returns the ``--nodes`` / ``--relationships`` arguments for ``database import full``."""
        return [f"--nodes={label}={path}" for label, path in self.nodes] + [
            f"--relationships={rel_type}={path}" for rel_type, path in self.relationships
        ]


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _header(name: str, kind_fields: Iterable[Any]) -> str:
    for f in kind_fields:
        if f.name == name and f.type in ADMIN_TYPES:
            return f"{name}:{ADMIN_TYPES[f.type]}"
    return name


class AdminExport:
    """Validates steps into in-memory node and relationship tables and writes them as admin CSV."""

    def __init__(self, rejects: RejectLog) -> None:
        self.rejects = rejects
        self.summary = LoadSummary()
        self.nodes: dict[str, dict[str, dict[str, Any]]] = {}
        self.node_fields: dict[str, dict[str, Any]] = {}
        self.rels: list[_RelTable] = []

    def add(self, step: Step) -> None:
        """Validates one step's rows into the tables."""
        summary = KindSummary(step.kind.name, step.source)
        self.summary.kinds.append(summary)
        validator = Validator(step.kind)
        if isinstance(step.kind, NodeKind):
            label = check_label(step.kind.label)
            table = self.nodes.setdefault(label, {})
            self.node_fields.setdefault(label, {}).update({f.name: f for f in step.kind.fields})
            for rec in valid_records(step.rows(), validator, lambda r: self._reject(summary, r)):
                table.setdefault(rec.key, {}).update(rec.props)
                summary.loaded += 1
        else:
            kind = step.kind
            create_dst = kind.create_dst if step.create_dst is None else step.create_dst
            src_nodes = self.nodes.setdefault(check_label(kind.src_label), {})
            dst_nodes = self.nodes.setdefault(check_label(kind.dst_label), {})
            table = _RelTable(kind)
            self.rels.append(table)
            for rec in valid_records(step.rows(), validator, lambda r: self._reject(summary, r)):
                missing = self._endpoint_missing(rec, kind, src_nodes, dst_nodes, step.create_src, create_dst)
                if missing:
                    self._reject(summary, Reject(rec.source, rec.line, missing[0], missing[1]))
                    continue
                table.rows.setdefault((rec.src, rec.dst, rec.merge), {}).update(rec.props)
                summary.loaded += 1
        summary.duplicates = validator.duplicates

    @staticmethod
    def _endpoint_missing(
        rec: RelRecord, kind: RelKind, src_nodes: dict, dst_nodes: dict, create_src: bool, create_dst: bool
    ) -> tuple[str, str] | None:
        if rec.src not in src_nodes:
            if not create_src:
                return "src", f"edge to unknown node: no {kind.src_label} {rec.src!r}"
            src_nodes[rec.src] = {}
        if rec.dst not in dst_nodes:
            if not create_dst:
                return "dst", f"edge to unknown node: no {kind.dst_label} {rec.dst!r}"
            dst_nodes[rec.dst] = {}
        return None

    def _reject(self, summary: KindSummary, reject: Reject) -> None:
        summary.rejected += 1
        self.rejects.add(reject)

    def write(self, out_dir: Path) -> AdminFiles:
        """Writes one CSV per label and per relationship input.

        Returns:
            The files and the number of relationships they hold.
        """
        out_dir.mkdir(parents=True, exist_ok=True)
        node_files = []
        for label, table in self.nodes.items():
            if not table:
                continue
            key = NODE_KEYS[label]
            fields = self.node_fields.get(label, {})
            props = sorted({p for values in table.values() for p in values} - {key})
            path = out_dir / f"nodes-{label}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow([f"{key}:ID({label})", *(_header(p, fields.values()) for p in props)])
                for node_key, values in table.items():
                    writer.writerow([node_key, *(_cell(values.get(p)) for p in props)])
            node_files.append((label, path))
        rel_files = []
        total = 0
        for i, table in enumerate(self.rels):
            kind = table.kind
            rel_type = check_relationship_type(kind.rel_type)
            props = sorted({p for values in table.rows.values() for p in values})
            merge = [kind.merge_on] if kind.merge_on else []
            path = out_dir / f"rels-{i:02d}-{kind.name}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(
                    [f":START_ID({kind.src_label})", f":END_ID({kind.dst_label})", *merge, *(_header(p, kind.fields) for p in props)]
                )
                for (src, dst, merge_value), values in table.rows.items():
                    writer.writerow([src, dst, *([merge_value] if merge else []), *(_cell(values.get(p)) for p in props)])
            rel_files.append((rel_type, path))
            total += len(table.rows)
        return AdminFiles(node_files, rel_files, total)


def admin_import(server: LocalNeo4j, files: AdminFiles, report: Path) -> None:
    """Runs ``neo4j-admin database import full`` into the (stopped) server's ``neo4j`` database.

    Args:
        report: where neo4j-admin writes its report of skipped or bad entries.

    Raises:
        BulkImportError: with the tool's own message when it fails.
    """
    proc = server.admin(
        "database", "import", "full", "neo4j", "--overwrite-destination=true", "--multiline-fields=true",
        "--skip-duplicate-nodes=false", f"--report-file={report}", *files.arguments(),
    )
    if proc.returncode != 0:
        raise BulkImportError(f"neo4j-admin import failed: {(proc.stdout + proc.stderr).strip()[-800:]}")


def bulk_load(
    server: LocalNeo4j,
    is_empty: Callable[[], bool],
    steps: Iterable[Step],
    rejects: RejectLog,
    work_dir: Path,
) -> LoadSummary:
    """Validates ``steps``, stops the server, imports them with neo4j-admin and starts it again.

    Args:
        is_empty: tells whether the database is empty; checked before anything is written.

    Returns:
        The summary (same counts as the transactional loader would give).

    Raises:
        BulkImportError: when the database is not empty, or the import fails.
    """
    if not is_empty():
        raise BulkImportError("the bulk path imports into an empty database only; use the transactional load")
    # Stopping flushes the server's page cache (seconds on a large store): let it run while
    # the rows are validated and written out.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="neo4j-stop") as pool:
        stopping = pool.submit(server.stop)
        try:
            export = AdminExport(rejects)
            for step in steps:
                export.add(step)
            files = export.write(work_dir)
            stopping.result()
            log.info("importing %d relationships with neo4j-admin", files.relationship_count)
            admin_import(server, files, work_dir / "import.report")
        finally:
            stopping.result()
            server.start()
    return export.summary
