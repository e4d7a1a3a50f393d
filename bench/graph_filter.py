"""Accuracy, time and memory of the graph-filter recommender on the official Gowalla split, read straight from the files.

``python -m bench.graph_filter [--path ../shared/datasets/gowalla_lightgcn] [--split val|test]
[--variant best] [--set name=value ...] [--grid name=v1,v2 ...]`` fits
:class:`jobs.recommend.graph_filter.GraphFilter` and ranks every item for every user (training
items excluded), then prints Recall@20 and NDCG@20 as LightGCN defines them (full ranking; NDCG's
ideal DCG over ``min(|held out|, 20)`` items), the exposure of the recommendations (catalogue
coverage, Gini, share of the 1% most popular items), the fit and ranking seconds, the peak RSS,
and at the end one JSON line.  No Neo4j is involved.

Protocol:

- ``--split val`` (default) carves a seeded validation split from ``train.txt`` only: 10% of each
  user's training items (at least one) for every user with two or more, and fits on the rest.
  Variants and hyper-parameters are chosen here.
- ``--split test`` fits on all of ``train.txt`` and evaluates on ``test.txt``; touched once per
  design, for the reported figure.

``--set`` overrides one constructor argument of the variant; ``--grid`` runs the cartesian product
of the values given, in this process, for validation tables.  Consecutive runs that differ only in
response arguments share one eigendecomposition (:meth:`GraphFilter.with_response`), so their
``fit s`` is near 0.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import resource
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from bench.harness import SHARED, machine
from jobs.common.ranking import exposure_metrics, ranking_metrics
from bench.recommend import read_lists
from jobs.recommend.graph_filter import GraphFilter
from jobs.recommend.scoring import holdout
from graph.arrays import binary_matrix

K = 20
VARIANTS: dict[str, dict[str, Any]] = {
    "gf-cf": GraphFilter.gf_cf().get_params(),
    "gf-cf-randomized": GraphFilter.gf_cf(solver="randomized").get_params(),
    "linear": GraphFilter.gf_cf(rank=0).get_params(),
    "chebycf": dict(user_power=0.5, item_power=0.5, equaliser=0.4, response="plateau", flatness=1.5, head_user_power=0.0,
                    ideal_weight=0.2, rank=512),
    "bspm": dict(user_power=0.5, item_power=0.5, equaliser=0.35, response="sharpen", sharpen_time=2.5, head_user_power=0.0,
                 ideal_weight=0.2, rank=448),
    "best": {},
}
"""Constructor arguments of each named variant: ``gf-cf`` is Shen et al.'s published setting,
``chebycf`` and ``bspm`` the published responses of those papers (evaluated as in
:mod:`jobs.recommend.graph_filter`), ``best`` the defaults, chosen on the validation split."""


def evaluate(model: GraphFilter, known: sp.csr_matrix, truth: sp.csr_matrix) -> dict[str, float]:
    """Ranks every item for every user with held-out items; returns the metrics, exposure and ranking seconds."""
    users = np.flatnonzero(np.diff(truth.indptr) > 0)
    start = time.perf_counter()
    top, _ = model.recommend(users, K, exclude_seen=True)
    seconds = time.perf_counter() - start
    metrics = ranking_metrics(top, truth.indptr, truth.indices, users, K)
    exposure = exposure_metrics(top, known.shape[1], np.diff(known.tocsc().indptr))
    return {"recall@20": metrics[f"recall@{K}"], "ndcg@20": metrics[f"ndcg@{K}"], "users": int(users.size),
            **exposure, "rank_seconds": seconds}


def parse_value(text: str) -> Any:
    """Returns ``text`` as an int, a float, None or the string itself."""
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def settings(variant: str, overrides: Sequence[str], grid: Sequence[str]) -> list[dict[str, Any]]:
    """Returns the constructor arguments of every run: the variant, ``name=value`` overrides, then
    each combination of the ``name=v1,v2`` grid."""
    base = dict(VARIANTS[variant])
    for item in overrides:
        name, value = item.split("=", 1)
        base[name] = parse_value(value)
    axes = [(item.split("=", 1)[0], [parse_value(v) for v in item.split("=", 1)[1].split(",")]) for item in grid]
    runs = []
    for values in itertools.product(*(vals for _, vals in axes)):
        runs.append({**base, **dict(zip((name for name, _ in axes), values))})
    return runs


def fit_or_reuse(fitted: GraphFilter | None, run: dict[str, Any], known: sp.csr_matrix) -> GraphFilter:
    """Returns ``fitted`` when its eigenvectors suit ``run`` (same spectrum arguments), else a new fit;
    a grid over response arguments alone then costs one eigendecomposition."""
    wanted = GraphFilter(**run).get_params()
    if fitted is not None and all(fitted.get_params()[name] == wanted[name] for name in GraphFilter.SPECTRUM_PARAMETERS):
        return fitted
    return GraphFilter(**run).fit(known)


def peak_rss_gib() -> float:
    """Returns this process's peak resident memory in GiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(argv: Sequence[str] | None = None) -> int:
    """Fits and evaluates each run, printing a Markdown row per run and a JSON line at the end.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.graph_filter")
    parser.add_argument("--path", type=Path, default=SHARED / "gowalla_lightgcn")
    parser.add_argument("--split", choices=["val", "test"], default="val")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="best")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2")
    parser.add_argument("--val-share", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0, help="seed of the validation split")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    train_pairs, test_pairs = read_lists(args.path / "train.txt"), read_lists(args.path / "test.txt")
    shape = tuple(int(max(a.max(), b.max())) + 1 for a, b in zip(train_pairs, test_pairs))
    train, test = binary_matrix(*train_pairs, *shape), binary_matrix(*test_pairs, *shape)
    if args.split == "val":
        known, truth = holdout(train, args.val_share, args.seed)
    else:
        known, truth = train, test
    print(f"machine: {machine()}, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}\n"
          f"{args.path.name} {args.split}: {shape[0]} users, {shape[1]} items, {known.nnz} fitted pairs, "
          f"{truth.nnz} held-out pairs\n")
    print("| variant | settings | recall@20 | ndcg@20 | coverage | gini | top1% share | fit s | rank s | peak GiB |\n"
          "|---|---|---|---|---|---|---|---|---|---|", flush=True)
    results = []
    defaults = GraphFilter().get_params()
    fitted: GraphFilter | None = None
    for run in settings(args.variant, args.overrides, args.grid):
        start = time.perf_counter()
        fitted = fit_or_reuse(fitted, run, known)
        model = fitted.with_response(**{n: v for n, v in run.items() if n not in GraphFilter.SPECTRUM_PARAMETERS})
        fit_seconds = time.perf_counter() - start
        figures = evaluate(model, known, truth)
        figures.update(fit_seconds=fit_seconds, peak_rss_gib=peak_rss_gib())
        changed = {name: value for name, value in run.items() if defaults[name] != value}
        print(f"| {args.variant} | {json.dumps(changed)} | {figures['recall@20']:.4f} | {figures['ndcg@20']:.4f} | "
              f"{figures['coverage']:.3f} | {figures['gini']:.3f} | {figures['top1pct_share']:.3f} | "
              f"{fit_seconds:.1f} | {figures['rank_seconds']:.1f} | {figures['peak_rss_gib']:.2f} |", flush=True)
        results.append({"settings": run, **figures})
    print(f"\nfit {results[-1]['fit_seconds']:.1f} s, ranking {results[-1]['rank_seconds']:.1f} s "
          f"({results[-1]['users']} users), peak RSS {peak_rss_gib():.2f} GiB")
    print(json.dumps({"bench": "graph_filter", "split": args.split, "variant": args.variant,
                      "load_average": os.getloadavg()[0], "runs": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
