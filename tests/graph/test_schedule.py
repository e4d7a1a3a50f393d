"""The scheduler: the job lock in the graph, the TOML configuration, and firing jobs under the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from graph.config import Settings
from graph.store import GraphStore
from graph import lock as lock_module
from graph.lock import JobLock
from graph.schema import ensure_schema
from graph.writeback import RunWriter, current_run
from jobs.schedule.config import ScheduleConfig, ScheduledJob, ScheduleConfigError, load_schedule
from jobs.schedule.scheduler import LockedFiring, build_scheduler

ROOT = Path(__file__).resolve().parents[2]


def _wait_until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_the_lock_excludes_a_second_holder_until_released(store: GraphStore) -> None:
    first, second = JobLock(store, "friends", ttl_s=60), JobLock(store, "friends", ttl_s=60)
    assert first.acquire()
    assert not second.acquire()
    assert first.holder() == first.owner
    assert JobLock(store, "communities", ttl_s=60).acquire(), "locks are per job"
    first.release()
    assert first.holder() is None
    assert second.acquire()
    first.release()
    assert second.holder() == second.owner, "releasing a lock one does not hold leaves it alone"


def test_concurrent_takers_get_the_lock_exactly_once(store: GraphStore) -> None:
    locks = [JobLock(store, "embed", ttl_s=60) for _ in range(8)]
    start = threading.Barrier(len(locks))
    results: list[bool] = []

    def take(lock: JobLock) -> None:
        start.wait()
        results.append(lock.acquire())

    threads = [threading.Thread(target=take, args=(lock,)) for lock in locks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert store.read("MATCH (l:JobLock {job: 'embed'}) RETURN count(l) AS n")[0]["n"] == 1


def _expiry(store: GraphStore, job: str):
    return store.read("MATCH (l:JobLock {job: $job}) RETURN l.expires_at AS e", {"job": job})[0]["e"]


def test_the_lock_makes_sure_of_its_uniqueness_on_a_graph_without_the_schema(store: GraphStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write(f"DROP CONSTRAINT {lock_module.LOCK_CONSTRAINT} IF EXISTS")
    monkeypatch.setattr(lock_module, "_UNIQUE_ON", set())
    try:
        test_concurrent_takers_get_the_lock_exactly_once(store)
        names = {r["name"] for r in store.read("SHOW CONSTRAINTS YIELD name RETURN name")}
        assert lock_module.LOCK_CONSTRAINT in names
    finally:
        ensure_schema(store)


def test_the_lock_expires_after_its_ttl_without_renewal(store: GraphStore) -> None:
    holder = JobLock(store, "friends", ttl_s=3600)
    assert holder.acquire()
    other = JobLock(store, "friends", ttl_s=3600)
    assert not other.acquire()
    # Expiry is decided on the server's clock: move it rather than wait for it.
    store.write("MATCH (l:JobLock {job: 'friends'}) SET l.expires_at = datetime() - duration({seconds: 1})")
    assert other.acquire()
    assert not holder.renew(), "the first holder lost its expired lock"
    assert other.holder() == other.owner


def test_a_held_lock_is_renewed_while_the_job_runs_and_released_after(store: GraphStore) -> None:
    lock = JobLock(store, "recommend", ttl_s=3.0)
    with lock.held() as taken:
        assert taken
        seen = [_expiry(store, "recommend")]
        # Two renewals observed, however slow the machine: only the heartbeat moves the expiry.
        assert _wait_until(lambda: seen.append(_expiry(store, "recommend")) or len(set(seen)) >= 3, timeout=60)
        assert sorted(set(seen)) == list(dict.fromkeys(seen)), "each renewal pushed the expiry forward"
        assert not JobLock(store, "recommend", ttl_s=3.0).acquire()
    assert lock.holder() is None
    with JobLock(store, "recommend", ttl_s=3.0).held() as taken:
        assert taken


def test_a_killed_holder_does_not_hold_the_lock_forever(settings: Settings, store: GraphStore) -> None:
    conn = settings.connection()
    env = {**os.environ, "NEO4J_URI": conn.uri, "NEO4J_USER": conn.user, "NEO4J_PASSWORD": conn.password}
    # An owner on another host: nobody here can see that it died, so only its TTL frees the lock.
    script = (
        "import sys, time\n"
        "from graph.store import GraphStore\n"
        "from graph.lock import JobLock\n"
        "store = GraphStore.from_settings()\n"
        "with JobLock(store, 'friends', ttl_s=2.0, owner='other-host:1:child').held() as taken:\n"
        "    print('taken' if taken else 'busy', flush=True)\n"
        "    time.sleep(600)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "taken"
        first = _expiry(store, "friends")
        assert _wait_until(lambda: _expiry(store, "friends") != first, timeout=60), "the child's heartbeat renews"
        assert not JobLock(store, "friends", ttl_s=2.0).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    last = _expiry(store, "friends")
    successor = JobLock(store, "friends", ttl_s=2.0)
    assert _wait_until(successor.acquire, timeout=60)
    taken_at = store.read("MATCH (l:JobLock {job: 'friends'}) RETURN l.taken_at AS t")[0]["t"]
    assert taken_at.to_native() >= last.to_native(), "taken only once the dead holder's lock had expired"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schedule.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[jobs.friends]\ncron = "0 3 * *"\n', "jobs.friends.cron: invalid cron expression"),
        ('[jobs.friends]\nseed = 1\n', "jobs.friends.cron: missing"),
        ('[jobs.frends]\ncron = "0 3 * * *"\n', "jobs.frends: unknown job"),
        ('[jobs.friends]\ncron = "0 3 * * *"\nseed = "one"\n', "jobs.friends.seed: must be an integer"),
        ('[jobs.friends]\ncron = "0 3 * * *"\nepochs = 3\n', "jobs.friends.epochs: unknown key"),
        ('[jobs.friends]\ncron = "0 3 * * *"\ndevice = "tpu"\n', "jobs.friends.device: must be one of"),
        ('[scheduler]\nlock_ttl = 0\n[jobs.friends]\ncron = "0 3 * * *"\n', "scheduler.lock_ttl: must be a positive"),
        ('[scheduler]\ntimezone = "Mars/Base"\n[jobs.friends]\ncron = "0 3 * * *"\n', "scheduler.timezone: unknown time zone"),
        ('[scheduler]\nlock_ttl = 10\n', "jobs: no jobs to schedule"),
        ('[jobs.friends\ncron = "0 3 * * *"\n', "not valid TOML"),
    ],
)
def test_configuration_errors_name_the_file_and_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScheduleConfigError) as error:
        load_schedule(path)
    assert str(error.value).startswith(f"{path}: ")
    assert key in str(error.value)


def test_the_example_configuration_loads(tmp_path: Path) -> None:
    config = load_schedule(ROOT / "schedule.example.toml")
    assert [job.name for job in config.jobs] == ["embed", "sentiment", "emotion", "communities", "friends", "recommend"]
    friends = next(job for job in config.jobs if job.name == "friends")
    fire = config.trigger(friends).get_next_fire_time(None, datetime(2030, 1, 1, 12, tzinfo=timezone.utc))
    assert fire == datetime(2030, 1, 2, 3, tzinfo=timezone.utc)


def test_the_scheduler_fires_a_job_under_its_lock(settings: Settings, store: GraphStore) -> None:
    config = ScheduleConfig((ScheduledJob("friends", "0 3 * * *", seed=7),), lock_ttl=30)
    calls: list[tuple[str, int, str | None]] = []

    def runner(job: ScheduledJob) -> int:
        # What the job sees while it runs: the lock held by the firing.
        calls.append((job.name, job.seed, JobLock(store, job.name).holder()))
        return 0

    scheduler = build_scheduler(settings, config, BackgroundScheduler(timezone="UTC"), runner)
    scheduler.start()
    try:
        # Fire now instead of at 03:00: the same path through the trigger and executor.
        scheduler.get_job("friends").modify(next_run_time=datetime.now(timezone.utc))
        assert _wait_until(lambda: bool(calls) and JobLock(store, "friends").holder() is None)
    finally:
        scheduler.shutdown()
    [(name, seed, holder)] = calls
    assert (name, seed) == ("friends", 7) and holder is not None


def test_a_firing_is_skipped_while_another_run_holds_the_lock(
    settings: Settings, store: GraphStore, caplog: pytest.LogCaptureFixture
) -> None:
    config = ScheduleConfig((ScheduledJob("communities", "0 2 * * *"),), lock_ttl=30)
    calls: list[str] = []
    firing = LockedFiring(settings, config, lambda job: calls.append(job.name) or 3)
    other = JobLock(store, "communities", ttl_s=30, owner="other-machine:42")
    assert other.acquire()
    with caplog.at_level("WARNING", logger="jobs.schedule.scheduler"):
        assert firing("communities") is None
    assert calls == [] and "skipped communities" in caplog.text and "other-machine:42" in caplog.text
    other.release()
    assert firing("communities") == 3 and calls == ["communities"]
    assert JobLock(store, "communities").holder() is None


def test_a_job_that_raises_releases_its_lock(settings: Settings, store: GraphStore) -> None:
    config = ScheduleConfig((ScheduledJob("embed", "*/5 * * * *"),), lock_ttl=30)

    def runner(job: ScheduledJob) -> int:
        raise RuntimeError("model file missing")

    assert LockedFiring(settings, config, runner)("embed") == 1
    assert JobLock(store, "embed").holder() is None


def test_a_fired_job_writes_under_the_firings_lock(settings: Settings, store: GraphStore) -> None:
    """The job's own run writer reuses the lock the firing holds instead of finding it busy."""
    config = ScheduleConfig((ScheduledJob("friends", "0 3 * * *"),), lock_ttl=30)

    def runner(job: ScheduledJob) -> int:
        with GraphStore.from_settings(settings) as own, RunWriter(own, job.name, {}, relationships=["SUGGESTED_FRIEND"]) as run:
            run.publish({"fired": True})
        return 0

    assert LockedFiring(settings, config, runner)("friends") == 0
    assert current_run(store, "friends")["metrics"] == {"fired": True}
    assert JobLock(store, "friends").holder() is None
