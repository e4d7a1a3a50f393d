"""What the project's Neo4j keeps to itself, against a fresh throwaway server.

The password never reaches a command line, a child's environment, the JVM's perf-data file, a log
or an exception; the state is owner-only; a pid file that names a stranger is not signalled; and
with ``NEO4J_URI`` naming the user's own server (here a throwaway that stands in for it, holding
a sentinel user), neither the demo nor the test session writes there unasked.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import graph.server.process
from graph.config import ConnectionSettings, Settings, external_wipe_refusal
from graph.server import SERVER_CLASS, LocalNeo4j, ServerError
from graph.store import GraphStore
from jobs.commands.demo import run_demo

REPO = Path(__file__).resolve().parents[2]
# The generated password is "p" + secrets.token_urlsafe(24): the tests fix it so that the poller
# can look for it while start runs, before the password file exists.
TOKEN = "KnownOnlyToThisTest_x7Q2mZ9vR4wL8aJ3"
PASSWORD = "p" + TOKEN
SENTINEL = {"id": "u000001", "name": "A real person", "bio": "must survive"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Poller(threading.Thread):
    """Reads every process's command line and environment, and every JVM perf-data file, until stopped.

    Attributes:
        leaks: where ``secret`` was seen (``/proc/PID/cmdline``, a perf-data path, ...).
        command_lines: every distinct command line seen.
    """

    def __init__(self, secret: str) -> None:
        super().__init__(daemon=True)
        self.secret = secret.encode()
        self.leaks: set[str] = set()
        self.command_lines: set[str] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit():
                    self._look(proc / "cmdline", record=True)
                    self._look(proc / "environ")
            for perf in Path("/tmp").glob("hsperfdata_*/*"):
                self._look(perf)
            self.done.wait(0.005)

    def _look(self, path: Path, record: bool = False) -> None:
        try:
            data = path.read_bytes()
        except OSError:
            return
        if self.secret in data:
            self.leaks.add(str(path))
        if record:
            self.command_lines.add(data.replace(b"\0", b" ").decode(errors="replace"))


@dataclasses.dataclass
class Fresh:
    """The throwaway server and what was observed while it started for the first time."""

    server: LocalNeo4j
    settings: Settings
    poller: Poller
    log_text: str


class Records(logging.Handler):
    """Keeps every log record it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fresh]:
    """A throwaway server started from nothing under a permissive umask (0), with the poller running
    and every log record kept.

    Before that start, neo4j-admin had already set another initial password, as a start that was
    killed after setting it but before saving the password file leaves behind.
    """
    settings = Settings.from_env()
    state = tmp_path_factory.mktemp("fresh") / "state"
    # The start timeout only bounds a hung start; a loaded machine may take minutes.
    local = dataclasses.replace(
        settings.server, state_dir=state, bolt_port=_free_port(), heap="512m", pagecache="256m", start_timeout_s=600
    )
    server = LocalNeo4j(local)
    records = Records()
    root = logging.getLogger()
    root_level = root.level
    poller = Poller(PASSWORD)
    try:
        old_umask = os.umask(0)
        try:
            assert server.admin("dbms", "set-initial-password", "pLeftBehindByAKilledStart1").returncode == 0
            root.addHandler(records)
            root.setLevel(logging.DEBUG)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(graph.server.process.secrets, "token_urlsafe", lambda n: TOKEN)
                poller.start()
                server.start()
        finally:
            os.umask(old_umask)
            poller.done.set()
            if poller.is_alive():
                poller.join()
            root.removeHandler(records)
            root.setLevel(root_level)
        yield Fresh(server, dataclasses.replace(settings, server=local), poller, "\n".join(r.getMessage() for r in records.records))
    finally:
        server.stop()


def _store(fresh: Fresh) -> GraphStore:
    return GraphStore(ConnectionSettings(fresh.settings.server.bolt_uri, "neo4j", PASSWORD, None, external=False))


