"""Write-back rate: a job's suggestions written through :class:`graph.writeback.RunWriter`, in relationships/s.

``python -m bench.writeback [--users 200000] [--k 20] [--writers 4] [--batch-size 10000]``
imports ``--users`` users with ``neo4j-admin`` into a throwaway Neo4j (``graph.server.sandbox``),
then runs the friends job's write-back three times over, as the job does: a ``RunWriter`` takes
the lock, writes ``users × k`` ``SUGGESTED_FRIEND`` relationships ``{score, rank, reason,
mutual_friends}`` from a lazy stream of rows in user order, and publishes.  The runs:

- ``before``: the write path before grouped and concurrent writes (one row per ``UNWIND`` entry,
  both endpoints looked up per row, one transaction at a time), batch 10,000, the default then;
- ``grouped``: today's query (each start node looked up once per batch), one writer;
- ``writers``: today's query with ``--writers`` concurrent transactions, the default path.

Each run's write is timed from the first row to the last commit; ``ratio`` is its rate over
``before``'s, in the same run.  Publishing (which deletes the results of runs older than the one
it supersedes) is timed apart.  Every run's relationships are counted and checked, and the
driver's retries of transient errors (deadlocks among concurrent writers) are counted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from bench.cli import table
from bench.harness import machine
from graph.config import Settings
from graph.ingest.kinds import USERS
from graph.ingest.rows import RawRow
from graph.ingest.steps import Step
from graph.server.sandbox import throwaway_store
from graph.store import GraphStore
from graph.synthetic.columns import padded_ids
from graph.writeback import RunWriter

REL = "SUGGESTED_FRIEND"
BEFORE_BATCH = 10_000
INTERESTS = ("hiking", "photography", "jazz", "vinyl", "ai", "blockchain", "films", "cooking")


class PerRowWriter(RunWriter):
    """The write path before grouped and concurrent writes, kept here as the baseline."""

    def write_relationships(self, rel_type: str, src_label: str, dst_label: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Returns the number of relationships created, one transaction at a time, each endpoint looked up per row."""
        query = (
            "UNWIND $rows AS row MATCH (a:User {id: row.src}) MATCH (b:User {id: row.dst}) "
            f"CREATE (a)-[r:{REL}]->(b) SET r = row.props, r.run_id = $run_id RETURN count(r) AS n"
        )
        return self._write_batches(query, rows)


class RetryCounter(logging.Handler):
    """Counts the driver's "will be retried" warnings: transient errors, deadlocks among them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Counts ``record`` when it announces a retry."""
        self.count += "retried" in record.getMessage()


def user_steps(ids: np.ndarray) -> list[Step]:
    """Returns the import step that creates one ``User`` per id."""
    def rows() -> Iterator[RawRow]:
        return (RawRow("bench-writeback", line, {"id": user}) for line, user in enumerate(ids.tolist(), 1))

    return [Step(USERS, rows, "bench-writeback", f"bench-writeback:{len(ids)}")]


def suggestions(ids: np.ndarray, k: int, seed: int) -> Iterator[dict[str, Any]]:
    """Returns ``len(ids) × k`` suggestion rows in user order, shaped as the friends job writes them.

    Each user gets ``k`` other users drawn at random, ranked 1..k with falling scores and a reason
    like the job's ("3 mutual friends · shared interests: jazz").
    """
    rng = np.random.default_rng(seed)
    users = len(ids)
    for start in range(0, users, 10_000):
        src = np.arange(start, min(start + 10_000, users))
        dst = (src[:, None] + rng.integers(1, users, (src.size, k))) % users
        mutual = rng.integers(0, 12, (src.size, k))
        interest = rng.integers(0, len(INTERESTS), (src.size, k))
        for i, u in enumerate(src.tolist()):
            for r in range(k):
                m = int(mutual[i, r])
                reason = f"{m} mutual friends · shared interests: {INTERESTS[interest[i, r]]}" if m else "close to you in the network"
                yield {"src": ids[u], "dst": ids[dst[i, r]],
                       "props": {"score": round(1.0 - r / (2 * k), 5), "rank": r + 1, "reason": reason, "mutual_friends": m}}


def one_run(store: GraphStore, writer: type[RunWriter], rows: Iterable[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """Writes and publishes one run of the friends job.

    Returns:
        ``{rels, seconds, rate, publish_seconds}``.
    """
    with writer(store, "friends", {"bench": "writeback"}, relationships=[REL], **options) as run:
        start = time.perf_counter()
        written = run.write_relationships(REL, "User", "User", rows)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        run.publish({"suggestions": written})
        publish = time.perf_counter() - start
    stored = store.read(f"MATCH ()-[r:{REL} {{run_id: $id}}]->() RETURN count(r) AS n", {"id": run.run_id})[0]["n"]
    if stored != written:
        raise RuntimeError(f"run {run.run_id} reported {written} relationships but stored {stored}")
    return {"rels": written, "seconds": seconds, "rate": written / seconds, "publish_seconds": publish}


def run(users: int, k: int, writers: int, batch_size: int, seed: int = 0) -> list[dict[str, Any]]:
    """Imports ``users`` users into a throwaway Neo4j and times the three write paths on it.

    Returns:
        One row per path: ``{path, writers, batch, rels, seconds, rate, ratio, publish_seconds, retries}``.
    """
    ids = padded_ids("u", users, 7)
    settings = dataclasses.replace(Settings.from_env(), batch_size=batch_size, writeback_writers=writers)
    paths = [
        ("before", PerRowWriter, {"writers": 1, "batch_size": BEFORE_BATCH}),
        ("grouped", RunWriter, {"writers": 1}),
        ("writers", RunWriter, {}),
    ]
    retries = RetryCounter()
    logging.getLogger("neo4j").addHandler(retries)
    out = []
    with throwaway_store(settings, preload=user_steps(ids)) as store:
        for name, writer, options in paths:
            counted = retries.count
            row = one_run(store, writer, suggestions(ids, k, seed), **options)
            out.append({"path": name, "writers": options.get("writers", writers), "batch": options.get("batch_size", batch_size),
                        **row, "retries": retries.count - counted})
            print(f"{name}: {row['rate']:,.0f} relationships/s", flush=True)
    for row in out:
        row["ratio"] = row["rate"] / out[0]["rate"]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the benchmark and prints a Markdown table and one JSON line.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.writeback")
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--k", type=int, default=20, help="suggestions per user")
    parser.add_argument("--writers", type=int, default=Settings.writeback_writers, help="concurrent write transactions")
    parser.add_argument("--batch-size", type=int, default=Settings.batch_size, help="rows per transaction")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    load = os.getloadavg()
    rows = run(args.users, args.k, args.writers, args.batch_size, args.seed)
    print(f"\nmachine: {machine()}; load average at start {load[0]:.2f}, at end {os.getloadavg()[0]:.2f}\n"
          f"## Write-back, {args.users:,} users x {args.k} SUGGESTED_FRIEND (relationships/s)\n")
    print(table(rows, ["path", "writers", "batch", "rels", "seconds", "rate", "ratio", "publish_seconds", "retries"]))
    print(json.dumps({"bench": "writeback", **vars(args), "load_average": [load[0], os.getloadavg()[0]], "runs": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
