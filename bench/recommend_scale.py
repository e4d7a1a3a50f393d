"""The recommender at a million users: top-20 for every user of a synthetic graph, with time, peak memory and quality.

``python -m bench.recommend_scale [--users 1000000 --posts 1000000 --interactions 10000000]
[--rank 64] [--neighbours 64] [--candidates 200] [--popular 32] [--sample 10000]`` generates a
seeded interaction graph in memory (no Neo4j: this measures the model), holds out one interaction
of each of ``--sample`` users, fits :class:`jobs.recommend.candidates.CandidateFilter` on the rest
and ranks the top 20 unseen posts of *every* user.  It prints the generation, fit and ranking
seconds, the peak resident memory (``VmHWM``, which counts torch's and scipy's buffers), and
Recall@20 on the held-out interactions against the most popular unseen posts of the same run,
then one JSON line.

The graph: users and posts fall into planted communities of about 1,000 users each; a post's
popularity follows a power law (weight ``rank^-0.7``, so the most popular post draws about 0.1% of
all interactions), a user's activity is log-normal (at least one interaction each), and 80% of a
user's interactions go to posts of their own community, drawn by popularity, the rest to any post
by popularity.  A held-out interaction is therefore predictable from the community, which
popularity alone misses.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from bench.harness import SHARED, machine
from bench.recommend import read_lists
from graph.arrays import binary_matrix, sorted_unique
from jobs.common.ranking import ranking_metrics
from jobs.recommend.candidates import CandidateFilter
from jobs.recommend.graph_filter import GraphFilter
from jobs.recommend.scoring import holdout

K = 20
COMMUNITY_USERS = 1000
INSIDE = 0.8
SKEW = 0.7


def synthetic(users: int, posts: int, interactions: int, seed: int = 0) -> sp.csr_matrix:
    """Returns ``[users, posts]`` binary CSR with about ``interactions`` distinct pairs (see the module docstring)."""
    rng = np.random.default_rng(seed)
    communities = max(1, users // COMMUNITY_USERS)
    user_community = rng.integers(0, communities, users)
    post_community = rng.integers(0, communities, posts)
    weight = rng.permutation(np.arange(1, posts + 1, dtype=np.float64) ** -SKEW)
    activity = np.cumsum(rng.lognormal(0.0, 1.0, users))
    # Every user once, then the rest by activity; 5% extra draws make up for repeated pairs.
    draws = int(interactions * 1.05) - users
    who = np.concatenate([np.arange(users), np.searchsorted(activity, rng.random(draws) * activity[-1], side="right")])
    who = np.minimum(who, users - 1)
    by_community = np.argsort(post_community, kind="stable")
    mass = np.concatenate(([0.0], np.cumsum(weight[by_community])))
    bounds = mass[np.searchsorted(post_community[by_community], np.arange(communities + 1))]
    home = user_community[who]
    inside = rng.random(who.size) < INSIDE
    low = np.where(inside, bounds[home], 0.0)
    point = low + rng.random(who.size) * (np.where(inside, bounds[home + 1], mass[-1]) - low)
    post = by_community[np.minimum(np.searchsorted(mass, point, side="right") - 1, posts - 1)]
    code = sorted_unique(who.astype(np.int64) * posts + post)
    code = np.sort(rng.permutation(code)[:interactions])
    return sp.csr_matrix((np.ones(code.size, np.float32), (code // posts, code % posts)), shape=(users, posts))


def hold_out_one(known: sp.csr_matrix, sample: int, seed: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Removes one random interaction of each of ``sample`` random users with two or more.

    Returns:
        ``(kept [U, I] CSR, users [n], held [n])``: the graph without them, the users and their held-out posts.
    """
    rng = np.random.default_rng(seed)
    degree = np.diff(known.indptr)
    eligible = np.flatnonzero(degree >= 2)
    users = np.sort(rng.choice(eligible, min(sample, eligible.size), replace=False))
    slot = known.indptr[users] + (rng.random(users.size) * degree[users]).astype(np.int64)
    held = known.indices[slot].astype(np.int64)
    keep = np.ones(known.nnz, dtype=bool)
    keep[slot] = False
    rows = np.repeat(np.arange(known.shape[0]), degree)
    kept = sp.csr_matrix((known.data[keep], (rows[keep], known.indices[keep])), shape=known.shape)
    return kept, users, held


def popular_unseen(known: sp.csr_matrix, users: np.ndarray, k: int) -> np.ndarray:
    """Returns ``[n, k]`` int64: the ``k`` most interacted posts each of ``users`` has not seen."""
    degree = np.diff(known.indptr)
    order = np.argsort(-np.asarray(known.sum(axis=0)).ravel(), kind="stable")[: k + int(degree[users].max(initial=0))]
    seen = known[users][:, order].toarray() != 0
    rank = np.cumsum(~seen, axis=1)
    out = np.full((users.size, k), -1, dtype=np.int64)
    line, column = np.nonzero(~seen & (rank <= k))
    out[line, rank[line, column] - 1] = order[column]
    return out


