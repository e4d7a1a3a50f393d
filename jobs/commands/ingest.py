"""``python -m jobs ingest``: load datasets, generic lists or canonical files, then summarise."""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from graph.config import Settings
from graph.ingest.bulk import BulkImportError, bulk_load
from graph.ingest.loader import LOCK_NAME, Loader, LoadSummary, RejectLog
from graph.ingest.readers import InputError
from graph.ingest.steps import Step, canonical_dir_steps, canonical_steps, edges_steps, interactions_steps, run_steps
from graph.lock import JobLock
from graph.schema import ensure_schema
from graph.server import LocalNeo4j
from graph.store import GraphStore
from jobs.common.arguments import Commands, add_command, add_wait, key_file

log = logging.getLogger(__name__)


def register(commands: Commands) -> None:
    """Adds ``ingest``."""
    parser = add_command(commands, "ingest", run_ingest, help="load data into the graph")
    parser.add_argument("--dataset", choices=["lastfm", "gowalla", "email-eu-core", "epinions", "rumoureval"])
    parser.add_argument("--path", type=Path, help="folder of the public dataset")
    parser.add_argument("--interactions", type=Path, help="a 'user item [weight]' list (tab or space separated)")
    parser.add_argument("--interaction-kind", default="interaction", help="INTERACTED.kind for --interactions")
    parser.add_argument("--edges", type=Path, help="a 'src dst' list loaded as FOLLOWS")
    parser.add_argument("--nodes", type=key_file, action="append", default=[], metavar="KIND=FILE")
    parser.add_argument("--relationships", type=key_file, action="append", default=[], metavar="KIND=FILE")
    parser.add_argument("--dir", type=Path, help="a folder of canonical files named <kind>.<csv|tsv|jsonl|parquet>")
    parser.add_argument("--encoding", default="utf-8", help="text encoding of the input files (default utf-8)")
    header = parser.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_true", default=None, help="generic lists have a header line")
    header.add_argument("--no-header", dest="header", action="store_false", help="generic lists have no header line")
    parser.add_argument("--max-rejects", type=int, default=0, help="exit non-zero when more rows are rejected (default 0)")
    parser.add_argument("--rejects", type=Path, default=Path("sociograph.rejects.tsv"), help="where rejected rows are written")
    parser.add_argument("--batch-size", type=int, help="rows per transaction")
    parser.add_argument(
        "--bulk", action="store_true",
        help="first load into an empty local database through neo4j-admin import (stops the server meanwhile)",
    )
    add_wait(parser)


def plan(args: argparse.Namespace) -> list[Step]:
    """Returns the load steps the arguments ask for, in order.

    Raises:
        InputError: when no input was named, or ``--dataset`` lacks ``--path``.
    """
    steps: list[Step] = []
    if args.dataset:
        if args.path is None:
            raise InputError("--dataset needs --path DIR (the dataset's folder)")
        from graph.ingest.datasets import dataset_steps

        steps += dataset_steps(args.dataset, args.path)
    if args.dir:
        steps += canonical_dir_steps(args.dir, encoding=args.encoding)
    if args.nodes or args.relationships:
        steps += canonical_steps(dict(args.nodes), dict(args.relationships), encoding=args.encoding)
    if args.interactions:
        steps += interactions_steps(args.interactions, kind=args.interaction_kind, encoding=args.encoding, header=args.header)
    if args.edges:
        steps += edges_steps(args.edges, encoding=args.encoding, header=args.header)
    if not steps:
        raise InputError("nothing to ingest: give --dataset, --dir, --nodes/--relationships, --interactions or --edges")
    return steps


def load(
    store: GraphStore, steps: list[Step], rejects: RejectLog, batch_size: int | None = None, *, wait: bool = False
) -> LoadSummary:
    """Creates the schema, then runs ``steps`` with a progress bar, holding the ``ingest`` lock.

    Two loads of one input at once would each resume from, and advance, the same checkpoints;
    the lock makes a second load wait (``wait``) or fail at once.

    Returns:
        The load summary.

    Raises:
        LockBusy: when another ingest holds the lock and ``wait`` is false.
        LockLost: when the lock was lost during the load (it stops before the next batch).
    """
    # The schema comes first: its uniqueness constraint on JobLock is what keeps two takers
    # from merging two lock nodes.
    ensure_schema(store)
    with JobLock(store, LOCK_NAME).hold(wait=wait) as lock:
        with tqdm(unit=" rows", desc="ingest", unit_scale=True, mininterval=0.5) as bar:
            loader = Loader(store, rejects, batch_size=batch_size, on_progress=bar.update, lock=lock)
            return run_steps(loader, steps)


def format_summary(summary: LoadSummary, seconds: float) -> str:
    """Returns a human-readable table of loaded, duplicate and rejected rows per input."""
    lines = [f"{'kind':12s} {'loaded':>10s} {'dup':>7s} {'rejected':>9s}  source"]
    for k in summary.kinds:
        resumed = f" (resumed after {k.resumed_from:,d})" if k.resumed_from else ""
        lines.append(f"{k.kind:12s} {k.loaded:>10,d} {k.duplicates:>7,d} {k.rejected:>9,d}  {k.source}{resumed}")
    lines.append(f"total: {summary.loaded:,d} rows loaded, {summary.rejected:,d} rejected in {seconds:.1f} s")
    return "\n".join(lines)


def bulk(
    settings: Settings, store: GraphStore, steps: list[Step], rejects: RejectLog, *, wait: bool = False
) -> LoadSummary:
    """Imports ``steps`` into the empty local database with neo4j-admin, then creates the schema,
    holding the ``ingest`` lock so that no transactional load or other import starts meanwhile.

    The import replaces the database, lock node included, so the lock is free once the server is back.

    Returns:
        The load summary.

    Raises:
        BulkImportError: when ``NEO4J_URI`` names another server or the database is not empty.
        LockBusy: when another ingest holds the lock and ``wait`` is false.
    """
    if store.connection.external:
        raise BulkImportError("--bulk works on the project-managed server only (NEO4J_URI is set)")
    server = LocalNeo4j(settings.server)
    ensure_schema(store)

    def is_empty() -> bool:
        # Lock nodes, ours among them, are the only nodes an empty database may hold; the import
        # replaces them with the rest.
        return store.read("MATCH (n) WHERE NOT n:JobLock RETURN count(n) AS n")[0]["n"] == 0

    with JobLock(store, LOCK_NAME).hold(wait=wait):
        with tempfile.TemporaryDirectory(prefix="sociograph-bulk-", dir=settings.server.state_dir) as work:
            summary = bulk_load(server, is_empty, steps, rejects, Path(work))
    ensure_schema(store)
    return summary


def run_ingest(settings: Settings, args: argparse.Namespace) -> int:
    """Runs the ingest command.

    Returns:
        0 when at most ``--max-rejects`` rows were rejected, 1 otherwise (good rows are loaded either way).
    """
    steps = plan(args)
    rejects = RejectLog(args.rejects)
    start = time.perf_counter()
    try:
        with GraphStore.from_settings(settings) as store:
            if args.bulk:
                summary = bulk(settings, store, steps, rejects, wait=args.wait)
            else:
                summary = load(store, steps, rejects, args.batch_size, wait=args.wait)
    finally:
        rejects.close()
    print(format_summary(summary, time.perf_counter() - start))
    if summary.rejected:
        print(f"rejected rows are listed in {args.rejects}")
    if summary.rejected > args.max_rejects:
        log.error("%d rows rejected, more than --max-rejects %d allows", summary.rejected, args.max_rejects)
        return 1
    return 0
