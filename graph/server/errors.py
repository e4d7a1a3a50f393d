"""The error the local server raises, whichever step failed."""

from __future__ import annotations


class ServerError(RuntimeError):
    """Raised when the local server cannot be provisioned, started or stopped.

    The message names the cause (no Java, port taken, Maven failure, corrupt cache).
    """
