"""A per-job lock kept in the graph, so no two runs of one job overlap across processes and machines.

Every writer of a job's results takes it: the run writer (:class:`graph.writeback.RunWriter`)
for the analytics jobs, whatever started them (CLI, pipeline, demo, scheduler), and the loader
for ingest (lock name ``ingest``).

The lock is a ``(:JobLock {job, owner, expires_at, taken_at})`` node.  Taking it is one write
transaction that merges the node, write-locks it, and claims it only when it is free (no
owner) or expired.  Times come from the Neo4j server's clock, so machines with skewed clocks
agree.  While the job runs, a heartbeat thread pushes ``expires_at`` forward; a holder that
crashes (even under ``kill -9``) stops renewing, and the lock is free again after its TTL, or at
once for a taker on the same host that finds the holder's process gone.

A *brief* holder, the watch service (:mod:`jobs.watch`), holds a job's lock for one short write at a
time and gives way to the batch runs: a run that finds a brief holder waits for it (up to
:data:`BRIEF_WAIT_S`) instead of failing, and marks the lock wanted, and a brief taker does not
take a lock that a run wanted in the last :data:`WANTED_S`.  So the service never makes a
scheduled run fail, and a run waits at most for the write under way.

Holding is re-entrant within one thread of control: a lock taken by an outer caller (the
scheduler's firing, a CLI command with ``--wait``) is reused by the run writer inside it on the
same server, instead of the inner one finding it busy.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import neo4j

from graph.server.class_archive import pid_alive
from graph.store import GraphStore

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 300.0
"""How long a lock outlives its holder's last heartbeat."""

BRIEF_WAIT_S = 30.0
"""How long a run waits for a brief holder before it reports the lock busy."""
WANTED_S = 2.0
"""How long a run's wish for the lock keeps brief takers away; a waiting run renews it at every poll."""
BRIEF_POLL_S = 0.1
"""How often a run waiting behind a brief holder tries again."""

SERVER_GONE = (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired)
"""The driver's errors for a server that stopped answering, after its own retries."""

LOCK_CONSTRAINT = "joblock_job_unique"
"""The uniqueness constraint on ``JobLock.job``, as :mod:`graph.schema` names it."""

_UNIQUE_ON: set[tuple[str, str | None]] = set()
"""The servers (URI, database) on which this process has made sure of :data:`LOCK_CONSTRAINT`."""

_HELD: ContextVar[dict[tuple[str, str | None, str], "JobLock"]] = ContextVar("sociograph_held_locks", default={})
"""The locks this thread of control holds, by (server URI, database, job)."""


def _dead_local_holder(owner: str | None) -> bool:
    """Returns True when ``owner`` names a process on this host that no longer exists."""
    host, _, rest = (owner or "").partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid))


class LockBusy(RuntimeError):
    """Raised when another owner holds the lock.

    Attributes:
        job: the lock's name.
        owner: who holds it (``host:pid:random``).
        since: when the holder took it (server time), or None when unknown.
    """

    def __init__(self, job: str, owner: str | None, since: Any) -> None:
        self.job, self.owner, self.since = job, owner, since
        held = f"held by {owner}" + (f" since {since}" if since else "") if owner else "held by another run"
        super().__init__(f"another run of {job!r} is in progress ({held}); wait for it with --wait, or try again later")


class LockLost(RuntimeError):
    """Raised when a holder finds that its lock expired (and may have been taken by another owner)."""


