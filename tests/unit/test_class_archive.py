"""The class-data-sharing archive's life cycle: one recorder at a time, atomic publication, stale locks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from graph.server.class_archive import ClassArchive


def _archive(tmp_path: Path, server: str) -> ClassArchive:
    return ClassArchive(tmp_path / "cds", [tmp_path / "lib" / "a.jar"], tmp_path / server / "run" / "class-archive")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_first_server_records_and_later_ones_use_the_archive(tmp_path: Path) -> None:
    first = _archive(tmp_path, "one")
    options = first.options()
    assert len(options) == 1 and options[0].startswith("-XX:ArchiveClassesAtExit=")
    first.claimed(os.getpid())
    assert _archive(tmp_path, "two").options() == [], "a second server must not record while the first does"

    pending = Path(options[0].split("=", 1)[1])
    pending.write_bytes(b"classes")
    first.settle(os.getpid())
    assert first.path.read_bytes() == b"classes"
    assert not first.lock.exists() and not pending.exists()
    assert _archive(tmp_path, "two").options() == [f"-XX:SharedArchiveFile={first.path}"]


def test_a_recorder_that_died_frees_the_lock_and_leaves_no_archive(tmp_path: Path) -> None:
    first = _archive(tmp_path, "one")
    first.options()
    first.claimed(_dead_pid())
    second = _archive(tmp_path, "two")
    assert second.options()[0].startswith("-XX:ArchiveClassesAtExit=")
    second.claimed(os.getpid())

    first.settle(_dead_pid())
    assert not first.path.exists(), "nothing was dumped, so nothing is published"
    assert second.lock.read_text() == str(os.getpid()), "settling one server must not release another's lock"


def test_a_different_class_path_gets_its_own_archive(tmp_path: Path) -> None:
    plain = _archive(tmp_path, "one")
    with_plugin = ClassArchive(tmp_path / "cds", [tmp_path / "lib" / "a.jar", tmp_path / "plugins" / "gds.jar"], tmp_path / "x")
    assert plain.path != with_plugin.path
