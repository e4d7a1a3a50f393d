"""Errors a person can act on: one line saying what to do, a distinct exit status, a traceback only with --verbose.

Against the test session's real server: nothing listening, credentials refused, a database that
does not exist, the server lost after the command reached it; and a bug, which is exit 70 with
its traceback, never exit 2 "bad usage".
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import ServiceUnavailable

from graph.config import Settings
from jobs.cli import main
from jobs.common.exit_codes import Exit

REPO = Path(__file__).resolve().parents[2]
PROBE_USER = "sociograph_cli_probe"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dead_uri() -> str:
    return f"bolt://127.0.0.1:{_free_port()}"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A monkeypatch with no ``NEO4J_*`` variable set."""
    for name in [n for n in os.environ if n.startswith("NEO4J_")]:
        monkeypatch.delenv(name)
    yield monkeypatch


@pytest.fixture(scope="module")
def probe_user(settings: Settings) -> Iterator[str]:
    """A user of the test server whose failed logins lock out nobody else (Neo4j locks a user
    out for a while after three failures)."""
    conn = settings.connection()
    with GraphDatabase.driver(conn.uri, auth=(conn.user, conn.password)) as driver:
        # A killed run leaves its probe user behind, locked out by its failed logins: start afresh.
        driver.execute_query("DROP USER $name IF EXISTS", {"name": PROBE_USER}, database_="system")
        driver.execute_query(
            "CREATE USER $name SET PASSWORD $password CHANGE NOT REQUIRED",
            {"name": PROBE_USER, "password": "the-right-password"}, database_="system",
        )
        try:
            yield PROBE_USER
        finally:
            driver.execute_query("DROP USER $name IF EXISTS", {"name": PROBE_USER}, database_="system")


def _one_error(caplog: pytest.LogCaptureFixture) -> str:
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    message = errors[0].getMessage()
    assert "\n" not in message
    return message


def _point_at(env: pytest.MonkeyPatch, settings: Settings, **changes: str) -> None:
    conn = settings.connection()
    for name, value in {"NEO4J_URI": conn.uri, "NEO4J_USER": conn.user, "NEO4J_PASSWORD": conn.password, **changes}.items():
        env.setenv(name, value)


def test_nothing_listening_is_unreachable_in_one_line(env: pytest.MonkeyPatch) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    uri = _dead_uri()
    quiet = subprocess.run(
        [sys.executable, "-m", "jobs", "cypher", "RETURN 1"], cwd=REPO, env={**base, "NEO4J_URI": uri},
        capture_output=True, text=True, timeout=120,
    )
    assert quiet.returncode == Exit.UNREACHABLE
    lines = quiet.stderr.strip().splitlines()
    assert len(lines) == 1 and f"Neo4j at {uri} is not answering" in lines[0] and "NEO4J_URI" in lines[0], quiet.stderr
    verbose = subprocess.run(
        [sys.executable, "-m", "jobs", "--verbose", "cypher", "RETURN 1"], cwd=REPO, env={**base, "NEO4J_URI": uri},
        capture_output=True, text=True, timeout=120,
    )
    assert verbose.returncode == Exit.UNREACHABLE
    assert "Traceback" in verbose.stderr and "ServiceUnavailable" in verbose.stderr


