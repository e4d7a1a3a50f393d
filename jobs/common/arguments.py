"""How a command joins the command line: the registration contract and the options many commands share.

Every folder under ``jobs/`` that offers a command has a ``cli.py`` with ``register(commands)``,
and those with an offline evaluation also ``register_evaluation(targets)``.  Each adds its
sub-parser with :func:`add_command`, which records the function that runs it, so that
``jobs.cli.main`` dispatches without knowing any command.

A ``cli.py`` imports its job's modules inside the function that runs the command: they import
torch and the text models, which ``--help`` and argument errors must not wait for.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias

if TYPE_CHECKING:
    from graph.config import Settings

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The sub-parsers of ``python -m jobs`` (or of ``evaluate``) that a ``cli.py`` adds to."""


class Run(Protocol):
    """Runs a parsed command and returns its exit status (:class:`jobs.common.exit_codes.Exit`)."""

    def __call__(self, settings: Settings, args: argparse.Namespace) -> int: ...


UsesServer: TypeAlias = "bool | Callable[[argparse.Namespace], bool]"
"""Whether a command talks to the configured Neo4j, which ``main`` then checks before running it."""


def add_command(commands: Commands, name: str, run: Run, uses_server: UsesServer = True, **parser_options: object) -> argparse.ArgumentParser:
    """Adds sub-command ``name`` that ``run`` carries out.

    Args:
        uses_server: False for a command that needs no server or starts one of its own; a
            function of the parsed arguments when that depends on them.
        parser_options: passed to ``add_parser`` (``help``, ``description``, ...).

    Returns:
        The command's parser, to add its options to.
    """
    parser = commands.add_parser(name, **parser_options)
    parser.set_defaults(run=run, uses_server=uses_server)
    return parser


def uses_server(args: argparse.Namespace) -> bool:
    """Returns whether the parsed command talks to the configured Neo4j (see :func:`add_command`)."""
    uses = args.uses_server
    return uses(args) if callable(uses) else bool(uses)


def add_wait(parser: argparse.ArgumentParser) -> None:
    """Adds ``--wait``: wait for another run of the job instead of exiting with status 3."""
    parser.add_argument(
        "--wait", action="store_true",
        help="when another run of the job is in progress, wait for it to finish (default: exit at once with status 3)",
    )


def add_device(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """Adds ``--device auto|cpu|cuda`` (default: ``default``, else the configured device)."""
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default=default)


def add_gnn_training(parser: argparse.ArgumentParser) -> None:
    """Adds the options of a job that trains the GraphSAGE encoder: ``--seed``, ``--wait``,
    ``--device``, ``--epochs`` and ``--mini-batches``."""
    parser.add_argument("--seed", type=int, default=0)
    add_wait(parser)
    add_device(parser)
    parser.add_argument("--epochs", type=int, help="training epochs (default: the job's own)")
    parser.add_argument(
        "--mini-batches", action="store_true",
        help="train the GraphSAGE encoder on sampled mini-batches even when the graph fits full-batch "
        "(they are used anyway beyond a million nodes)",
    )


def add_format(parser: argparse.ArgumentParser) -> None:
    """Adds ``--format table|csv|json`` for a command that prints rows."""
    parser.add_argument("--format", choices=["table", "csv", "json"], default="table")


def key_file(text: str) -> tuple[str, Path]:
    """Parses ``KIND=FILE``.

    Returns:
        ``(kind, path)``.

    Raises:
        argparse.ArgumentTypeError: when either side is missing.
    """
    kind, sep, path = text.partition("=")
    if not sep or not kind or not path:
        raise argparse.ArgumentTypeError(f"expected KIND=FILE, got {text!r}")
    return kind, Path(path)
