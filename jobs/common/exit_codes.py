"""The exit statuses of ``python -m jobs``: one per cause a person can act on, documented in the README."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """What the process's exit status means."""

    OK = 0
    FAILED = 1
    """The job ran and failed (e.g. more rejects than ``--max-rejects``, a job that could not publish)."""
    USAGE = 2
    """Bad arguments, configuration or input files: the message names what to fix."""
    BUSY = 3
    """Another run of the same job (or another ingest) holds its lock."""
    UNREACHABLE = 4
    """Neo4j refused the connection or did not answer."""
    AUTH = 5
    """Neo4j refused the credentials."""
    NO_DATABASE = 6
    """The database named by ``NEO4J_DATABASE`` does not exist."""
    SERVER_LOST = 7
    """Neo4j went away in the middle of the command; what it had published stays as it was."""
    INTERNAL = 70
    """A bug in sociograph (EX_SOFTWARE): the traceback is printed."""
    TERMINATED = 143
    """Stopped by SIGTERM (128 + 15, as a shell reports it), after the command's clean-up ran: the
    servers it started are stopped, its locks released, and what it had published stays as it was."""
