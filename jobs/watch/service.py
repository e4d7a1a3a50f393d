"""The watch service's loop: find what changed, serve it, record how far it got.

Each cycle reads the nodes stamped since the high-water mark (:mod:`graph.changes`), posts then
people, at most :attr:`graph.config.WatchSettings.batch` of each, and serves them in steps, each
under its job's lock taken briefly:

1. ``embed``: vectors of the changed posts, then profile vectors of the changed people;
2. ``sentiment`` and ``emotion``: the changed posts' labels;
3. ``recommend``: each new post into the lists it earns (:mod:`jobs.watch.audience`), lists for
   people no run has served (:mod:`jobs.watch.newcomers`), and the posts of people who opted
   out out of every list;
4. ``friends``: suggestions for people no run has served, and people who opted out out of every
   list.

A step whose job is running is skipped and its nodes stay unserved, so the service keeps serving
the other steps against the published runs and catches up once the run has published.  A node is
marked served only when every step has served it; all writes are idempotent, so a node served
twice (after a crash between a step and the mark) ends as if served once.  A node that fails a
step on its own (bad data) is skipped with its reason in the log.  The high-water mark lives in
the graph (``WatchMark``), with the lag and a heartbeat, so a restart, even after ``kill -9``,
resumes where the last cycle ended.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from graph.changes import Change, Lag, lag, mark_seen, read_mark, save_mark, unseen_changes
from graph.config import WatchSettings
from graph.lock import SERVER_GONE, JobLock
from graph.store import GraphStore
from jobs.watch.audience import place_posts
from jobs.watch.profiles import ProfileCache
from jobs.watch.newcomers import forget_opted_out, recommend_posts, suggest_friends
from jobs.watch.text import TextModels, classify_emotion, classify_sentiment, embed_changed

log = logging.getLogger(__name__)

REPORT_EVERY_S = 10.0
"""How often the lag is logged and recorded while changes keep coming (or while idle, as a heartbeat)."""
SERVED_JOBS = ("sentiment", "emotion", "recommend", "friends")
"""The jobs whose published runs the service extends; its first start serves what changed since the oldest began."""


RETRY_S = 5.0
"""How long the service's driver retries a transaction before the service's own back-off takes over
(and says so in its log): the driver's default would hold a cycle for half a minute in silence."""
BRIEF_TTL_S = 60.0
"""The TTL of the service's brief locks: a crashed service blocks no run for longer."""


@contextmanager
def brief_lock(store: GraphStore, job: str) -> Iterator[bool]:
    """Holds ``job``'s lock as a brief holder for the block.

    Yields:
        True when it is held; False when a run of the job holds it or wants it (the caller defers).
    """
    with JobLock(store, job, BRIEF_TTL_S, brief=True).held() as taken:
        if not taken:
            log.debug("%s is running; its part of the changes waits", job)
        yield taken


@dataclass
class WatchSummary:
    """What the service did: cycles run, nodes served, skipped for bad data, and deferred behind a running job."""

    cycles: int = 0
    posts: int = 0
    users: int = 0
    skipped: int = 0
    deferred: int = 0


def _keys(nodes: Iterable[tuple[str, str]], label: str) -> list[str]:
    return [key for node_label, key in nodes if node_label == label]


