"""Writing a job's results back into the graph, tagged with a run id and published atomically.

A run is a ``JobRun`` node.  Its results (relationships, and nodes such as
``Community``) carry ``run_id`` and are written in batches while the run is
``running``; readers ignore them, since every catalogue query selects results
through the job's *current* run::

    MATCH (run:JobRun {job: 'friends', current: true})
    MATCH (u:User)-[s:SUGGESTED_FRIEND {run_id: run.id}]->(v:User)

One writer per job: a run holds the job's lock (:mod:`graph.lock`) from start to
publication, whatever started it, so a second run waits or stops at once
(:class:`graph.lock.LockBusy`).  :meth:`RunWriter.publish` flips ``current`` from
the old run to the new one in a single transaction that first checks this run
still holds the lock and is still ``running``, so at most one run of a job is
ever current and a run that lost its lock never publishes.

Readers see the old complete result or the new complete one.  The run a publish
supersedes stays readable until the next publish, so a reader that spans several
queries can pin it (``run_id``) and still read it whole; older results, and those
of a run that crashed (even under ``kill -9``), are deleted.

Results are written by several concurrent transactions (``writers``), each a batch
of rows grouped by start node so that each start node is looked up once per batch.
Every batch checks the lock before it writes.  When a batch or the rows fail, the
batches not yet started are dropped and the error reaches the caller only once those
under way have finished, so nothing of a failed run is written after its partial
results are deleted.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from contextlib import ExitStack
from types import TracebackType
from typing import Any

import neo4j

from graph.lock import DEFAULT_TTL_S, SERVER_GONE, JobLock, LockBusy, LockLost
from graph.schema import NODE_KEYS, check_label, check_relationship_type
from graph.store import GraphStore, batched

log = logging.getLogger(__name__)


def by_source(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Groups relationship rows ``{src, dst, props}`` by start node, in order of first appearance.

    Returns:
        ``[{src, rows: [{dst, props}, …]}, …]`` with each ``src`` once.
    """
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["src"], []).append({"dst": row["dst"], "props": row["props"]})
    return [{"src": src, "rows": grouped} for src, grouped in groups.items()]


def current_run(store: GraphStore, job: str) -> dict[str, Any] | None:
    """Returns the published run of ``job`` (``params`` and ``metrics`` decoded), or None."""
    rows = store.read("MATCH (r:JobRun {job: $job, current: true}) RETURN r", {"job": job})
    if not rows:
        return None
    run = dict(rows[0]["r"])
    for key in ("params", "metrics"):
        if isinstance(run.get(key), str):
            run[key] = json.loads(run[key])
    return run


class RunAborted(RuntimeError):
    """Raised by :meth:`RunWriter.publish` when the run may no longer publish: it is no longer
    ``running`` (another run purged it) or it no longer holds the job's lock."""


