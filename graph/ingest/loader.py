"""Batched, parameterised, idempotent and resumable writes of validated rows into Neo4j.

Each batch is one ``UNWIND $rows … MERGE`` transaction.  The transaction also
advances an ``IngestCheckpoint`` node for the input, so a load that is killed
resumes after the last committed batch; the checkpoint is removed when the load
completes, so loading the same file again re-merges (and changes nothing).

A checkpoint never covers a row that is not committed: a batch is handed to the
writer only after the one before it committed, and its transaction advances the
checkpoint only from the value that batch left (a compare-and-set), so a failed
batch stops the load with its own error and nothing after it is written.
"""

from __future__ import annotations

import csv
import logging
from bisect import bisect_left
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import neo4j

from graph.ingest.kinds import NodeKind, RelKind
from graph.ingest.memory import cycle_collection_paused
from graph.ingest.rows import RawRow, Reject
from graph.ingest.statements import BatchStatements, node_query, relationship_statements
from graph.ingest.validate import Checked, Validator
from graph.lock import JobLock
from graph.store import GraphStore, batched

log = logging.getLogger(__name__)


class RejectLog:
    """Collects rejects: counts them, logs the first few and writes all of them to a TSV file."""

    def __init__(self, path: Path | None, echo: int = 20) -> None:
        self.path = path
        self.count = 0
        self.echo = echo
        self._fh: TextIO | None = None
        self._writer: Any = None

    def add(self, reject: Reject) -> None:
        """Records one reject."""
        self.count += 1
        if self.count <= self.echo:
            log.warning("rejected %s", reject)
        if self.path is None:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._fh, delimiter="\t")
            self._writer.writerow(["file", "line", "field", "reason"])
        self._writer.writerow([reject.source, reject.line, reject.field, reject.reason])

    def close(self) -> None:
        """Flushes and closes the rejects file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._writer = None


@dataclass
class KindSummary:
    """Counts for one input of one kind."""

    kind: str
    source: str
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    resumed_from: int = 0


@dataclass
class LoadSummary:
    """Counts for a whole ingest command."""

    kinds: list[KindSummary] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        """Returns the rows written (merged) over all inputs."""
        return sum(k.loaded for k in self.kinds)

    @property
    def rejected(self) -> int:
        """Returns the rows rejected over all inputs."""
        return sum(k.rejected for k in self.kinds)


LOCK_NAME = "ingest"
"""The :class:`graph.lock.JobLock` every ingest command holds while it writes."""


class CheckpointConflict(RuntimeError):
    """Raised, and the batch's transaction rolled back, when an input's checkpoint is not where
    this load left it (another load of the same input moved or removed it meanwhile)."""


def _from_position(checked: Checked, start: int) -> Checked:
    """Returns the rows of ``checked`` that stand at ``start`` or later in their chunk."""
    return checked.take(list(range(bisect_left(checked.positions, start), len(checked.positions))))


def _payload(kind: NodeKind | RelKind, checked: Checked) -> list[dict[str, Any]]:
    """Returns the ``$rows`` parameter of one batch: ``{key, …properties}`` per node, ``{src, dst, merge, …properties}`` per relationship."""
    if isinstance(kind, NodeKind):
        return checked.row_maps(key=checked.keys)
    return checked.row_maps(src=checked.keys, dst=checked.dsts, merge=checked.merges)


_CHECKPOINT_READ = "MATCH (c:IngestCheckpoint {key: $key}) RETURN c['rows'] AS rows"
# Setting a property write-locks the checkpoint for the rest of the transaction, so the value
# read next is the latest committed one and no other load of this input moves it before we commit.
_CHECKPOINT_LOCK = "MERGE (c:IngestCheckpoint {key: $key}) SET c.written_at = datetime()"
_CHECKPOINT_ADVANCE = (
    "MATCH (c:IngestCheckpoint {key: $key}) WITH c, coalesce(c['rows'], 0) AS before SET c.rows = $rows RETURN before"
)
_CHECKPOINT_DONE = "MATCH (c:IngestCheckpoint {key: $key}) WHERE c.rows = $rows DELETE c"


class Loader:
    """Writes rows of one kind after another into the graph, collecting rejects.

    Args:
        store: the connection to write through.
        rejects: where rejected rows go.
        batch_size: rows per transaction.
        on_progress: called with the number of input rows consumed after each batch.
        lock: the held ``ingest`` lock; checked before each batch, so a load whose lock was
            lost stops (:class:`graph.lock.LockLost`) instead of writing beside another one.
        stamp_changes: stamp the users and posts written as changed, for the watch service
            (:mod:`graph.changes`); off only to measure what stamping costs.
    """

    def __init__(
        self,
        store: GraphStore,
        rejects: RejectLog,
        batch_size: int | None = None,
        on_progress: Callable[[int], None] | None = None,
        lock: JobLock | None = None,
        stamp_changes: bool = True,
    ) -> None:
        self.store = store
        self.rejects = rejects
        self.stamp_changes = stamp_changes
        self.batch_size = batch_size or store.batch_size
        self.on_progress = on_progress or (lambda n: None)
        self.lock = lock
        self.summary = LoadSummary()

    def load(
        self,
        kind: NodeKind | RelKind,
        rows: Iterable[RawRow | Reject],
        source: str,
        *,
        checkpoint: str | None = None,
        create_src: bool = False,
        create_dst: bool | None = None,
    ) -> KindSummary:
        """Validates and writes ``rows`` of ``kind``.

        Args:
            source: the input's name for the summary.
            checkpoint: a key that identifies this exact input (e.g. kind and file
                digest); when given, the load resumes after the last committed batch
                of an earlier, interrupted load of the same input.
            create_src / create_dst: create missing endpoints instead of rejecting.

        Returns:
            The counts for this input (also appended to :attr:`summary`).

        Raises:
            neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError: the error of the first
                batch that failed; no later batch was written, and the checkpoint covers only
                the batches before it.
            CheckpointConflict: when another load of the same input moved the checkpoint.
            graph.lock.LockLost: when :attr:`lock` was lost during the load.
        """
        summary = KindSummary(kind.name, source)
        self.summary.kinds.append(summary)
        validator = Validator(kind)
        statements = _statements(kind, create_src, create_dst, self.stamp_changes)
        skip = self._resume_point(checkpoint, source)
        summary.resumed_from = skip
        expected = _InputLoad(self, kind, summary, validator, statements, checkpoint, skip).run(rows)
        if checkpoint:
            self.store.write(_CHECKPOINT_DONE, {"key": checkpoint, "rows": expected})
        summary.duplicates = validator.duplicates
        return summary

    def _resume_point(self, checkpoint: str | None, source: str) -> int:
        """Returns how many input rows an earlier, interrupted load of ``checkpoint``'s input committed (0 if none)."""
        if not checkpoint:
            return 0
        found = self.store.read(_CHECKPOINT_READ, {"key": checkpoint})
        skip = found[0]["rows"] if found else 0
        if skip:
            log.info("resuming %s after %d rows already committed", source, skip)
        return skip

    def _reject(self, summary: KindSummary, reject: Reject) -> None:
        summary.rejected += 1
        self.rejects.add(reject)

    def _write_batch(
        self, statements: BatchStatements, rows: list[dict[str, Any]], checkpoint: str | None, previous: int, done: int
    ) -> list[dict[str, Any]]:
        """Writes one batch and moves ``checkpoint`` from ``previous`` to ``done`` input rows, in one transaction.

        Returns:
            The rows with an unknown endpoint, as ``find_missing`` returns them.

        Raises:
            CheckpointConflict: when the checkpoint stands neither at ``previous`` nor at
                ``done`` (the latter: a retry of this very batch whose first commit went
                through), after which the transaction is rolled back whole.
        """
        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            if checkpoint:
                tx.run(_CHECKPOINT_LOCK, key=checkpoint).consume()
                before = tx.run(_CHECKPOINT_ADVANCE, key=checkpoint, rows=done).single(strict=True)[0]
                if before not in (previous, done):
                    raise CheckpointConflict(
                        f"checkpoint {checkpoint!r} stands at {before} rows, not at {previous} where this load "
                        "left it: another load of the same input is running or ran meanwhile; load again to resume"
                    )
            if statements.create_src:
                tx.run(statements.create_src, ids=list(dict.fromkeys(r["src"] for r in rows))).consume()
            if statements.create_dst:
                tx.run(statements.create_dst, ids=list(dict.fromkeys(r["dst"] for r in rows))).consume()
            written = tx.run(statements.write, rows=rows).single(strict=True)[0]
            if statements.stamp_src:
                tx.run(statements.stamp_src, ids=list(dict.fromkeys(r["src"] for r in rows))).consume()
            missing = []
            if statements.find_missing and written < len(rows):
                missing = [record.data() for record in tx.run(statements.find_missing, rows=rows)]
            return missing

        with self.store.session() as session:
            return session.execute_write(work)


