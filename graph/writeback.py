"""Writing a job's results back into the graph, tagged with a run id and published atomically.

A run is a ``JobRun`` node.  Its results (relationships, and nodes such as
``Community``) carry ``run_id`` and are written in batches while the run is
``running``; readers ignore them, since every catalogue query selects results
through the job's *current* run::

    MATCH (run:JobRun {job: 'friends', current: true})
    MATCH (u:User)-[s:SUGGESTED_FRIEND {run_id: run.id}]->(v:User)

:meth:`RunWriter.publish` flips ``current`` from the old run to the new one in a
single transaction, so a reader sees the old complete result or the new complete
one.  Superseded results are deleted afterwards; results of a run that crashed
(even under ``kill -9``) are never current and are deleted by the next run.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

from graph.schema import NODE_KEYS, check_label, check_relationship_type
from graph.store import GraphStore, batched

log = logging.getLogger(__name__)


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


class RunWriter:
    """Writes one run of a job.

    Args:
        store: where to write.
        job: the job's name, e.g. ``"friends"``.
        params: the run's parameters, stored as JSON on the ``JobRun``.
        relationships: relationship types this job writes (allow-listed).
        nodes: node labels this job writes (allow-listed), e.g. ``["Community"]``.

    Use as a context manager: leaving it with an exception marks the run failed
    and removes its partial results; the previous published run stays current.
    """

    def __init__(
        self,
        store: GraphStore,
        job: str,
        params: Mapping[str, Any],
        relationships: Iterable[str] = (),
        nodes: Iterable[str] = (),
        batch_size: int | None = None,
    ) -> None:
        self.store = store
        self.job = job
        self.params = dict(params)
        self.relationships = [check_relationship_type(t) for t in relationships]
        self.nodes = [check_label(label) for label in nodes]
        self.batch_size = batch_size or store.batch_size
        self.run_id = f"{job}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.written = 0

    def __enter__(self) -> "RunWriter":
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None:
            self.fail(repr(exc))

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
        missing is skipped.

        Returns:
            The number of relationships created.
        """
        rel_type = check_relationship_type(rel_type)
        if rel_type not in self.relationships:
            raise ValueError(f"{rel_type} was not declared as an output of job {self.job!r}")
        src_label, dst_label = check_label(src_label), check_label(dst_label)
        query = (
            f"UNWIND $rows AS row MATCH (a:{src_label} {{{NODE_KEYS[src_label]}: row.src}}) "
            f"MATCH (b:{dst_label} {{{NODE_KEYS[dst_label]}: row.dst}}) "
            f"CREATE (a)-[r:{rel_type}]->(b) SET r = row.props, r.run_id = $run_id RETURN count(r) AS n"
        )
        created = 0
        for batch in batched(rows, self.batch_size):
            created += self.store.write(query, {"rows": list(batch), "run_id": self.run_id})[0]["n"]
        self.written += created
        return created

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
        created = 0
        for batch in batched(rows, self.batch_size):
            created += self.store.write(query, {"rows": list(batch), "run_id": self.run_id})[0]["n"]
        self.written += created
        return created

    def publish(self, metrics: Mapping[str, Any]) -> None:
        """Makes this run the current one in a single transaction, then deletes superseded results."""
        self.store.write_many(
            [
                (
                    "MATCH (old:JobRun {job: $job, current: true}) SET old.current = false, old.status = 'superseded'",
                    {"job": self.job},
                ),
                (
                    "MATCH (r:JobRun {id: $id}) SET r.current = true, r.status = 'completed', "
                    "r.metrics = $metrics, r.finished_at = datetime()",
                    {"id": self.run_id, "metrics": json.dumps(dict(metrics), sort_keys=True, default=str)},
                ),
            ]
        )
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
        """Deletes the results of every run of this job that is neither current nor this running one.

        A run left ``running`` by a crashed process is marked ``abandoned``; the
        ``JobRun`` nodes stay as history, flagged ``purged``.
        """
        stale = self.store.read(
            "MATCH (r:JobRun {job: $job}) WHERE NOT coalesce(r.current, false) "
            "AND NOT (r.id = $me AND r.status = 'running') "
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
