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
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import Any

from graph.ingest.kinds import FieldType, NodeKind, RelKind
from graph.ingest.loader import KindSummary, LoadSummary, RejectLog
from graph.ingest.memory import cycle_collection_paused
from graph.ingest.rows import Reject
from graph.ingest.steps import Step
from graph.ingest.validate import Checked, Validator
from graph.schema import NODE_KEYS, check_label, check_relationship_type
from graph.server import LocalNeo4j
from graph.store import batched

log = logging.getLogger(__name__)

ADMIN_TYPES = {
    FieldType.WEIGHT: "float",
    FieldType.INT: "long",
    FieldType.BOOL: "boolean",
    FieldType.DATETIME: "datetime",
}


class BulkImportError(RuntimeError):
    """Raised when the bulk path cannot be used (non-empty database, import failure)."""


CHUNK_ROWS = 100_000
"""Rows validated at a time: large enough that the per-column work dominates, small enough to stream."""


@dataclass
class _RelTable:
    """One relationship kind's rows as columns, each ``(src, dst, merge)`` once.

    A second input of the same kind merges into the rows already there (a present value
    replaces the stored one, as the transactional ``MERGE … SET`` does).
    """

    kind: RelKind
    src: list[str] = field(default_factory=list)
    dst: list[str] = field(default_factory=list)
    merge: list[Any] = field(default_factory=list)
    props: dict[str, list[Any]] = field(default_factory=dict)
    inputs: int = 0
    _index: dict[tuple[str, str, Any], int] | None = None

    def extend(self, src: list[str], dst: list[str], merge: list[Any], props: dict[str, list[Any]]) -> None:
        """Appends validated rows of the current input."""
        if self.inputs == 1:
            self._append(src, dst, merge, props)
            return
        if self._index is None:
            self._index = {key: i for i, key in enumerate(zip(self.src, self.dst, self.merge))}
        for j, key in enumerate(zip(src, dst, merge)):
            at = self._index.get(key)
            if at is None:
                self._index[key] = len(self.src)
                self._append([key[0]], [key[1]], [key[2]], {name: [column[j]] for name, column in props.items()})
                continue
            for name, column in props.items():
                if column[j] is not None:
                    self.props[name][at] = column[j]

    def _append(self, src: list[str], dst: list[str], merge: list[Any], props: dict[str, list[Any]]) -> None:
        self.src += src
        self.dst += dst
        self.merge += merge
        for name, column in props.items():
            self.props.setdefault(name, []).extend(column)

    def __len__(self) -> int:
        return len(self.src)


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


def _cells(column: list[Any], field_type: FieldType) -> list[Any]:
    """Returns ``column`` as CSV cells: booleans and date-times spelled as neo4j-admin reads them."""
    if field_type in (FieldType.BOOL, FieldType.DATETIME):
        return [None if v is None else _cell(v) for v in column]
    return column


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
        self.rels: dict[str, _RelTable] = {}

    def add(self, step: Step) -> None:
        """Validates one step's rows into the tables."""
        with cycle_collection_paused():
            self._add(step)

    def _add(self, step: Step) -> None:
        summary = KindSummary(step.kind.name, step.source)
        self.summary.kinds.append(summary)
        validator = Validator(step.kind)
        if isinstance(step.kind, NodeKind):
            label = check_label(step.kind.label)
            table = self.nodes.setdefault(label, {})
            self.node_fields.setdefault(label, {}).update({f.name: f for f in step.kind.fields})
            for chunk in batched(step.rows(), CHUNK_ROWS):
                checked, rejects = validator.check(chunk)
                for reject in rejects:
                    self._reject(summary, reject)
                names = list(checked.props)
                for key, values in zip(checked.keys, zip(*checked.props.values()) if names else repeat(())):
                    table.setdefault(key, {}).update((n, v) for n, v in zip(names, values) if v is not None)
                summary.loaded += len(checked.keys)
        else:
            kind = step.kind
            create_dst = kind.create_dst if step.create_dst is None else step.create_dst
            src_nodes = self.nodes.setdefault(check_label(kind.src_label), {})
            dst_nodes = self.nodes.setdefault(check_label(kind.dst_label), {})
            table = self.rels.setdefault(kind.name, _RelTable(kind))
            table.inputs += 1
            for chunk in batched(step.rows(), CHUNK_ROWS):
                checked, rejects = validator.check(chunk)
                unknown = self._unknown_endpoints(checked, kind, src_nodes, dst_nodes, step.create_src, create_dst)
                for reject in sorted(rejects + list(unknown.values()), key=lambda r: r.line):
                    self._reject(summary, reject)
                if unknown:
                    checked = checked.take([j for j in range(len(checked.keys)) if j not in unknown])
                table.extend(checked.keys, checked.dsts, checked.merges, checked.props)
                summary.loaded += len(checked.keys)
        summary.duplicates = validator.duplicates

    @staticmethod
    def _unknown_endpoints(
        checked: Checked, kind: RelKind, src_nodes: dict, dst_nodes: dict, create_src: bool, create_dst: bool
    ) -> dict[int, Reject]:
        """Returns a reject by row index for each row whose endpoint is unknown; creates missing endpoints where allowed."""
        unknown = {}
        sides = (
            ("src", checked.keys, kind.src_label, src_nodes, create_src),
            ("dst", checked.dsts, kind.dst_label, dst_nodes, create_dst),
        )
        for j in range(len(checked.keys)):
            for side, keys, label, nodes, create in sides:
                if keys[j] in nodes:
                    continue
                if not create:
                    unknown[j] = checked.unknown_endpoint(j, side, label)
                    break
                nodes[keys[j]] = {}
        return unknown

    def _reject(self, summary: KindSummary, reject: Reject) -> None:
        summary.rejected += 1
        self.rejects.add(reject)

    def write(self, out_dir: Path) -> AdminFiles:
        """Writes one CSV per label and per relationship kind.

        Returns:
            The files and the number of relationships they hold.
        """
        with cycle_collection_paused():
            return self._write(out_dir)

    def _write(self, out_dir: Path) -> AdminFiles:
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
        for i, table in enumerate(self.rels.values()):
            kind = table.kind
            rel_type = check_relationship_type(kind.rel_type)
            types = {f.name: f.type for f in kind.fields}
            props = sorted(name for name, column in table.props.items() if any(v is not None for v in column))
            merge = [kind.merge_on] if kind.merge_on else []
            columns = [table.src, table.dst, *([table.merge] if merge else [])]
            columns += [_cells(table.props[name], types[name]) for name in props]
            path = out_dir / f"rels-{i:02d}-{kind.name}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(
                    [f":START_ID({kind.src_label})", f":END_ID({kind.dst_label})", *merge, *(_header(p, kind.fields) for p in props)]
                )
                writer.writerows(zip(*columns))
            rel_files.append((rel_type, path))
            total += len(table)
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
