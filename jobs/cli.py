"""The ``python -m jobs`` (or ``sociograph``) command line.

Each command lives with what it runs: a job's command in its folder's ``cli.py``, the others in
:mod:`jobs.commands`.  This module only assembles them (:data:`COMMANDS`, in the order ``--help``
lists them), checks the configured server, runs the chosen command and turns a failure into one
line and an exit status (:mod:`jobs.common.failures`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from neo4j import READ_ACCESS, GraphDatabase

from graph.config import ConnectionSettings, Settings
from graph.lock import LockBusy
from jobs.common.arguments import uses_server
from jobs.common.exit_codes import Exit
from jobs.common.failures import failure_message, failure_status

COMMANDS: tuple[str, ...] = (
    "jobs.commands.neo4j",
    "jobs.commands.cypher",
    "jobs.commands.query",
    "jobs.commands.ingest",
    "jobs.embed.cli",
    "jobs.sentiment.cli",
    "jobs.emotion.cli",
    "jobs.communities.cli",
    "jobs.friends.cli",
    "jobs.recommend.cli",
    "jobs.reply.cli",
    "jobs.schedule.cli",
    "jobs.watch.cli",
    "jobs.commands.evaluate",
    "jobs.commands.generate",
    "jobs.commands.demo",
)
"""The modules whose ``register(commands)`` adds the sub-commands."""

# Commands that run Cypher the user wrote: a statement the server rejects is bad input, not a bug.
_USER_CYPHER = ("cypher", "query")

log = logging.getLogger("jobs")


def build_parser(prog: str = "sociograph") -> argparse.ArgumentParser:
    """Returns the argument parser of every sub-command, each carrying its ``run`` function."""
    parser = argparse.ArgumentParser(prog=prog, description="sociograph analytics jobs")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        importlib.import_module(module).register(commands)
    return parser


def stop_cleanly_on_sigterm() -> None:
    """Makes SIGTERM leave through the command's ``finally`` blocks and context managers.

    Python's default SIGTERM action ends the process at once: a throwaway evaluation server
    would keep running with its data directory, and a lock would wait for its staleness check.
    Raising :class:`SystemExit` instead unwinds the command like Ctrl-C does, with exit status
    :attr:`Exit.TERMINATED`.  Only the main thread may install a handler, so a ``main`` called
    from another thread keeps the default.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: object) -> None:
    log.warning("stopping on SIGTERM")
    raise SystemExit(Exit.TERMINATED)


def main(argv: Sequence[str] | None = None, prog: str = "sociograph") -> int:
    """Runs one sub-command.

    Args:
        prog: the name the usage lines show (``python -m jobs`` when run as a module).

    Returns:
        The process exit status, one of :class:`jobs.common.exit_codes.Exit`: 0 on success, 1 on a
        failed job, 2 on bad usage or input, 3-7 when a lock is busy or Neo4j cannot be used (the
        README's "Exit statuses" table), 70 on a bug.
    """
    args = build_parser(prog).parse_args(argv)
    stop_cleanly_on_sigterm()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    settings: Settings | None = None
    connection: ConnectionSettings | None = None
    reached = False
    try:
        settings = Settings.from_env()
        if uses_server(args):
            connection = settings.connection()
            check_server(connection)
        # A command that starts a server of its own (the demo, the evaluations) has reached it
        # once that start returns: start raises ServerError when Bolt does not answer.
        reached = True
        return args.run(settings, args)
    except LockBusy as exc:
        log.error("%s", exc)
        return Exit.BUSY
    except Exception as exc:  # every failure ends here, as one line and an exit status
        status = failure_status(exc, reached, user_cypher=args.command in _USER_CYPHER)
        if status is Exit.TERMINATED:
            log.warning("stopped on SIGTERM; the clean-up then failed: %r", exc)
        elif status is Exit.INTERNAL:
            log.error("internal error (a bug in sociograph; please report it with this traceback): %r", exc, exc_info=True)
        else:
            log.error("%s", failure_message(status, exc, connection, settings), exc_info=args.verbose)
        return status


def check_server(connection: ConnectionSettings) -> None:
    """Runs ``RETURN 1`` on the connection's database, before the command itself starts.

    This is how a server that goes away mid-command (SERVER_LOST) is told apart from one that
    was never reached (UNREACHABLE): a lost connection after this check answered is the first.

    Raises:
        The driver's exceptions: ``ServiceUnavailable``, ``AuthError``, ``ClientError``
        (``Neo.ClientError.Database.DatabaseNotFound``), ...
    """
    with GraphDatabase.driver(connection.uri, auth=(connection.user, connection.password)) as driver:
        with driver.session(database=connection.database, default_access_mode=READ_ACCESS) as session:
            session.run("RETURN 1").consume()
