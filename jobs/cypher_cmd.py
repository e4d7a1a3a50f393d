"""``python -m jobs cypher``: a read-only Cypher shell for one query."""

from __future__ import annotations

from collections.abc import Sequence

from graph.catalogue import load_query
from graph.config import Settings
from graph.store import GraphStore
from jobs.output import parse_param, render


def run_cypher(settings: Settings, query: str, params: Sequence[str], fmt: str) -> int:
    """Runs ``query`` (text, or ``@NAME``/``@FILE`` from the catalogue) in a read transaction and prints it.

    Returns:
        0; a write attempted by the query fails with the server's error.
    """
    text = load_query(query[1:]) if query.startswith("@") else query
    bound = dict(parse_param(p) for p in params)
    with GraphStore.from_settings(settings) as store:
        keys, rows = store.read_columns(text, bound)
    print(render(keys, rows, fmt))
    return 0
