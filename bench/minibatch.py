"""Full-batch against mini-batch training of the GraphSAGE encoder: seconds per epoch and memory.

``python -m bench.minibatch [--users 20000 80000] [--epochs 2]`` builds the random graphs of
:mod:`bench.scale` and trains the friends encoder on each, once full-batch and once on sampled
mini-batches, each run in a fresh process.  ``train_gib`` is the growth of the process's peak
resident memory during training (the graph itself is built before); the ratios compare
mini-batches with full-batch on the same graph in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import torch

from bench.cli import table
from bench.harness import machine, timed
from bench.scale import random_graph
from jobs.friends.model import FriendsConfig
from jobs.gnn.encoder import train_encoder
from jobs.common.runtime import seed_everything


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def measure(num_users: int, epochs: int, mini_batches: bool) -> dict[str, Any]:
    """Trains the encoder on a random graph of ``num_users`` users in this process.

    Returns:
        Nodes, seconds per epoch and the training's growth of peak memory in GiB.
    """
    graph = random_graph(num_users)
    config = dataclasses.replace(FriendsConfig().encoder, epochs=epochs, full_batch_max_nodes=0 if mini_batches else 10**12)
    before = _peak_gib()
    _, seconds = timed(lambda: train_encoder(graph, graph.friendships, config, seed_everything(0), torch.device("cpu")))
    return {
        "users": num_users,
        "nodes": graph.num_nodes,
        "training": "mini-batches" if mini_batches else "full batch",
        "epoch_s": seconds / epochs,
        "train_gib": _peak_gib() - before,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Measures both trainings at every size, each in its own process, and prints a Markdown table.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.minibatch")
    parser.add_argument("--users", nargs="+", type=int, default=[20_000, 80_000])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--one", choices=["full", "mini"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.users[0], args.epochs, args.one == "mini")))
        return 0
    rows = []
    for users in sorted(args.users):
        pair = []
        for mode in ("full", "mini"):
            command = [sys.executable, "-m", "bench.minibatch", "--one", mode, "--users", str(users), "--epochs", str(args.epochs)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            pair.append(json.loads(out.strip().splitlines()[-1]))
        full, mini = pair
        mini["epoch_vs_full"] = mini["epoch_s"] / full["epoch_s"]
        mini["memory_vs_full"] = mini["train_gib"] / max(full["train_gib"], 1e-9)
        rows += pair
    print(f"machine: {machine()}\n")
    print(table(rows, ["users", "nodes", "training", "epoch_s", "train_gib", "epoch_vs_full", "memory_vs_full"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
