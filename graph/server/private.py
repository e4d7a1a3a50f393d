"""Owner-only directories and files: the server's state, its configuration and its password."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# What the JVMs write (store files, logs, an import report) is for this user only.
PRIVATE_UMASK = 0o077


def private_dir(path: Path) -> Path:
    """Creates ``path`` (and its missing parents) and makes it owner-only (0700), also when it existed.

    Returns:
        ``path``.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` as an owner-only (0600) file that appears whole or not at all."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
