"""How a failed command is told to the person: one exit status per cause they can act on, and one line.

:func:`failure_status` classifies the exception that ended a command; :func:`failure_message`
says what went wrong, on which server, and what to do.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

from neo4j.exceptions import AuthError, ClientError, ConfigurationError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from graph.config import ConnectionSettings, LocalServerMissing, Settings
from graph.ingest.bulk import BulkImportError
from graph.ingest.loader import CheckpointConflict
from graph.lock import LockLost
from graph.server import ServerError
from graph.writeback import RunAborted
from jobs.common.exit_codes import Exit


def failure_status(exc: BaseException, reached: bool, user_cypher: bool = False) -> Exit:
    """Classifies the exception that ended a command.

    Args:
        reached: whether the command had talked to its server (:func:`check_server` answered,
            or the command's own server started) before ``exc``.
        user_cypher: the command runs Cypher that the user wrote (``cypher``, ``query``), so a
            statement the server rejects is bad input, not a bug.

    Returns:
        TERMINATED for a failure of the clean-up that SIGTERM started (the driver, interrupted
        mid-read, can fail as it closes); UNREACHABLE, AUTH, NO_DATABASE or SERVER_LOST for a
        Neo4j that cannot be used; USAGE for bad arguments, configuration or input; FAILED for a
        run that lost its lock or may no longer publish; INTERNAL for anything else (a bug).
    """
    if _while_terminating(exc):
        return Exit.TERMINATED
    cause = exc
    # A failure re-raised as another one (``raise X from driver_error``) is the driver's.
    while cause.__cause__ is not None and not isinstance(cause, (Neo4jError, DriverError)):
        cause = cause.__cause__
    code = getattr(cause, "code", None)
    if isinstance(cause, (ServiceUnavailable, SessionExpired)):
        return Exit.SERVER_LOST if reached else Exit.UNREACHABLE
    if isinstance(cause, LocalServerMissing):
        return Exit.UNREACHABLE
    if isinstance(cause, AuthError) or code == "Neo.ClientError.Security.AuthenticationRateLimit":
        return Exit.AUTH
    if code == "Neo.ClientError.Database.DatabaseNotFound":
        return Exit.NO_DATABASE
    if isinstance(exc, (LockLost, RunAborted, CheckpointConflict)):
        return Exit.FAILED
    if user_cypher and isinstance(cause, ClientError):
        return Exit.USAGE
    if isinstance(exc, (ServerError, BulkImportError, ConfigurationError, FileNotFoundError)) or _is_bad_input(exc):
        return Exit.USAGE
    return Exit.INTERNAL


def _while_terminating(exc: BaseException) -> bool:
    """Returns whether ``exc`` was raised while handling the SystemExit that SIGTERM raises."""
    context = exc.__context__
    while context is not None:
        if isinstance(context, SystemExit) and context.code == Exit.TERMINATED:
            return True
        context = context.__context__
    return False


_OWN_PACKAGES = ("graph", "jobs", "text")
_OWN_CODE = tuple(str(Path(__file__).resolve().parents[2] / package) + os.sep for package in _OWN_PACKAGES)


def _is_bad_input(exc: BaseException) -> bool:
    # sociograph reports bad arguments, configuration and input with ValueErrors: the subclasses
    # it defines (SchemaError, InputError, ScheduleConfigError, ConfigError, ...), and plain ones
    # from `raise` statements of its own code (`--device cuda` without a GPU, a query's missing
    # parameter, an empty graph).  A ValueError that Python or a library raises (int('x'), a
    # tensor shape mismatch), even when called from our code, is a bug.
    if not isinstance(exc, ValueError):
        return False
    if type(exc).__module__.partition(".")[0] in _OWN_PACKAGES:
        return True
    if type(exc) is not ValueError or exc.__traceback__ is None:
        return False
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return where.filename.startswith(_OWN_CODE) and (where.line or "").startswith("raise ")


def failure_message(status: Exit, exc: BaseException, connection: ConnectionSettings | None, settings: Settings | None) -> str:
    """Returns the one line to tell the person for a failure classified as ``status``: what went
    wrong, on which server, and what to do.  It never holds the password."""
    where = f"Neo4j at {connection.uri}" if connection else "Neo4j"
    external = connection is not None and connection.external
    if status is Exit.UNREACHABLE and not isinstance(exc, LocalServerMissing):
        fix = "check NEO4J_URI and that the server runs" if external else "start it with `python -m jobs neo4j start`"
        text = f"{where} is not answering: {fix} (--verbose shows the driver's error)"
    elif status is Exit.AUTH:
        fix = "check NEO4J_USER and NEO4J_PASSWORD" if external or settings is None else (
            f"the password in {settings.server.password_file} is not this server's; restore that file, "
            f"or stop the server and remove {settings.server.state_dir / 'data'}"
        )
        text = f"{where} refused the credentials ({getattr(exc, 'message', None) or 'authentication failed'}): {fix}"
    elif status is Exit.NO_DATABASE:
        name = connection.database if connection else None
        text = f"{where} has no database {name!r}: set NEO4J_DATABASE to one that SHOW DATABASES lists, or unset it for the default"
    elif status is Exit.SERVER_LOST:
        text = (
            f"{where} stopped answering in the middle of the command; what was published before stays as it was. "
            "Start the server again and rerun the command"
        )
    elif isinstance(exc, Neo4jError):
        text = f"Neo4j rejected the query ({exc.code}): {exc.message}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())