def _statements(kind: NodeKind | RelKind, create_src: bool, create_dst: bool | None, stamp: bool) -> BatchStatements:
    """Returns the statements that load a batch of ``kind``, nodes or relationships."""
    if isinstance(kind, NodeKind):
        return BatchStatements(node_query(kind, stamp))
    return relationship_statements(kind, create_src, create_dst, stamp)


class _InputLoad:
    """One input's load in progress: the rows read so far, where its checkpoint stands, the batch being written.

    One writer thread: the next batch is validated while the server writes this one, and
    it is handed over only once this one committed, so a failed batch is the last one tried
    and its error is the one raised.  Checkpoints count input rows (rejects included), so a
    resumed load skips exactly what was read.
    """

    def __init__(
        self,
        loader: Loader,
        kind: NodeKind | RelKind,
        summary: KindSummary,
        validator: Validator,
        statements: BatchStatements,
        checkpoint: str | None,
        skip: int,
    ) -> None:
        self.loader = loader
        self.kind = kind
        self.summary = summary
        self.validator = validator
        self.statements = statements
        self.checkpoint = checkpoint
        self.skip = skip
        self.done = 0
        self.expected = skip  # where the checkpoint stands once the batch handed over last commits
        self.in_flight: tuple[Future, Checked, int] | None = None

    def run(self, rows: Iterable[RawRow | Reject]) -> int:
        """Validates and writes ``rows`` batch by batch.

        Returns:
            The input rows the checkpoint covers once the last batch committed.
        """
        with cycle_collection_paused(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer:
            for batch in batched(rows, self.loader.batch_size):
                self._hand_over(writer, batch)
            self._settle()
        return self.expected

    def _hand_over(self, writer: ThreadPoolExecutor, batch: list[RawRow | Reject]) -> None:
        """Validates ``batch`` and, unless an earlier load committed it, hands it to ``writer`` once the previous batch committed."""
        checked, rejects = self.validator.check(batch)
        for reject in rejects:
            self.loader._reject(self.summary, reject)
        consumed = len(batch)
        if self.done + consumed <= self.skip:
            self.done += consumed
            self.loader.on_progress(consumed)
            return
        fresh = _from_position(checked, self.skip - self.done) if self.skip > self.done else checked
        self.done += consumed
        payload = _payload(self.kind, fresh)
        self._settle()
        if self.loader.lock is not None:
            self.loader.lock.ensure_held()
        future = writer.submit(self.loader._write_batch, self.statements, payload, self.checkpoint, self.expected, self.done)
        self.in_flight, self.expected = (future, fresh, consumed), self.done

    def _settle(self) -> None:
        """Waits for the batch in flight, if any: rejects its rows with an unknown endpoint and counts the others."""
        if self.in_flight is None:
            return
        pending, fresh, consumed = self.in_flight
        self.in_flight = None
        missing = pending.result()
        for row in missing:
            side, label = ("src", self.kind.src_label) if row["missing_src"] else ("dst", self.kind.dst_label)
            self.loader._reject(self.summary, fresh.unknown_endpoint(row["i"], side, label))
        self.summary.loaded += len(fresh.keys) - len(missing)
        self.loader.on_progress(consumed)
