"""``python -m jobs neo4j start|stop|status``: the project's own local Neo4j (:mod:`graph.server`)."""

from __future__ import annotations

import argparse
import logging

from graph.config import Settings, external_uri
from graph.server import LocalNeo4j
from jobs.common.arguments import Commands, add_command
from jobs.common.exit_codes import Exit

log = logging.getLogger(__name__)


def register(commands: Commands) -> None:
    """Adds ``neo4j``, which manages the local server and so needs no configured one."""
    parser = add_command(commands, "neo4j", run_neo4j, uses_server=False, help="provision, start, stop or inspect the project's local Neo4j")
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--with-gds", action="store_true", help="also install the OpenGDS plugin")


def run_neo4j(settings: Settings, args: argparse.Namespace) -> int:
    """Starts, stops or inspects the local server and prints where it answers.

    Returns:
        0; USAGE when ``NEO4J_URI`` names a server of the user's; AUTH or UNREACHABLE from ``status``.
    """
    if external_uri():
        log.error("NEO4J_URI is set: sociograph uses that server and manages none itself")
        return Exit.USAGE
    server = LocalNeo4j(settings.server)
    if args.action == "start":
        status = server.start(with_gds=args.with_gds)
        print(f"Neo4j {settings.server.version} is running at {status.bolt_uri} (pid {status.pid})")
        return 0
    if args.action == "stop":
        print("stopped" if server.stop() else "not running")
        return 0
    status = server.status()
    if status.refuses_password:
        log.error(
            "%s answers but refuses the password in %s: restore the password file of this database, "
            "or stop the server and remove %s", status.bolt_uri, settings.server.password_file, settings.server.state_dir / "data",
        )
        return Exit.AUTH
    print(f"{status.bolt_uri} {'answering' if status.answering else 'not answering'}" + (f" (pid {status.pid})" if status.pid else ""))
    return Exit.OK if status.answering else Exit.UNREACHABLE
