"""How the GNN jobs' compute scales with the number of users, measured on random social graphs.

``python -m bench.scale [--users 5000 20000] [--epochs 3] [--steps …]`` builds, for each size, a random
graph in memory shaped like the demo network (10 friends, 2 posts and 20 interactions per user,
384-d text vectors on every node; no Neo4j involved: this measures the jobs' models, not the
reads and writes) and times, each in a fresh process so that its peak memory is its own:
the friends encoder per epoch, the communities job's embedding and clustering, friend suggestions for every
user, a LightGCN epoch and top-20 recommendations for every user.  ``per_user_vs_smallest`` is
the seconds per user relative to the smallest size in the same run: 1 means linear scaling.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from bench.cli import table
from bench.harness import machine, timed
from graph.snapshot import IdMap
from jobs.communities.model import CommunityConfig, community_embeddings, detect
from jobs.friends.model import FriendsConfig, fit_friend_scorer, suggest_friends
from jobs.gnn.encoder import EncoderConfig, train_encoder
from jobs.common.ranking import csr_from_pairs
from jobs.recommend.lightgcn import Interactions, TrainConfig, recommend, train
from jobs.common.runtime import seed_everything
from jobs.gnn.social import SocialGraph, undirected_pairs

FRIENDS, POSTS, INTERACTIONS, TEXT_DIM = 10, 2, 20, 384


def random_graph(num_users: int, seed: int = 0) -> SocialGraph:
    """Returns a random :class:`SocialGraph`: friendships and interactions with a long tail of popular targets."""
    rng = np.random.default_rng(seed)
    num_posts = POSTS * num_users
    # Zipf-like popularity: a few people and posts attract many ties, as on real platforms.
    people = rng.zipf(1.8, num_users * FRIENDS // 2) % num_users
    friends = undirected_pairs(rng.integers(0, num_users, people.size), rng.permutation(num_users)[people], num_users)
    liked = rng.permutation(num_posts)[rng.zipf(1.6, num_users * INTERACTIONS) % num_posts]
    code = np.unique(np.repeat(np.arange(num_users), INTERACTIONS) * num_posts + liked)
    x = torch.from_numpy(rng.standard_normal((num_users + num_posts, TEXT_DIM), dtype=np.float32))
    return SocialGraph(
        IdMap([f"u{i}" for i in range(num_users)]), IdMap([f"p{i}" for i in range(num_posts)]), x,
        torch.ones(num_users + num_posts, dtype=torch.bool), friends,
        torch.from_numpy(np.stack([code // num_posts, code % num_posts])), np.zeros(num_users, dtype=bool),
        np.full(num_users, -1, dtype=np.int64),
    )


STEPS = ("encoder_epoch_s", "communities_s", "friends_suggest_s", "lightgcn_epoch_s", "recommend_top20_s")


def measure(num_users: int, epochs: int, steps: Sequence[str] = ()) -> dict[str, Any]:
    """Runs the ``steps`` (default: all of :data:`STEPS`) on a graph of ``num_users`` users in this process.

    Returns:
        Seconds per step and the peak resident memory in GiB.
    """
    steps = steps or STEPS
    graph = random_graph(num_users)
    cpu = torch.device("cpu")
    encoder = EncoderConfig(epochs=epochs)
    out: dict[str, Any] = {"users": num_users, "friendships": int(graph.friendships.shape[1]), "interactions": int(graph.interactions.shape[1])}
    if "encoder_epoch_s" in steps:
        out["encoder_epoch_s"] = timed(lambda: train_encoder(graph, graph.friendships, encoder, seed_everything(0), cpu))[1] / epochs
    if "communities_s" in steps:
        communities = CommunityConfig()
        out["communities_s"] = timed(
            lambda: detect(graph, community_embeddings(graph, communities, encoder, seed_everything(0), cpu), communities, seed=0)
        )[1]
    if "friends_suggest_s" in steps:
        config = FriendsConfig(encoder=encoder)
        scorer, out["friends_fit_s"] = timed(lambda: fit_friend_scorer(graph, graph.friendships, config, seed_everything(0), cpu))
        out["friends_suggest_s"] = timed(lambda: suggest_friends(graph, graph.friendships, scorer, config))[1]
    users, posts = graph.interactions.numpy()
    if "lightgcn_epoch_s" in steps or "recommend_top20_s" in steps:
        data = Interactions(users, posts, graph.num_users, len(graph.posts), graph.x[: graph.num_users], graph.x[graph.num_users:])
        trained, out["lightgcn_epoch_s"] = timed(lambda: train(data, TrainConfig(epochs=1), cpu))
        known = csr_from_pairs(users, posts, graph.num_users)
        out["recommend_top20_s"] = timed(lambda: recommend(*trained.embeddings(), *known, 20))[1]
    out["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Measures every size in its own process and prints a Markdown table.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--users", nargs="+", type=int, default=[5_000, 20_000])
    parser.add_argument("--epochs", type=int, default=3, help="encoder epochs to average over")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS), help="the steps to time (default: all)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.users[0], args.epochs, args.steps)))
        return 0
    logging.basicConfig(level=logging.WARNING)
    rows = []
    for users in sorted(args.users):
        command = [sys.executable, "-m", "bench.scale", "--one", "--users", str(users), "--epochs", str(args.epochs), "--steps", *args.steps]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        # A large size can run for an hour: what is measured so far is not lost with it.
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    smallest = rows[0]
    for row in rows:
        for step in args.steps:
            per_user = row[step] / row["users"]
            row[f"{step}_vs_smallest"] = per_user / (smallest[step] / smallest["users"])
    print(f"machine: {machine()}\n")
    print(table(rows, ["users", "friendships", "interactions", *args.steps, "peak_gib"]))
    print("\nseconds per user relative to the smallest size (1 = linear):\n")
    print(table(rows, ["users", *(f"{step}_vs_smallest" for step in args.steps)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
