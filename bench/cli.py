"""``python -m bench [ingest] [snapshot] [embed] [sentiment]``: run benchmarks and print Markdown tables."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

from bench import embed, ingest, sentiment, snapshot
from bench.harness import SHARED, bench_store, fresh, machine
from bench.ingest import transactional


def table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """Returns ``rows`` as a Markdown table of ``columns`` (floats with 3 significant digits, rates as integers)."""
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
        return f"{value:,}" if isinstance(value, int) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the chosen benchmarks on the benchmark server (its own state dir and port).

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("which", nargs="*", metavar="{ingest,snapshot,embed,sentiment}", help="default: all four")
    parser.add_argument("--datasets", nargs="+", default=["lastfm", "gowalla"], choices=["lastfm", "gowalla"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[10_000, 2_000, 50_000])
    parser.add_argument("--tweets", type=int, default=4_000, help="TweetEval tweets for the embedding backends (default 4,000)")
    args = parser.parse_args(argv)
    which = args.which or ["ingest", "snapshot", "embed", "sentiment"]
    if set(which) - {"ingest", "snapshot", "embed", "sentiment"}:
        parser.error(f"unknown benchmark in {which}; choose from ingest, snapshot, embed, sentiment")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    print(f"machine: {machine()}\ndata: {SHARED}\n")
    with bench_store() as (server, store):
        if "ingest" in which:
            rows = ingest.run(server, store, args.datasets, args.batch_sizes)
            print("## Ingest (relationships/s)\n")
            print(table(rows, ["dataset", "path", "rels", "seconds", "rate", "vs_admin"]))
        if "snapshot" in which:
            fresh(store)
            transactional(store, "gowalla", args.batch_sizes[0])
            print("\n## Snapshot read, gowalla train (User, Post, INTERACTED with weight)\n")
            print(table(snapshot.run(store), ["reader", "edges", "seconds", "rate", "speedup"]))
        if "embed" in which:
            print("\n## Embedding, synthetic network of 2,000 users (texts/s, CPU)\n")
            print(table(embed.run(store), ["path", "texts", "seconds", "rate", "ratio"]))
            print(f"\n## Embedding backends on the CPU, first {args.tweets:,} TweetEval test tweets (texts/s, cosine to fp32)\n")
            print(table(embed.backends(embed.tweets(args.tweets)), ["backend", "texts", "seconds", "rate", "ratio", "mean_cosine", "min_cosine"]))
        if "sentiment" in which:
            print("\n## Sentiment classifier, first 2,000 TweetEval test tweets; the job on a synthetic network of 1,000 users (posts/s, CPU)\n")
            print(table(sentiment.run(store), ["path", "posts", "seconds", "rate", "vs_vader"]))
    return 0
