"""A class-data-sharing archive for the Neo4j JVM, so that later starts skip most class loading.

The first server started for a given Java and class path records the classes it
loaded into an archive when it exits (``-XX:ArchiveClassesAtExit``); later
starts map that archive (``-XX:SharedArchiveFile``).  A start then reaches Bolt
sooner, and the first queries after it run faster too (figures:
``bench/RESULTS.md``, Ingest, and its history).  Only one server records at a time (a lock file holding
its pid), the archive appears by an atomic rename once the recording JVM has
exited, and a JVM that cannot map an archive (another build, say) starts without
it, as ``-Xshare:auto`` does by default.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)
CLAIM_TIMEOUT_S = 300


def pid_alive(pid: int) -> bool:
    """Returns True when a process ``pid`` exists (possibly owned by another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ClassArchive:
    """The archive for one Java binary and one set of jars, kept under ``directory``.

    Args:
        directory: where archives live (shared by every server of one Neo4j version).
        jars: the jars on the server's class path.
        recording: the file in the server's own state that names the archive it records, if any.
    """

    def __init__(self, directory: Path, jars: Iterable[Path], recording: Path) -> None:
        java = shutil.which("java") or "java"
        key = "\n".join([os.path.realpath(java), *sorted(str(j) for j in jars)])
        self.path = directory / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsa"
        self.lock = self.path.with_suffix(".lock")
        self.recording = recording

    def options(self) -> list[str]:
        """Returns the JVM options for a server about to start: use the archive, record it, or neither.

        Call :meth:`claimed` with the server's pid once it runs when the options record.
        """
        if self.path.is_file():
            return [f"-XX:SharedArchiveFile={self.path}"]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.lock.exists() and not self._lock_is_stale():
            return []
        self.lock.unlink(missing_ok=True)
        try:
            fd = os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return []
        os.close(fd)
        pending = self.path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        self.recording.parent.mkdir(parents=True, exist_ok=True)
        self.recording.write_text(str(pending))
        return [f"-XX:ArchiveClassesAtExit={pending}"]

    def claimed(self, pid: int) -> None:
        """Records ``pid`` as the server that holds the recording lock (when this server records)."""
        if self.recording.exists() and self.lock.exists():
            self.lock.write_text(str(pid))

    def settle(self, pid: int) -> None:
        """After server ``pid`` has exited: publishes the archive it recorded, and releases its lock."""
        if not self.recording.exists():
            return
        pending = Path(self.recording.read_text().strip())
        self.recording.unlink(missing_ok=True)
        if pending.is_file() and pending.stat().st_size > 0:
            os.replace(pending, self.path)
            log.info("recorded a class-data-sharing archive for later starts: %s", self.path)
        else:
            pending.unlink(missing_ok=True)
        try:
            holder = self.lock.read_text().strip()
        except FileNotFoundError:
            return
        if holder == str(pid):
            self.lock.unlink(missing_ok=True)

    def _lock_is_stale(self) -> bool:
        try:
            text = self.lock.read_text().strip()
            age = time.time() - self.lock.stat().st_mtime
        except FileNotFoundError:
            return True
        # An empty lock belongs to a start in progress, unless that start died long ago.
        if not text:
            return age > CLAIM_TIMEOUT_S
        return not pid_alive(int(text))