def test_a_local_server_that_is_not_running_says_to_start_it(
    env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env.setenv("SOCIOGRAPH_NEO4J_DIR", str(tmp_path))
    env.setenv("SOCIOGRAPH_BOLT_PORT", str(_free_port()))
    assert main(["status"]) == Exit.UNREACHABLE, "never started: no password file yet"
    assert "neo4j start" in _one_error(caplog)
    caplog.clear()
    (tmp_path / "password").write_text("pSomePassword")
    assert main(["status"]) == Exit.UNREACHABLE, "started once, stopped now"
    assert "start it with `python -m jobs neo4j start`" in _one_error(caplog)


def test_refused_credentials_are_an_auth_failure(
    env: pytest.MonkeyPatch, settings: Settings, probe_user: str, caplog: pytest.LogCaptureFixture
) -> None:
    _point_at(env, settings, NEO4J_USER=probe_user, NEO4J_PASSWORD="a-wrong-password")
    assert main(["cypher", "RETURN 1"]) == Exit.AUTH
    message = _one_error(caplog)
    assert "refused the credentials" in message and "NEO4J_PASSWORD" in message
    assert "a-wrong-password" not in caplog.text and "Traceback" not in caplog.text
    caplog.clear()
    assert main(["--verbose", "cypher", "RETURN 1"]) == Exit.AUTH
    assert "Traceback" in caplog.text and "AuthError" in caplog.text


def test_an_unknown_database_is_named(env: pytest.MonkeyPatch, settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    _point_at(env, settings, NEO4J_DATABASE="nosuchdatabase")
    assert main(["status"]) == Exit.NO_DATABASE
    message = _one_error(caplog)
    assert "no database 'nosuchdatabase'" in message and "NEO4J_DATABASE" in message
    assert "Traceback" not in caplog.text


def test_a_server_lost_after_the_command_reached_it_is_server_lost(
    env: pytest.MonkeyPatch, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    _point_at(env, settings)
    dead = _dead_uri()

    def lose_the_server(*args: object) -> int:
        # The driver's own error for a connection that fails, as it raises it mid-job.
        with GraphDatabase.driver(dead, auth=("neo4j", "x")) as driver:
            driver.verify_connectivity()
        return 0

    env.setattr("jobs.commands.cypher.run_cypher", lose_the_server)
    assert main(["cypher", "RETURN 1"]) == Exit.SERVER_LOST
    message = _one_error(caplog)
    assert "stopped answering in the middle of the command" in message and "rerun" in message
    assert "Traceback" not in caplog.text


def test_a_lost_connection_counts_as_lost_only_once_the_server_was_reached() -> None:
    from jobs.common.failures import failure_status

    with pytest.raises(ServiceUnavailable) as refused:
        with GraphDatabase.driver(_dead_uri(), auth=("neo4j", "x")) as driver:
            driver.verify_connectivity()
    assert failure_status(refused.value, reached=False) is Exit.UNREACHABLE
    assert failure_status(refused.value, reached=True) is Exit.SERVER_LOST
    try:
        raise RuntimeError("the write-back failed") from refused.value
    except RuntimeError as wrapped:
        assert failure_status(wrapped, reached=True) is Exit.SERVER_LOST


def test_a_bug_is_an_internal_error_with_its_traceback(env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def buggy(*args: object) -> int:
        return {}["missing"]

    env.setattr("jobs.commands.generate.run_generate", buggy)
    assert main(["generate", "--out", str(tmp_path)]) == Exit.INTERNAL
    assert "internal error" in caplog.text and "Traceback" in caplog.text and "KeyError" in caplog.text


def test_a_clean_up_that_fails_after_sigterm_still_exits_as_terminated(env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # The driver, interrupted mid-read by the SIGTERM handler's SystemExit, can raise as it closes.
    def interrupted(*args: object) -> int:
        try:
            raise SystemExit(Exit.TERMINATED)
        finally:
            raise BufferError("Existing exports of data: object cannot be re-sized")

    env.setattr("jobs.commands.generate.run_generate", interrupted)
    assert main(["generate", "--out", str(tmp_path)]) == Exit.TERMINATED
    assert "SIGTERM" in caplog.text and "internal error" not in caplog.text


def test_a_value_error_from_a_library_is_a_bug_not_bad_usage(env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def buggy(*args: object) -> int:
        return json.loads("{not json")

    env.setattr("jobs.commands.generate.run_generate", buggy)
    assert main(["generate", "--out", str(tmp_path)]) == Exit.INTERNAL
    assert "internal error" in caplog.text and "JSONDecodeError" in caplog.text


def test_bad_input_stays_a_usage_error_without_a_traceback(
    env: pytest.MonkeyPatch, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["generate", "--users", "5", "--out", str(tmp_path)]) == Exit.USAGE
    assert "n_users must be between" in _one_error(caplog)
    caplog.clear()
    env.setenv("SOCIOGRAPH_BATCH_SIZE", "many")
    assert main(["generate", "--out", str(tmp_path)]) == Exit.USAGE
    assert "SOCIOGRAPH_BATCH_SIZE" in _one_error(caplog)
    env.delenv("SOCIOGRAPH_BATCH_SIZE")
    caplog.clear()
    _point_at(env, settings)
    assert main(["cypher", "RETURN no_such_function(1)"]) == Exit.USAGE, "the user's own Cypher is input"
    assert "no_such_function" in _one_error(caplog)
    assert "Traceback" not in caplog.text
