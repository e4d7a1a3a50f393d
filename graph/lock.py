"""A per-job lock kept in the graph, so no two runs of one job overlap across processes and machines.

The lock is a ``(:JobLock {job, owner, expires_at, taken_at})`` node.  Taking it is one write
transaction that merges the node, write-locks it, and claims it only when it is free (no
owner) or expired.  Times come from the Neo4j server's clock, so machines with skewed clocks
agree.  While the job runs, a heartbeat thread pushes ``expires_at`` forward; a holder that
crashes (even under ``kill -9``) stops renewing, and the lock is free again after its TTL.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import neo4j

from graph.store import GraphStore

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 300.0
"""How long a lock outlives its holder's last heartbeat."""


class JobLock:
    """The lock of one job, held by one owner.

    Args:
        store: the graph that keeps the lock.
        job: the job's name, e.g. ``"friends"``.
        ttl_s: seconds after the last take or renewal at which the lock expires.
        owner: who holds it; default ``host:pid:random`` (unique per instance).
    """

    def __init__(self, store: GraphStore, job: str, ttl_s: float = DEFAULT_TTL_S, owner: str | None = None) -> None:
        if ttl_s <= 0:
            raise ValueError(f"lock TTL must be positive, got {ttl_s}")
        self.store = store
        self.job = job
        self.ttl_ms = int(ttl_s * 1000)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def acquire(self) -> bool:
        """Takes the lock if it is free, expired or already ours.

        Returns:
            True when this owner now holds the lock.
        """

        def work(tx: neo4j.ManagedTransaction) -> bool:
            # Setting a property write-locks the node, so the check below reads what every
            # concurrent taker will see after us: no two can both find the lock free.
            tx.run("MERGE (l:JobLock {job: $job}) SET l.claims = coalesce(l.claims, 0) + 1", job=self.job).consume()
            record = tx.run(
                "MATCH (l:JobLock {job: $job}) "
                "WHERE l.owner IS NULL OR l.owner = $owner OR l.expires_at < datetime() "
                "SET l.owner = $owner, l.taken_at = datetime(), "
                "    l.expires_at = datetime() + duration({milliseconds: $ttl}) "
                "RETURN l.owner AS owner",
                job=self.job, owner=self.owner, ttl=self.ttl_ms,
            ).single()
            return record is not None

        with self.store.session() as session:
            taken = session.execute_write(work)
        log.debug("lock %s %s by %s", self.job, "taken" if taken else "busy", self.owner)
        return taken

    def renew(self) -> bool:
        """Pushes the expiry one TTL forward, if this owner still holds the lock.

        Returns:
            False when the lock was lost (it expired and another owner took it).
        """
        rows = self.store.write(
            "MATCH (l:JobLock {job: $job, owner: $owner}) "
            "SET l.expires_at = datetime() + duration({milliseconds: $ttl}) RETURN l.owner AS owner",
            {"job": self.job, "owner": self.owner, "ttl": self.ttl_ms},
        )
        return bool(rows)

    def release(self) -> None:
        """Frees the lock if this owner holds it (a lock lost meanwhile is left to its new owner)."""
        self.store.write(
            "MATCH (l:JobLock {job: $job, owner: $owner}) SET l.owner = null, l.expires_at = null",
            {"job": self.job, "owner": self.owner},
        )

    def holder(self) -> str | None:
        """Returns the owner of an unexpired lock on this job, or None when it is free."""
        rows = self.store.read(
            "MATCH (l:JobLock {job: $job}) WHERE l.owner IS NOT NULL AND l.expires_at >= datetime() "
            "RETURN l.owner AS owner",
            {"job": self.job},
        )
        return rows[0]["owner"] if rows else None

    @contextmanager
    def held(self) -> Iterator[bool]:
        """Takes the lock and keeps it renewed until the block ends, then releases it.

        Yields:
            True when the lock was taken (the block should run the job), False when another
            owner holds it (nothing is renewed or released).
        """
        if not self.acquire():
            yield False
            return
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(stop,), name=f"lock-{self.job}", daemon=True)
        beat.start()
        try:
            yield True
        finally:
            stop.set()
            beat.join()
            self.release()

    def _heartbeat(self, stop: threading.Event) -> None:
        # Renewing at a third of the TTL leaves two chances before expiry if one renewal fails.
        while not stop.wait(self.ttl_ms / 3000):
            try:
                if not self.renew():
                    log.error("lock of job %s was lost by %s (expired and taken by another owner)", self.job, self.owner)
                    return
            except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
                log.warning("could not renew the lock of job %s: %s", self.job, exc)