def peak_memory_gib() -> float:
    """Returns this process's peak resident memory (``VmHWM``) in GiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    raise RuntimeError("no VmHWM in /proc/self/status")


def recall(top: np.ndarray, users: np.ndarray, held: np.ndarray) -> float:
    """Returns Recall@20 of the rows ``top`` (``[n, >= 20]``) of ``users`` on one held-out post each."""
    truth_indptr = np.arange(users.size + 1)
    return ranking_metrics(top, truth_indptr, held, np.arange(users.size), K)[f"recall@{K}"]


def gowalla_comparison(model: CandidateFilter, path: Path, seed: int) -> dict[str, float]:
    """Fits ``model`` on the Gowalla validation split of ``bench.graph_filter --split val`` (10% of each
    user's training items held out, never the test file) and ranks every user with held-out items
    both ways: the graph filter's exact full ranking and the candidate path.

    Returns:
        Recall@20 and NDCG@20 of both, the candidate recall (the share of the exact top 20 that the
        candidate path returns: a candidate is scored exactly, so an exact top-20 item is missed only
        when it is not a candidate) and both ranking times.
    """
    pairs = read_lists(path / "train.txt")
    train = binary_matrix(*pairs, int(pairs[0].max()) + 1, int(pairs[1].max()) + 1)
    known, truth = holdout(train, 0.1, seed)
    model.fit(known)
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    figures: dict[str, float] = {"users": float(users.size)}
    tops = {}
    for name, rank in (("exact", lambda: model.model.recommend(users, K)), ("candidates", lambda: model.recommend(users, K))):
        start = time.perf_counter()
        tops[name] = rank()[0]
        figures[f"{name}_rank_seconds"] = time.perf_counter() - start
        metrics = ranking_metrics(tops[name], truth.indptr, truth.indices, users, K)
        figures[f"{name}_recall@20"], figures[f"{name}_ndcg@20"] = metrics[f"recall@{K}"], metrics[f"ndcg@{K}"]
    exact, found = tops["exact"], tops["candidates"]
    shared = (exact[:, :, None] == found[:, None, :]).any(axis=2) & (exact >= 0)
    figures["candidate_recall"] = float(shared.sum() / max((exact >= 0).sum(), 1))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Generates the graph, fits, ranks every user and prints the figures (a Markdown table and a JSON line).

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.recommend_scale")
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--rank", type=int, default=64, help="eigenvectors of the ideal filter")
    parser.add_argument("--oversample", type=int, default=64)
    parser.add_argument("--neighbours", type=int, default=64)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--popular", type=int, default=32)
    parser.add_argument("--sample", type=int, default=10_000, help="users with a held-out interaction")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--gowalla", type=Path, nargs="?", const=SHARED / "gowalla_lightgcn", default=None,
                        help="instead: exact against candidates on the Gowalla validation split at this path")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    model = CandidateFilter(GraphFilter(rank=args.rank, oversample=args.oversample, seed=args.seed),
                            neighbours=args.neighbours, candidates=args.candidates, popular=args.popular)
    if args.gowalla is not None:
        figures = gowalla_comparison(model, args.gowalla, args.seed)
        print(f"machine: {machine()}, torch threads {torch.get_num_threads()}, load average {load:.1f}\n"
              "| rank | M | C | P | exact recall@20 | exact ndcg@20 | candidates recall@20 | candidates ndcg@20 | candidate recall | exact rank s | candidates rank s |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|\n"
              f"| {model.model.vectors.shape[1]} | {args.neighbours} | {args.candidates} | {args.popular} | "
              f"{figures['exact_recall@20']:.4f} | {figures['exact_ndcg@20']:.4f} | {figures['candidates_recall@20']:.4f} | "
              f"{figures['candidates_ndcg@20']:.4f} | {figures['candidate_recall']:.4f} | {figures['exact_rank_seconds']:.1f} | "
              f"{figures['candidates_rank_seconds']:.1f} |")
        settings = {name: getattr(args, name) for name in ("rank", "oversample", "neighbours", "candidates", "popular", "seed", "threads")}
        print(json.dumps({"bench": "recommend_scale", "data": f"{args.gowalla.name} val", **settings, "load_average": load, **figures}))
        return 0
    start = time.perf_counter()
    graph = synthetic(args.users, args.posts, args.interactions, args.seed)
    known, users, held = hold_out_one(graph, args.sample, args.seed)
    del graph
    generate_s = time.perf_counter() - start
    print(f"machine: {machine()}, torch threads {torch.get_num_threads()}, load average {load:.1f}\n"
          f"synthetic: {args.users:,} users, {args.posts:,} posts, {known.nnz:,} fitted pairs, "
          f"{users.size:,} held out; generated in {generate_s:.1f} s\n", flush=True)
    start = time.perf_counter()
    model.fit(known)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    top, _ = model.recommend(np.arange(args.users), K)
    rank_s = time.perf_counter() - start
    figures = {
        "fit_seconds": fit_s, "rank_seconds": rank_s, "total_seconds": fit_s + rank_s, "peak_gib": peak_memory_gib(),
        "recall@20": recall(top[users], users, held), "popularity_recall@20": recall(popular_unseen(known, users, K), users, held),
        "empty_slots": float((top < 0).mean()),
    }
    figures["ratio"] = figures["recall@20"] / max(figures["popularity_recall@20"], 1e-12)
    print("| users | posts | pairs | rank | M | C | P | fit s | rank s | total s | peak GiB | recall@20 | popularity | ratio |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
          f"| {args.users:,} | {args.posts:,} | {known.nnz:,} | {model.model.vectors.shape[1]} | {args.neighbours} | "
          f"{args.candidates} | {args.popular} | {fit_s:.0f} | {rank_s:.0f} | {fit_s + rank_s:.0f} | "
          f"{figures['peak_gib']:.2f} | {figures['recall@20']:.4f} | {figures['popularity_recall@20']:.4f} | "
          f"{figures['ratio']:.2f}x |")
    print(json.dumps({"bench": "recommend_scale", **{k: v for k, v in vars(args).items() if k != "gowalla"}, "load_average": load, "generate_seconds": generate_s, **figures}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