def test_the_password_never_reaches_a_command_line_an_environment_or_a_log(fresh: Fresh) -> None:
    home = f"-Dbasedir={fresh.settings.server.home_dir} "
    admin_runs = [c for c in fresh.poller.command_lines if home in c and SERVER_CLASS not in c]
    assert admin_runs, "the poller must have seen neo4j-admin setting the password, or it proves nothing"
    assert fresh.poller.leaks == set()
    assert fresh.settings.server.password_file.read_text() == PASSWORD
    assert PASSWORD not in fresh.log_text
    logs = fresh.settings.server.state_dir / "logs"
    for path in logs.rglob("*"):
        if path.is_file():
            assert PASSWORD not in path.read_text(errors="replace"), path
    with _store(fresh) as store:
        assert store.read("RETURN 1 AS one") == [{"one": 1}], "the server took the password of this start, not the one left behind"


def test_a_failing_password_tool_does_not_copy_the_password_into_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.from_env()
    # A stand-in `java` that fails and echoes everything it was given, the argument file included.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = -version ]; then echo \'openjdk version "17.0.15"\' >&2; exit 0; fi\n'
        'for a in "$@"; do case "$a" in @*) cat "${a#@}" >&2;; *) echo "$a" >&2;; esac; done\n'
        "exit 1\n"
    )
    java.chmod(0o700)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setattr(graph.server.process.secrets, "token_urlsafe", lambda n: TOKEN)
    server = LocalNeo4j(dataclasses.replace(settings.server, state_dir=tmp_path / "state", bolt_port=_free_port()))
    with caplog.at_level(logging.DEBUG), pytest.raises(ServerError, match="could not set the initial password") as failed:
        server.start()
    assert "set-initial-password" in str(failed.value), "the tool's output is in the error"
    assert PASSWORD not in str(failed.value)
    assert PASSWORD not in caplog.text
    assert not server.settings.password_file.exists(), "no password file for a password the server never got"
    assert not list((tmp_path / "state").rglob("*.args")), "the argument file holding the password is gone"


def test_the_state_is_owner_only_even_under_a_permissive_umask(fresh: Fresh) -> None:
    s = fresh.settings.server
    for directory in (s.state_dir, s.home_dir, s.home_dir / "conf", *(s.state_dir / d for d in ("data", "logs", "run", "plugins", "import"))):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert stat.S_IMODE(s.password_file.stat().st_mode) == 0o600
    # What Neo4j itself wrote (store files, logs) is owner-only too.
    shared = [p for p in s.state_dir.rglob("*") if p.stat().st_mode & 0o077]
    assert shared == []


def test_stop_and_start_leave_a_stranger_named_by_the_pid_file_alone(fresh: Fresh, caplog: pytest.LogCaptureFixture) -> None:
    server = fresh.server
    pid_file = server.settings.state_dir / "run" / "sociograph-neo4j.pid"
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        assert server.stop() is True and not pid_file.exists()
        pid_file.write_text(str(stranger.pid))
        with caplog.at_level(logging.WARNING, logger="graph.server"):
            assert server.stop() is False
        assert stranger.poll() is None, "stop signalled a process that is not our Neo4j"
        assert not pid_file.exists() and f"names pid {stranger.pid}, which is not this Neo4j" in caplog.text

        pid_file.write_text(str(stranger.pid))
        status = server.start()
        assert status.answering and status.pid not in (None, stranger.pid)
        assert int(pid_file.read_text()) == status.pid and stranger.poll() is None
        assert server._is_ours(status.pid) and not server._is_ours(stranger.pid)
    finally:
        stranger.kill()
        stranger.wait()


