"""Neo4j side of sociograph: configuration, server, schema, ingest, snapshots, write-back, the query catalogue."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # ``graph.run_query`` is resolved on first use so that importing any graph module
    # does not load pandas and the driver for code that never runs a catalogue query.
    if name == "run_query":
        from graph.catalogue import run_query

        return run_query
    raise AttributeError(f"module 'graph' has no attribute {name!r}")
