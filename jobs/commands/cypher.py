"""``python -m jobs cypher``: a read-only Cypher shell for one query."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from graph.catalogue import bind_parameters, load_query
from graph.config import Settings
from graph.store import GraphStore
from jobs.common.arguments import Commands, add_command, add_format
from jobs.common.output import parse_param, render


def register(commands: Commands) -> None:
    """Adds ``cypher``."""
    parser = add_command(commands, "cypher", _run, help="run a read-only Cypher query")
    parser.add_argument("query", help="the query text, @NAME of a catalogue query, or @FILE to read it from a file")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a parameter (value parsed as JSON when it can be)")
    add_format(parser)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return run_cypher(settings, args.query, args.param, args.format)


def run_cypher(settings: Settings, query: str, params: Sequence[str], fmt: str) -> int:
    """Runs ``query`` (text, or ``@NAME``/``@FILE`` from the catalogue) in a read transaction and prints it.

    A value is read as JSON when it parses, else kept as text (quote a numeric-looking text id:
    ``--param 'user="123"'``); the ``query`` command reads values by their declared types instead.
    Parameters that the text declares with a default may be left out.

    Returns:
        0; a write attempted by the query fails with the server's error.
    """
    text = load_query(query[1:]) if query.startswith("@") else query
    bound = bind_parameters(query, text, dict(parse_param(p) for p in params))
    with GraphStore.from_settings(settings) as store:
        keys, rows = store.read_columns(text, bound)
    print(render(keys, rows, fmt))
    return 0