class RunWriter:
    """Writes one run of a job.

    Args:
        store: where to write.
        job: the job's name, e.g. ``"friends"``.
        params: the run's parameters, stored as JSON on the ``JobRun``.
        relationships: relationship types this job writes (allow-listed).
        nodes: node labels this job writes (allow-listed), e.g. ``["Community"]``.
        batch_size: rows per write transaction (default: the store's).
        writers: write transactions under way at once (default: the store's ``writers``).
        wait: when another run holds the job's lock, wait for it instead of raising
            :class:`graph.lock.LockBusy`.
        lock_ttl_s: how long the lock outlives this process's last heartbeat.

    Use as a context manager: entering takes the lock and starts the run; leaving it
    with an exception marks the run failed and removes its partial results (the
    previous published run stays current); leaving it frees the lock.
    """

    def __init__(
        self,
        store: GraphStore,
        job: str,
        params: Mapping[str, Any],
        relationships: Iterable[str] = (),
        nodes: Iterable[str] = (),
        batch_size: int | None = None,
        wait: bool = False,
        lock_ttl_s: float = DEFAULT_TTL_S,
        writers: int | None = None,
    ) -> None:
        self.store = store
        self.job = job
        self.params = dict(params)
        self.relationships = [check_relationship_type(t) for t in relationships]
        self.nodes = [check_label(label) for label in nodes]
        self.batch_size = batch_size or store.batch_size
        self.writers = writers or store.writers
        self.run_id = f"{job}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.written = 0
        self.wait = wait
        self.lock = JobLock(store, job, lock_ttl_s)
        self._stack = ExitStack()

    def __enter__(self) -> "RunWriter":
        self.lock = self._stack.enter_context(self.lock.hold(self.wait))
        try:
            if self.lock.run_id is not None:
                # The same thread already writes a run of this job under the lock it reuses.
                raise LockBusy(self.job, f"run {self.lock.run_id} of this process", None)
            self.lock.run_id = self.run_id
            self._stack.callback(setattr, self.lock, "run_id", None)
            self.start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            if isinstance(exc, SERVER_GONE):
                # Recording the failure would only wait out the driver's retries: the next run
                # marks this one abandoned and deletes what it wrote.
                log.warning("run %s stopped: Neo4j went away (%s)", self.run_id, exc)
            elif exc is not None:
                self._fail_quietly(repr(exc))
        finally:
            self._stack.close()

    def _fail_quietly(self, error: str) -> None:
        # The error that ended the run is what the caller must see, also when the server that
        # would record the failure has gone: the next run deletes what this one left.
        try:
            self.fail(error)
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
            log.warning("run %s: could not record its failure (%s); the next run removes its partial results", self.run_id, exc)

    def start(self) -> str:
        """Removes leftovers of earlier unpublished runs of this job and records this run as running.

        Returns:
            The run id.
        """
        self.purge()
        self.store.write(
            "CREATE (r:JobRun {id: $id, job: $job, params: $params, status: 'running', current: false, "
            "outputs: $outputs, started_at: datetime()})",
            {
                "id": self.run_id,
                "job": self.job,
                "params": json.dumps(self.params, sort_keys=True, default=str),
                "outputs": self.relationships + self.nodes,
            },
        )
        log.info("run %s started", self.run_id)
        return self.run_id

    def write_relationships(
        self, rel_type: str, src_label: str, dst_label: str, rows: Iterable[Mapping[str, Any]]
    ) -> int:
        """Creates ``(src)-[:rel_type {…props, run_id}]->(dst)`` for each row ``{src, dst, props}``.

        Endpoints are matched by their key property; a row whose endpoint is
        missing is skipped.  Rows may come in any order; rows of one start node that
        fall in one batch share its lookup.

        Returns:
            The number of relationships created.
        """
        rel_type = check_relationship_type(rel_type)
        if rel_type not in self.relationships:
            raise ValueError(f"{rel_type} was not declared as an output of job {self.job!r}")
        src_label, dst_label = check_label(src_label), check_label(dst_label)
        query = (
            f"UNWIND $rows AS group MATCH (a:{src_label} {{{NODE_KEYS[src_label]}: group.src}}) "
            f"UNWIND group.rows AS row MATCH (b:{dst_label} {{{NODE_KEYS[dst_label]}: row.dst}}) "
            f"CREATE (a)-[r:{rel_type}]->(b) SET r = row.props, r.run_id = $run_id RETURN count(r) AS n"
        )
        return self._write_batches(query, rows, by_source)

    def _write_batches(
        self,
        query: str,
        rows: Iterable[Mapping[str, Any]],
        shape: Callable[[list[Mapping[str, Any]]], list[Any]] = list,
    ) -> int:
        def write(batch: list[Mapping[str, Any]]) -> int:
            # Checked again here: a batch may wait in the queue while the lock is lost.
            self.lock.ensure_held()
            return self.store.write(query, {"rows": shape(batch), "run_id": self.run_id})[0]["n"]

        created = 0
        # Two batches per writer in flight keep every writer busy and bound the rows held.
        pending: deque[Future[int]] = deque()
        with ThreadPoolExecutor(self.writers, thread_name_prefix=f"writeback-{self.job}") as pool:
            try:
                for batch in batched(rows, self.batch_size):
                    self.lock.ensure_held()
                    pending.append(pool.submit(write, batch))
                    if len(pending) >= 2 * self.writers:
                        created += pending.popleft().result()
                while pending:
                    created += pending.popleft().result()
            except BaseException:
                # Leaving the pool waits for the batches under way, so none writes once the
                # caller has marked the run failed and deleted its partial results.
                for future in pending:
                    future.cancel()
                raise
        self.written += created
        return created

    def carry_over(self, rel_type: str, src_label: str, refreshed: Iterable[str]) -> int:
        """Copies into this run the current run's ``rel_type`` relationships whose start node is not
        among ``refreshed`` (keys of ``src_label``), so that a run that recomputed only some start
        nodes still publishes a complete result.

        Returns:
            The number of relationships copied (0 when the job has no current run).
        """
        rel_type, src_label = check_relationship_type(rel_type), check_label(src_label)
        if rel_type not in self.relationships:
            raise ValueError(f"{rel_type} was not declared as an output of job {self.job!r}")
        self.lock.ensure_held()
        before = self._count(rel_type)
        self.store.run_autocommit(
            f"MATCH (run:JobRun {{job: $job, current: true}}) "
            f"MATCH (a:{src_label})-[old:{rel_type} {{run_id: run.id}}]->(b) WHERE NOT a.{NODE_KEYS[src_label]} IN $refreshed "
            f"CALL (a, old, b) {{ CREATE (a)-[new:{rel_type}]->(b) SET new = properties(old), new.run_id = $run_id }} "
            "IN TRANSACTIONS OF 10000 ROWS",
            {"job": self.job, "refreshed": list(refreshed), "run_id": self.run_id},
        )
        copied = self._count(rel_type) - before
        self.written += copied
        return copied

    def _count(self, rel_type: str) -> int:
        return self.store.read(
            f"MATCH ()-[r:{rel_type} {{run_id: $run_id}}]->() RETURN count(r) AS n", {"run_id": self.run_id}
        )[0]["n"]

    def write_nodes(self, label: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Creates ``(:label {key, …props, run_id})`` for each row ``{key, props}``.

        Returns:
            The number of nodes created.
        """
        label = check_label(label)
        if label not in self.nodes:
            raise ValueError(f"{label} was not declared as an output of job {self.job!r}")
        query = (
            f"UNWIND $rows AS row CREATE (n:{label}) SET n = row.props, n.{NODE_KEYS[label]} = row.key, "
            "n.run_id = $run_id RETURN count(n) AS n"
        )
        return self._write_batches(query, rows)

    def publish(self, metrics: Mapping[str, Any]) -> None:
        """Makes this run the current one in a single transaction, then deletes results older
        than the run it superseded.

        Raises:
            RunAborted: when this run no longer holds the job's lock or is no longer running;
                nothing is changed and the current run stays current.
        """
        self.lock.ensure_held()
        encoded = json.dumps(dict(metrics), sort_keys=True, default=str)

        def work(tx: neo4j.ManagedTransaction) -> None:
            # Writing the lock node first serialises every publish of this job behind it, and
            # fails this one unless its owner still holds an unexpired lock.
            held = tx.run(
                "MATCH (l:JobLock {job: $job, owner: $owner}) WHERE l.expires_at >= datetime() "
                "SET l.published_run = $id RETURN l.owner AS owner",
                job=self.job, owner=self.lock.owner, id=self.run_id,
            ).single()
            if held is None:
                raise RunAborted(f"run {self.run_id} no longer holds the lock of {self.job!r}; it was not published")
            me = tx.run(
                "MATCH (r:JobRun {id: $id}) RETURN r.status AS status, coalesce(r.purged, false) AS purged", id=self.run_id
            ).single()
            if me is None or me["status"] != "running" or me["purged"]:
                state = "gone" if me is None else f"{me['status']}{', purged' if me['purged'] else ''}"
                raise RunAborted(f"run {self.run_id} is {state}, not running; it was not published")
            tx.run(
                "MATCH (old:JobRun {job: $job, current: true}) "
                "SET old.current = false, old.status = 'superseded', old.superseded_at = datetime()",
                job=self.job,
            ).consume()
            tx.run(
                "MATCH (r:JobRun {id: $id}) SET r.current = true, r.status = 'completed', "
                "r.metrics = $metrics, r.finished_at = datetime()",
                id=self.run_id, metrics=encoded,
            ).consume()

        with self.store.session() as session:
            session.execute_write(work)
        log.info("run %s published", self.run_id)
        self.purge()

    def fail(self, error: str) -> None:
        """Marks this run failed and deletes what it wrote; the current run is untouched."""
        self.store.write(
            "MATCH (r:JobRun {id: $id}) SET r.status = 'failed', r.error = $error, r.finished_at = datetime()",
            {"id": self.run_id, "error": error[:2000]},
        )
        self.purge()

    def purge(self) -> None:
        """Deletes the results of every run of this job except the current one, the one it
        superseded last (kept for readers that pinned it) and this running one.

        A run left ``running`` by a crashed process is marked ``abandoned``; the
        ``JobRun`` nodes stay as history, flagged ``purged``.
        """
        stale = self.store.read(
            "OPTIONAL MATCH (last:JobRun {job: $job, status: 'superseded'}) WHERE NOT coalesce(last.purged, false) "
            "WITH last ORDER BY coalesce(last.superseded_at, last.finished_at) DESC LIMIT 1 "
            "MATCH (r:JobRun {job: $job}) WHERE NOT coalesce(r.current, false) "
            "AND NOT (r.id = $me AND r.status = 'running') AND (last IS NULL OR r <> last) "
            "AND NOT coalesce(r.purged, false) RETURN r.id AS id, r.outputs AS outputs",
            {"job": self.job, "me": self.run_id},
        )
        for run in stale:
            for output in run["outputs"] or []:
                if output in NODE_KEYS:
                    pattern, var = f"(x:{check_label(output)} {{run_id: $id}})", "DETACH DELETE x"
                else:
                    pattern, var = f"()-[x:{check_relationship_type(output)} {{run_id: $id}}]->()", "DELETE x"
                self.store.run_autocommit(
                    f"MATCH {pattern} CALL (x) {{ {var} }} IN TRANSACTIONS OF 10000 ROWS", {"id": run["id"]}
                )
            self.store.write(
                "MATCH (r:JobRun {id: $id}) SET r.purged = true, "
                "r.status = CASE r.status WHEN 'running' THEN 'abandoned' ELSE r.status END",
                {"id": run["id"]},
            )
