"""The SHA-256 of files, read a megabyte at a time: checkpoint keys, downloaded jars and built models are all pinned by it."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_of(*paths: Path) -> str:
    """Returns the hex SHA-256 over the contents of ``paths``, in order."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