def test_the_server_is_recognised_without_proc_too(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = fresh.server.status().pid
    assert pid is not None
    monkeypatch.setattr(graph.server.process, "PROC", Path("/nonexistent-proc"))
    assert fresh.server._is_ours(pid)
    assert not fresh.server._is_ours(os.getpid())


def test_status_names_a_refused_password_instead_of_not_answering(
    fresh: Fresh, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from jobs.cli import main
    from jobs.common.exit_codes import Exit

    s = fresh.settings.server
    for name in [n for n in os.environ if n.startswith("NEO4J_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SOCIOGRAPH_NEO4J_DIR", str(s.state_dir))
    monkeypatch.setenv("SOCIOGRAPH_BOLT_PORT", str(s.bolt_port))
    s.password_file.write_text("pNotThisServersPassword")
    try:
        assert main(["neo4j", "status"]) == Exit.AUTH
    finally:
        s.password_file.write_text(PASSWORD)
    assert "refuses the password in" in caplog.text and "not answering" not in caplog.text
    assert main(["neo4j", "status"]) == Exit.OK


@pytest.fixture
def users_server(fresh: Fresh, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphStore]:
    """The throwaway server standing in for the user's own, holding only the sentinel user, with
    ``NEO4J_URI`` (and the user and password) pointing at it."""
    for name in [n for n in os.environ if n.startswith("NEO4J_") or n == "SOCIOGRAPH_TEST_ALLOW_WIPE"]:
        monkeypatch.delenv(name)
    for name, value in (("NEO4J_URI", fresh.settings.server.bolt_uri), ("NEO4J_USER", "neo4j"), ("NEO4J_PASSWORD", PASSWORD)):
        monkeypatch.setenv(name, value)
    with _store(fresh) as store:
        store.wipe()
        store.write("CREATE (:User {id: $id, name: $name, bio: $bio})", SENTINEL)
        yield store


def _untouched(store: GraphStore) -> bool:
    return store.read("MATCH (n) RETURN n.id AS id, n.name AS name, n.bio AS bio") == [SENTINEL]


def test_demo_refuses_the_users_own_server(
    users_server: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from jobs.cli import main

    store = users_server
    monkeypatch.setenv("SOCIOGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    # Should the demo not refuse, it fails after its load instead of running every job.
    monkeypatch.setattr("jobs.commands.demo.run_pipeline", lambda *args, **kwargs: 1)
    assert main(["demo", "--users", "100"]) == 2
    assert "--into-external" in caplog.text and "Traceback" not in caplog.text
    assert _untouched(store)
    assert not (tmp_path / "cache").exists(), "nothing written, not even the demo's files"


def test_demo_writes_into_the_users_server_when_told_to(
    users_server: GraphStore, fresh: Fresh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = users_server
    # What is under test is whether the demo writes at all, not its jobs: it stops after the load.
    monkeypatch.setattr("jobs.commands.demo.run_pipeline", lambda settings, seed: 1)
    settings = dataclasses.replace(fresh.settings, server=dataclasses.replace(fresh.settings.server, cache_dir=tmp_path))
    assert run_demo(settings, users=100, seed=0, into_external=False) == 2
    assert _untouched(store)
    assert run_demo(settings, users=100, seed=0, into_external=True) == 1
    assert store.node_count("User") == 100
    assert store.read("MATCH (u:User {id: $id}) RETURN u.name AS name", {"id": SENTINEL["id"]})[0]["name"] != SENTINEL["name"]


def test_the_test_session_refuses_to_wipe_the_users_server(users_server: GraphStore, tmp_path: Path) -> None:
    store = users_server
    (tmp_path / "test_wipes.py").write_text("def test_wipes(store):\n    pass\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), str(REPO)])}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q", str(tmp_path / "test_wipes.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert "refusing to run the tests against NEO4J_URI" in run.stdout + run.stderr
    assert _untouched(store)


@pytest.mark.parametrize(
    ("allow", "database", "refused"),
    [(None, None, True), ("1", None, True), ("1", "neo4j", True), (None, "test_scratch", True), ("yes", "test_scratch", True),
     ("1", "test_scratch", False), ("1", "ci-TEST", False)],
)
def test_wiping_an_external_server_takes_the_variable_and_a_test_database(
    monkeypatch: pytest.MonkeyPatch, allow: str | None, database: str | None, refused: bool
) -> None:
    monkeypatch.setenv("NEO4J_URI", "bolt://127.0.0.1:1")
    for name, value in (("SOCIOGRAPH_TEST_ALLOW_WIPE", allow), ("NEO4J_DATABASE", database)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert (external_wipe_refusal() is not None) is refused
    monkeypatch.delenv("NEO4J_URI")
    assert external_wipe_refusal() is None, "the tests' own server may always be wiped"
