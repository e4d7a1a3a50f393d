"""The friends encoder's held-out recall against training time, full-batch and on mini-batches.

``python -m bench.encoder_curve [--users 20000] [--epochs 100] [--mini-epochs 6]`` builds the
synthetic network of ``python -m jobs generate`` in memory (no Neo4j: follows become
friendships, likes, replies and authorship become interactions, and the text vectors come from
:class:`bench.pipeline.HashingEncoder`), hides 10% of the friendships, and trains the encoder on
the rest, once full-batch and once on mini-batches, each in a fresh process.  At every held-out
check (:class:`jobs.gnn.encoder.LinkValidation`: recall@20 of the dot product alone for up to
1,000 users) it records the optimisation steps, the seconds since training began and the recall;
stopping is switched off (``patience`` is the run's length), so the curves run to the end.  The
last line is one JSON object: ``{"runs": [{"training": …, "checks": [[steps, seconds, recall], …]}]}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from bench.harness import machine
from bench.pipeline import HashingEncoder
from graph.arrays import unique_pairs
from graph.snapshot import IdMap
from graph.synthetic import generate
from jobs.common.runtime import seed_everything
from jobs.friends.evaluate import split_friendships
from jobs.gnn.encoder import EncoderConfig, LinkValidation, train_encoder
from jobs.gnn.social import SocialGraph, undirected_pairs


def synthetic_graph(num_users: int, seed: int = 0) -> SocialGraph:
    """Returns the :class:`SocialGraph` of ``generate(num_users, seed)``, with hashed text vectors on every node."""
    network = generate(num_users, seed)
    users, posts = IdMap(list(network.users.id)), IdMap(list(network.posts.id))
    follows = network.follows
    friendships = undirected_pairs(users.to_index(list(follows.src)), users.to_index(list(follows.dst)), num_users)
    engaged = [network.interacted, network.posted]
    who = np.concatenate([users.to_index(list(frame.src)) for frame in engaged])
    what = np.concatenate([posts.to_index(list(frame.dst)) for frame in engaged])
    interactions = torch.from_numpy(np.stack(unique_pairs(who, what, len(posts))))
    encoder = HashingEncoder()
    x = torch.from_numpy(np.concatenate([encoder.encode(list(network.users.bio)), encoder.encode(list(network.posts.text))]))
    return SocialGraph(
        users, posts, x, torch.ones(len(x), dtype=torch.bool), friendships, interactions, np.zeros(num_users, dtype=bool), np.full(num_users, -1, dtype=np.int64),
    )


@dataclasses.dataclass
class TimedValidation(LinkValidation):
    """A :class:`LinkValidation` that also records, for each check, the seconds since ``started``."""

    started: float = 0.0
    seconds: list[float] = dataclasses.field(default_factory=list)

    def recall(self, z: torch.Tensor, steps: int, budget: int = 2**24) -> float:
        """Returns :meth:`LinkValidation.recall` and records when it was measured."""
        recall = super().recall(z, steps, budget)
        self.seconds.append(time.perf_counter() - self.started)
        return recall


def measure(num_users: int, epochs: int, mini_batches: bool) -> dict[str, Any]:
    """Trains the encoder for ``epochs`` epochs on the synthetic network of ``num_users`` users in this process.

    Returns:
        The graph's size and the ``[steps, seconds, recall@20]`` of every held-out check.
    """
    graph = synthetic_graph(num_users)
    visible, hidden = split_friendships(graph.friendships, 0.1, 0)
    validation = TimedValidation(hidden, visible, graph.num_users, k=20, users=1000, seed=0)
    config = dataclasses.replace(
        EncoderConfig(epochs=epochs), patience=epochs * 10**6, full_batch_max_nodes=0 if mini_batches else 10**12
    )
    validation.started = time.perf_counter()
    train_encoder(graph, visible, config, seed_everything(0), torch.device("cpu"), validation=validation)
    checks = [[steps, round(seconds, 1), round(recall, 4)] for (steps, recall), seconds in zip(validation.history, validation.seconds)]
    return {
        "users": num_users, "nodes": graph.num_nodes, "friendships": int(graph.friendships.shape[1]),
        "training": "mini-batches" if mini_batches else "full batch", "epochs": epochs, "checks": checks,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Runs both trainings, each in its own process, and prints their checks.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.encoder_curve")
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=100, help="full-batch epochs")
    parser.add_argument("--mini-epochs", type=int, default=6, help="epochs on mini-batches")
    parser.add_argument("--one", choices=["full", "mini"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.users, args.epochs, args.one == "mini")))
        return 0
    runs = []
    for mode, epochs in (("full", args.epochs), ("mini", args.mini_epochs)):
        command = [sys.executable, "-m", "bench.encoder_curve", "--one", mode, "--users", str(args.users), "--epochs", str(epochs)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        print(f"{runs[-1]['training']}: " + ", ".join(f"{s} steps {t} s {r}" for s, t, r in runs[-1]["checks"]), flush=True)
    print(f"machine: {machine()}")
    print(json.dumps({"runs": runs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
