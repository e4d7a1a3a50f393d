"""The project-managed server and the CLI around it, against the real test server."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from graph.config import ConnectionSettings, Settings, external_uri
from graph.server import LocalNeo4j, ServerError
from graph.store import GraphStore

REPO = Path(__file__).resolve().parents[2]
local_only = pytest.mark.skipif(external_uri() is not None, reason="tests the project-managed server")


def cli(settings: Settings, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
    env.update(
        SOCIOGRAPH_NEO4J_DIR=str(settings.server.state_dir),
        SOCIOGRAPH_BOLT_PORT=str(settings.server.bolt_port),
        SOCIOGRAPH_CACHE_DIR=str(settings.server.cache_dir),
        **(extra_env or {}),
    )
    return subprocess.run([sys.executable, "-m", "jobs", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)


@local_only
def test_password_file_is_owner_only_and_never_printed(settings: Settings) -> None:
    pw_file = settings.server.password_file
    mode = stat.S_IMODE(pw_file.stat().st_mode)
    assert mode == 0o600
    password = pw_file.read_text().strip()
    assert len(password) >= 24
    status = cli(settings, "neo4j", "status")
    assert status.returncode == 0 and "answering" in status.stdout
    assert f"bolt://127.0.0.1:{settings.server.bolt_port}" in status.stdout
    started = cli(settings, "neo4j", "start")
    assert started.returncode == 0
    logs = "".join(p.read_text(errors="replace") for p in (settings.server.state_dir / "logs").glob("*.log"))
    for text in (status.stdout, status.stderr, started.stdout, started.stderr, logs):
        assert password not in text


def test_connection_settings_keep_the_password_out_of_repr(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    connection = settings.connection()
    assert connection.password and connection.password not in repr(connection)
    assert connection.password not in str(connection) and connection.uri in repr(connection)
    for name in ("NEO4J_USER", "NEO4J_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NEO4J_URI", "bolt://graph.example:7687")
    monkeypatch.setenv("NEO4J_PASSWORD", "an-external-secret")
    external = Settings.from_env().connection()
    assert external == ConnectionSettings("bolt://graph.example:7687", "neo4j", "an-external-secret", None, external=True)
    assert "an-external-secret" not in repr(external)


@local_only
def test_start_reuses_a_running_server(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    server = LocalNeo4j(settings.server)
    before = server.status()
    with caplog.at_level(logging.INFO, logger="graph.server"):
        again = server.start()
    assert again.pid == before.pid and again.answering
    assert f"reusing the running Neo4j (pid {before.pid})" in caplog.text
    assert "starting Neo4j" not in caplog.text, "no second server was launched"


def _other_server(settings: Settings, tmp_path: Path, **changes: object) -> LocalNeo4j:
    # The start timeout only bounds a hung start: a loaded machine may take minutes, and no test
    # here is about speed.
    server = dataclasses.replace(settings.server, state_dir=tmp_path / "state", start_timeout_s=600, **changes)
    return LocalNeo4j(server)


@local_only
def test_start_names_a_taken_port(settings: Settings, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ServerError, match="port taken"):
            _other_server(settings, tmp_path, bolt_port=port).start()


@local_only
def test_start_names_missing_java(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerError, match="no Java"):
        _other_server(settings, tmp_path, bolt_port=1).start()


@local_only
def test_start_names_a_corrupt_cache(settings: Settings, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    lib = cache / f"neo4j-{settings.server.version}" / "lib"
    lib.mkdir(parents=True)
    (lib / "neo4j-kernel.jar").write_bytes(b"truncated download")
    (lib / "manifest.json").write_text(json.dumps({"neo4j-kernel.jar": "0" * 64}))
    with pytest.raises(ServerError, match="corrupt cache"):
        _other_server(settings, tmp_path, cache_dir=cache, bolt_port=_free_port()).start()


@local_only
def test_start_names_unreachable_maven_central(settings: Settings, tmp_path: Path) -> None:
    dead_mirror = tmp_path / "settings.xml"
    dead_mirror.write_text(
        "<settings><mirrors><mirror><id>dead</id><mirrorOf>*</mirrorOf>"
        f"<url>http://127.0.0.1:{_free_port()}/maven2</url></mirror></mirrors></settings>"
    )
    maven_args = ("-s", str(dead_mirror), f"-Dmaven.repo.local={tmp_path / 'empty-m2'}")
    server = _other_server(settings, tmp_path, cache_dir=tmp_path / "cache", bolt_port=_free_port(), maven_args=maven_args)
    with pytest.raises(ServerError, match="Maven Central unreachable"):
        server.start()
    assert not server.settings.lib_dir.exists(), "no partial download is left to pass for a cache"
    assert not (tmp_path / "state" / "run" / "sociograph-neo4j.pid").exists(), "no server was launched"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@local_only
def test_cypher_command_formats_and_is_read_only(settings: Settings, store: GraphStore) -> None:
    store.write("UNWIND range(1, 3) AS i CREATE (:User {id: 'u' + toString(i), name: 'N' + toString(i)})")
    as_json = cli(settings, "cypher", "MATCH (u:User) WHERE u.id <> $skip RETURN u.id AS id ORDER BY id", "--param", "skip=u2", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [{"id": "u1"}, {"id": "u3"}]
    as_csv = cli(settings, "cypher", "MATCH (u:User) RETURN u.id AS id, u.name AS name ORDER BY id LIMIT 2", "--format", "csv")
    assert as_csv.stdout.splitlines() == ["id,name", "u1,N1", "u2,N2"]
    table = cli(settings, "cypher", "MATCH (u:User) RETURN count(u) AS users")
    assert "| users |" in table.stdout and "| 3     |" in table.stdout
    write = cli(settings, "cypher", "CREATE (:User {id: 'intruder'})")
    assert write.returncode != 0
    assert store.node_count("User") == 3


@local_only
def test_with_gds_runs_opengds_louvain(settings: Settings, tmp_path: Path) -> None:
    server = _other_server(settings, tmp_path, bolt_port=_free_port())
    try:
        server.start(with_gds=True)
        gds_settings = dataclasses.replace(settings, server=server.settings)
        with GraphStore.from_settings(gds_settings) as store:
            assert store.read("RETURN gds.version() AS v")[0]["v"].startswith("2.13")
            store.write(
                "UNWIND range(0, 11) AS i CREATE (:User {id: 'u' + toString(i), group: i / 6})"
            )
            store.write(
                "MATCH (a:User), (b:User) WHERE a.group = b.group AND a.id < b.id CREATE (a)-[:FOLLOWS]->(b)"
            )
            store.write("MATCH (a:User {id: 'u0'}), (b:User {id: 'u6'}) CREATE (a)-[:FOLLOWS]->(b)")
            store.write("CALL gds.graph.project('g', 'User', {FOLLOWS: {orientation: 'UNDIRECTED'}})")
            rows = store.read(
                "CALL gds.louvain.stream('g') YIELD nodeId, communityId "
                "RETURN gds.util.asNode(nodeId).group AS group, communityId"
            )
        by_group: dict[int, set[int]] = {}
        for row in rows:
            by_group.setdefault(row["group"], set()).add(row["communityId"])
        assert all(len(c) == 1 for c in by_group.values())
        assert by_group[0] != by_group[1]
    finally:
        server.stop()