class JobLock:
    """The lock of one job, held by one owner.

    Args:
        store: the graph that keeps the lock.
        job: the job's name, e.g. ``"friends"``.
        ttl_s: seconds after the last take or renewal at which the lock expires.
        owner: who holds it; default ``host:pid:random`` (unique per instance).
        brief: this owner takes the lock for short writes and gives way to runs (see above).
    """

    def __init__(
        self, store: GraphStore, job: str, ttl_s: float = DEFAULT_TTL_S, owner: str | None = None, brief: bool = False
    ) -> None:
        if ttl_s <= 0:
            raise ValueError(f"lock TTL must be positive, got {ttl_s}")
        self.store = store
        self.job = job
        self.ttl_ms = int(ttl_s * 1000)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.brief = brief
        self.behind_brief = False
        """Whether the last :meth:`acquire` that failed found a brief holder (worth waiting for)."""
        self.lost = threading.Event()
        self.run_id: str | None = None
        """The run that writes under this lock, set by the run writer: one run per holding."""

    def acquire(self) -> bool:
        """Takes the lock if it is free, expired or already ours.

        Returns:
            True when this owner now holds the lock.
        """
        self._ensure_unique()
        self.behind_brief = False

        def work(tx: neo4j.ManagedTransaction) -> bool:
            # Setting a property write-locks the node, so what is read below is what every
            # concurrent taker will see after us: no two can both find the lock free.
            holder = tx.run(
                "MERGE (l:JobLock {job: $job}) SET l.claims = coalesce(l.claims, 0) + 1 "
                "RETURN l.owner AS owner, l.owner IS NULL OR l.expires_at < datetime() AS free, "
                "coalesce(l.brief, false) AS brief, "
                "coalesce(l.wanted_at >= datetime() - duration({milliseconds: $wanted}), false) AS wanted",
                job=self.job, wanted=int(WANTED_S * 1000),
            ).single(strict=True)
            mine = holder["owner"] == self.owner
            if self.brief and holder["wanted"] and not mine:
                return False
            if not (holder["free"] or mine):
                if not self.brief and holder["brief"]:
                    tx.run("MATCH (l:JobLock {job: $job}) SET l.wanted_at = datetime()", job=self.job).consume()
                    self.behind_brief = True
                    return False
                if not _dead_local_holder(holder["owner"]):
                    return False
                log.warning("lock of %s: its holder %s is no longer running; taking it over", self.job, holder["owner"])
            tx.run(
                "MATCH (l:JobLock {job: $job}) SET l.owner = $owner, l.taken_at = datetime(), "
                "l.expires_at = datetime() + duration({milliseconds: $ttl}), l.brief = $brief, "
                "l.wanted_at = CASE WHEN $brief THEN l.wanted_at ELSE null END",
                job=self.job, owner=self.owner, ttl=self.ttl_ms, brief=self.brief,
            ).consume()
            return True

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
        info = self.holder_info()
        return info[0] if info else None

    def holder_info(self) -> tuple[str, Any] | None:
        """Returns ``(owner, taken_at)`` of an unexpired lock on this job, or None when it is free."""
        rows = self.store.read(
            "MATCH (l:JobLock {job: $job}) WHERE l.owner IS NOT NULL AND l.expires_at >= datetime() "
            "RETURN l.owner AS owner, toString(l.taken_at) AS since",
            {"job": self.job},
        )
        return (rows[0]["owner"], rows[0]["since"]) if rows else None

    def ensure_held(self) -> None:
        """Returns quietly while the heartbeat keeps the lock.

        Raises:
            LockLost: once a renewal found the lock gone, or renewals failed for a whole TTL.
        """
        if self.lost.is_set():
            raise LockLost(f"the lock of {self.job!r} held by {self.owner} was lost; this run stops without publishing")

    @contextmanager
    def hold(self, wait: bool = False, poll_s: float = 1.0) -> Iterator["JobLock"]:
        """Takes the lock for the block, renewed by a heartbeat, and releases it after.

        Args:
            wait: when the lock is held, poll every ``poll_s`` seconds until it is free
                instead of raising.

        Yields:
            The lock that is held: this one, or the one an outer block of this thread already
            holds on the same server and job (which that block renews and releases).

        Raises:
            LockBusy: when another owner holds the lock and ``wait`` is false.
        """
        outer = _HELD.get().get(self._key)
        if outer is not None:
            yield outer
            return
        while not self._acquire_past_brief():
            if not wait:
                info = self.holder_info()
                raise LockBusy(self.job, *(info or (None, None)))
            log.info("waiting for the lock of %s (held by %s)", self.job, self.holder())
            time.sleep(poll_s)
        with self._renewed():
            yield self

    @contextmanager
    def held(self) -> Iterator[bool]:
        """Takes the lock if it is free and keeps it renewed until the block ends, then releases it.

        Yields:
            True when the lock was taken (the block should run the job), False when another
            owner holds it (nothing is renewed or released).
        """
        if not self._acquire_past_brief():
            yield False
            return
        with self._renewed():
            yield True

    def _acquire_past_brief(self) -> bool:
        """Returns :meth:`acquire`, after waiting up to :data:`BRIEF_WAIT_S` while a brief holder has the lock."""
        deadline = time.monotonic() + BRIEF_WAIT_S
        while not self.acquire():
            if not (self.behind_brief and time.monotonic() < deadline):
                return False
            time.sleep(BRIEF_POLL_S)
        return True

    def _ensure_unique(self) -> None:
        # Two concurrent MERGEs can create two lock nodes unless the label's key is unique, and
        # a graph that sociograph did not load may lack the schema: make sure once per server.
        server = self._key[:2]
        if server in _UNIQUE_ON:
            return
        self.store.write(f"CREATE CONSTRAINT {LOCK_CONSTRAINT} IF NOT EXISTS FOR (l:JobLock) REQUIRE l.job IS UNIQUE")
        _UNIQUE_ON.add(server)

    @property
    def _key(self) -> tuple[str, str | None, str]:
        return (self.store.connection.uri, self.store.database, self.job)

    @contextmanager
    def _renewed(self) -> Iterator[None]:
        self.lost.clear()
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(stop,), name=f"lock-{self.job}", daemon=True)
        beat.start()
        token = _HELD.set({**_HELD.get(), self._key: self})
        server_gone = False
        try:
            yield
        except SERVER_GONE:
            server_gone = True
            raise
        finally:
            _HELD.reset(token)
            stop.set()
            # A renewal under way may be waiting out the driver's retries; once the owner is
            # cleared below it matches nothing, so there is no need to wait for it.
            beat.join(timeout=1.0)
            if server_gone:
                log.warning("lock of %s left to expire: Neo4j went away", self.job)
            else:
                self._release_quietly()

    def _release_quietly(self) -> None:
        try:
            self.release()
        except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
            # The server is gone: the lock expires by itself after its TTL (or when a taker on
            # this host finds this process gone).
            log.warning("could not release the lock of %s: %s", self.job, exc)

    def _heartbeat(self, stop: threading.Event) -> None:
        # Renewing at a third of the TTL leaves two chances before expiry if one renewal fails.
        renewed = time.monotonic()
        while not stop.wait(self.ttl_ms / 3000):
            try:
                if not self.renew():
                    log.error("lock of job %s was lost by %s (expired and taken by another owner)", self.job, self.owner)
                    self.lost.set()
                    return
                renewed = time.monotonic()
            except (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError) as exc:
                log.warning("could not renew the lock of job %s: %s", self.job, exc)
                if time.monotonic() - renewed > self.ttl_ms / 1000:
                    log.error("lock of job %s was not renewed for a whole TTL; treating it as lost", self.job)
                    self.lost.set()
                    return