def _guarded(what: str, step: Callable[[list[tuple[str, str]]], Any], ids: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Runs ``step`` on ``ids`` (``(label, key)`` nodes); when it fails, on each alone, to find the
    ones that fail on their own.

    Returns:
        The nodes that failed alone (their reasons logged).
    """
    if not ids:
        return set()
    try:
        step(ids)
        return set()
    except SERVER_GONE:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad node must not stop the service; it is named and skipped
        if len(ids) == 1:
            log.warning("skipped %s %s in the %s step: %s", ids[0][0], ids[0][1], what, exc)
            return set(ids)
        return set().union(*(_guarded(what, step, [one]) for one in ids))


class WatchService:
    """Serves the graph's changes until stopped.

    Args:
        store: the graph.
        models: the loaded text models.
        settings: poll interval, batch and audience sizes, back-off.
        stop: set to end the loop after the cycle under way (SIGTERM sets it).
    """

    def __init__(self, store: GraphStore, models: TextModels, settings: WatchSettings, stop: threading.Event | None = None) -> None:
        self.store = store
        self.models = models
        self.settings = settings
        self.stop = stop or threading.Event()
        self.summary = WatchSummary()
        self.cache = ProfileCache()
        self.since: Any = None
        self._served_since_report = 0

    def start_mark(self) -> Any:
        """Returns where to start: the stored high-water mark, or before the first start the time the
        oldest published run of :data:`SERVED_JOBS` began (None: every stamped node)."""
        mark = read_mark(self.store)
        if mark and mark.get("since") is not None:
            return mark["since"]
        rows = self.store.read(
            "MATCH (r:JobRun {current: true}) WHERE r.job IN $jobs RETURN min(r.started_at) AS since", {"jobs": list(SERVED_JOBS)}
        )
        return rows[0]["since"] if rows else None

    def cycle(self) -> tuple[int, int]:
        """Serves one batch of changes.

        Returns:
            ``(served, deferred)``: nodes marked served (skipped ones included) and nodes left for a later cycle.
        """
        if self.since is None:
            self.since = self.start_mark()
        posts = unseen_changes(self.store, "Post", self.since, self.settings.batch)
        users = unseen_changes(self.store, "User", self.since, self.settings.batch)
        if not posts and not users:
            return 0, 0
        post_ids, user_ids = [c.key for c in posts], [c.key for c in users]
        self.cache.forget(user_ids, post_ids)
        # Nodes are named (label, key): a post and a person may share a key (LastFM's numbers do).
        deferred: set[tuple[str, str]] = set()
        skipped: set[tuple[str, str]] = set()

        def step(job: str, work: Callable[[list[str], list[str]], Any], posts: list[str], people: list[str]) -> None:
            todo = [n for n in [*(("Post", k) for k in posts), *(("User", k) for k in people)] if n not in skipped]
            if not todo:
                return
            started = time.perf_counter()
            with brief_lock(self.store, job) as taken:
                if not taken:
                    deferred.update(todo)
                    return
                skipped.update(_guarded(job, lambda nodes: work(_keys(nodes, "Post"), _keys(nodes, "User")), todo))
            log.debug("%s step: %d nodes in %.3f s", job, len(todo), time.perf_counter() - started)

        audience, cache, store, models = self.settings.audience, self.cache, self.store, self.models
        step("embed", lambda p, u: embed_changed(store, models, p, u, cache.posts), post_ids, user_ids)
        step("sentiment", lambda p, u: classify_sentiment(store, models, p), post_ids, [])
        step("emotion", lambda p, u: classify_emotion(store, models, p), post_ids, [])
        step("recommend", lambda p, u: place_posts(store, p, audience, cache), post_ids, [])
        step("recommend", lambda p, u: (forget_opted_out(store, u, "RECOMMENDED"), recommend_posts(store, u, cache)), [], user_ids)
        step("friends", lambda p, u: (forget_opted_out(store, u, "SUGGESTED_FRIEND"), suggest_friends(store, u, audience)), [], user_ids)

        done_posts = [c for c in posts if ("Post", c.key) not in deferred]
        done_users = [c for c in users if ("User", c.key) not in deferred]
        mark_seen(self.store, "Post", done_posts)
        mark_seen(self.store, "User", done_users)
        self._advance([*posts, *users], deferred)
        self.summary.posts += sum(("Post", c.key) not in skipped for c in done_posts)
        self.summary.users += sum(("User", c.key) not in skipped for c in done_users)
        self.summary.skipped += len(skipped - deferred)
        self.summary.deferred += len(deferred)
        return len(done_posts) + len(done_users), len(deferred)

    def _advance(self, changes: Iterable[Change], deferred: set[tuple[str, str]]) -> None:
        # A deferred node must stay inside the window the next cycle reads, so the mark only moves
        # when nothing was deferred; it moves to the newest stamp served.
        changes = list(changes)
        if deferred or not changes:
            return
        newest = max(c.stamp for c in changes)
        if self.since is None or newest > self.since:
            self.since = newest

    def report(self) -> Lag:
        """Logs and records the lag (unserved changes and the age of the oldest) with the high-water mark."""
        now_lag = lag(self.store, self.since)
        save_mark(self.store, self.since, now_lag, self._served_since_report)
        log.info(
            "served %d posts and %d people so far (%d skipped, %d deferrals); lag %d changes, oldest %.1f s",
            self.summary.posts, self.summary.users, self.summary.skipped, self.summary.deferred,
            now_lag.count, now_lag.age_s(datetime.now(timezone.utc)),
        )
        self._served_since_report = 0
        return now_lag

    def run(self, until_idle: bool = False, max_seconds: float | None = None) -> WatchSummary:
        """Runs cycles until :attr:`stop` is set (or, with ``until_idle``, until a cycle finds nothing
        left, or after ``max_seconds``), waiting :attr:`graph.config.WatchSettings.poll_s` while idle
        and backing off while Neo4j is away.

        Returns:
            The :class:`WatchSummary`.
        """
        started = time.monotonic()
        last_report = 0.0
        backoff = self.settings.poll_s
        away = False
        while not self.stop.is_set():
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                break
            try:
                served, deferred = self.cycle()
                self.summary.cycles += 1
                self._served_since_report += served
                if away:
                    log.info("Neo4j is back; resuming")
                    away, backoff = False, self.settings.poll_s
                if time.monotonic() - last_report >= REPORT_EVERY_S or (until_idle and not served and not deferred):
                    last_report = time.monotonic()
                    if self.report().count == 0 and until_idle and not served and not deferred:
                        break
            except SERVER_GONE as exc:
                if not away:
                    log.warning("Neo4j is unreachable (%s); retrying with back-off up to %.0f s", exc, self.settings.max_backoff_s)
                    away = True
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self.settings.max_backoff_s)
                continue
            if not served:
                self.stop.wait(self.settings.poll_s)
        return self.summary

