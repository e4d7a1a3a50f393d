"""``python -m jobs query`` (one catalogue query as a table) and ``python -m jobs status`` (the run history)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from graph.catalogue import bind_parameters, load_query, parse_arguments
from graph.config import Settings
from graph.store import GraphStore
from jobs.common.arguments import Commands, add_command, add_format
from jobs.common.output import render
from jobs.watch.cli import watch_status

KEY_METRICS: dict[str, tuple[str, ...]] = {
    "communities": ("communities", "modularity", "nmi", "largest_share"),
    "friends": ("suggestions", "user_coverage", "exposure_gini", "online"),
    "recommend": ("recommendations", "users_served", "coverage", "gini", "online"),
    "sentiment": ("posts_classified", "positive", "neutral", "negative"),
    "emotion": ("posts_classified", "posts_anger", "posts_joy", "posts_optimism", "posts_sadness"),
    "reply": ("posts", "posts_with_suggestions", "suggestions"),
    "embed": ("posts_embedded", "users_embedded"),
}
"""The metrics ``status`` shows per job; a job not listed shows its first few scalar metrics."""


def register(commands: Commands) -> None:
    """Adds ``query`` and ``status``."""
    query = add_command(
        commands, "query", _run_query,
        help="run a named query of the catalogue (queries/*.cypher) and print a table",
        description="Runs queries/NAME.cypher read-only, e.g. `python -m jobs query friend_suggestions user=u000001`. "
        "The README lists the catalogue; a query's comment header says what it answers and which parameters it takes.",
    )
    query.add_argument("name", help="the query's name: the file name in queries/ without .cypher")
    query.add_argument(
        "params", nargs="*", metavar="NAME=VALUE",
        help="parameters, each read as the type its query declares on a `// param $NAME: TYPE` line "
        "(an undeclared one as JSON when it parses, else as text)",
    )
    add_format(query)
    status = add_command(commands, "status", _run_status, help="print the run history of the jobs (JobRun nodes), newest first, with key metrics")
    status.add_argument("--job", help="only this job's runs, e.g. friends")
    status.add_argument("--limit", type=int, default=50, help="how many runs (default 50)")
    add_format(status)


def _run_query(settings: Settings, args: argparse.Namespace) -> int:
    return run_query_command(settings, args.name, args.params, args.format)


def _run_status(settings: Settings, args: argparse.Namespace) -> int:
    return run_status_command(settings, args.job, args.limit, args.format)


def run_query_command(settings: Settings, name: str, params: Sequence[str], fmt: str) -> int:
    """Runs catalogue query ``name`` with ``key=value`` parameters in a read transaction and prints it.

    Each value is read as the type the query declares for it (:func:`graph.catalogue.parse_arguments`).

    Returns:
        0; an unknown query or a missing required parameter raises, naming what to give.
    """
    text = load_query(name)
    bound = bind_parameters(name, text, parse_arguments(name, text, params))
    with GraphStore.from_settings(settings) as store:
        keys, rows = store.read_columns(text, bound)
    print(render(keys, rows, fmt))
    return 0


def key_metrics(job: str, metrics: str | None) -> str:
    """Returns the job's key metrics from a ``JobRun.metrics`` JSON text as ``name=value`` pairs, or ``""``."""
    if not metrics:
        return ""
    decoded: dict[str, Any] = json.loads(metrics)
    names = KEY_METRICS.get(job) or [k for k, v in decoded.items() if isinstance(v, (int, float))][:4]
    shown = []
    for name in names:
        value = decoded.get(name)
        if name == "online" and isinstance(value, dict):
            shown.append(f"accepted={value.get('accepted')}/{value.get('shown')}")
        elif isinstance(value, float):
            shown.append(f"{name}={value:.4g}")
        elif value is not None:
            shown.append(f"{name}={value}")
    return " ".join(shown)


def _when(value: Any) -> str | None:
    # Seconds are enough to tell runs apart; Neo4j's nanoseconds and zone only widen the table.
    return None if value is None else value.iso_format()[:19].replace("T", " ")


def run_status_command(settings: Settings, job: str | None, limit: int, fmt: str) -> int:
    """Prints the run history from the ``JobRun`` nodes (the ``job_runs`` query), newest first, and
    as a table, a line on the watch service's lag.

    Returns:
        0, also when no job has run yet (the table is then empty).
    """
    text = load_query("job_runs")
    with GraphStore.from_settings(settings) as store:
        rows = store.read(text, {"job": job, "limit": limit})
        watch = watch_status(store) if fmt == "table" else None
    keys = ["job", "status", "current", "started_at", "finished_at", "seconds", "metrics", "run_id"]
    table = [
        [r["job"], r["status"], r["current"], _when(r["started_at"]), _when(r["finished_at"]), r["seconds"],
         key_metrics(r["job"], r["metrics"]), r["run_id"]]
        for r in rows
    ]
    print(render(keys, table, fmt, max_width=80))
    if watch:
        print(watch)
    return 0
