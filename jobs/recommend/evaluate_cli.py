"""``python -m jobs evaluate recommend``: the recommend model's offline evaluations in a throwaway Neo4j.

- ``--dataset gowalla --path DIR``: the official LightGCN split (train loaded, test held out);
- ``--interactions FILE [--test FILE]``: a ``user item [weight]`` list, split 80/20 by ``--seed``
  when no test file is given;
- ``--dataset lastfm --path DIR``: cold start, 10% of the artists held out entirely, with text
  features against without (artists' text is their name; profiles come from users' tags);
- ``--dataset synthetic [--users N]``: a generated network, the job's top 10 scored against the
  planted topics (:mod:`jobs.recommend.evaluate_synthetic`).

The last line printed is one JSON object ``{"model": {…}, "baselines": {…}, "seconds": …}``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from graph.config import Settings
from graph.ingest.datasets import KNOWN_REJECTS, LASTFM, gowalla_steps, lastfm_steps
from graph.ingest.readers import read_whitespace
from graph.ingest.steps import Step, canonical_dir_steps, interactions_steps
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from jobs.embed.job import run_embed
from jobs.recommend.evaluate import evaluate_cold_start, evaluate_held_out, pairs_of, split_pairs, write_pairs
from jobs.recommend.evaluate_synthetic import evaluate_synthetic
from jobs.recommend.lightgcn import TrainConfig
from jobs.common.runtime import seed_everything, torch_device
from graph.server.sandbox import load_strict, throwaway_store
from text.embeddings import Encoder


@dataclass
class Split:
    """What an evaluation imports before it starts, and the pairs it holds out.

    Attributes:
        train: the steps that load the training graph (None: the evaluation loads its own).
        max_rejects: the rejected rows ``train`` may have (a public dataset's known bad rows).
        held_out: ``(users, items)`` id arrays of the held-out pairs, or None for the evaluations
            that hold out their own.
    """

    train: list[Step] | None = None
    max_rejects: int = 0
    held_out: tuple[np.ndarray, np.ndarray] | None = None


def _split(args: argparse.Namespace, workdir: Path) -> Split:
    """Returns the :class:`Split` of the data set ``args`` name; a seeded 80/20 split of
    ``--interactions`` without ``--test`` writes its training part under ``workdir``."""
    if args.dataset == "gowalla":
        return Split(gowalla_steps(args.path, split="train"), 0, pairs_of(gowalla_steps(args.path, split="test")[0].rows()))
    if args.dataset == "lastfm":
        return Split(lastfm_steps(args.path), KNOWN_REJECTS[LASTFM])
    if args.dataset == "synthetic":
        return Split()
    if args.test is not None:
        return Split(interactions_steps(args.interactions), 0, pairs_of(read_whitespace(args.test, ["src", "dst", "weight"], optional=1)))
    rows = list(read_whitespace(args.interactions, ["src", "dst", "weight"], optional=1))
    users, items = pairs_of(rows)
    weights = np.asarray([row.fields["weight"] or "1" for row in rows], dtype=object)
    held = split_pairs(users, items, args.seed)
    train_file = write_pairs(workdir / "train.tsv", users[~held], items[~held], weights[~held])
    return Split(interactions_steps(train_file, header=False), 0, (users[held], items[held]))


def _embed(store: GraphStore, settings: Settings, args: argparse.Namespace) -> None:
    encoder = Encoder(settings.embedding_model, args.device or settings.device, settings.embed_batch_size)
    with tqdm(total=store.node_count("Post") + store.node_count("User"), unit=" nodes", desc="embed") as bar:
        run_embed(store, encoder, on_progress=bar.update)


def _synthetic(store: GraphStore, settings: Settings, args: argparse.Namespace, config: TrainConfig, device: torch.device) -> dict[str, Any]:
    """Generates ``--users`` users with ``--seed``, loads and embeds them, and scores the job against the planted topics."""
    synthetic = generate(args.users, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="sociograph-synthetic-") as workdir:
        write_canonical(synthetic, Path(workdir))
        load_strict(store, canonical_dir_steps(Path(workdir)))
    _embed(store, settings, args)
    return evaluate_synthetic(store, synthetic, config, device, args.model)


def _evaluate(store: GraphStore, settings: Settings, args: argparse.Namespace, config: TrainConfig, split: Split) -> dict[str, Any]:
    device = torch_device(args.device or settings.device)
    if args.dataset == "synthetic":
        return _synthetic(store, settings, args, config, device)
    if args.dataset == "lastfm":
        _embed(store, settings, args)
        return evaluate_cold_start(store, config, device, model=args.model)
    if args.dataset == "gowalla":
        config = replace(config, use_text=False)
    return evaluate_held_out(store, *split.held_out, config, device, args.model)


def run_recommend_evaluation(settings: Settings, args: argparse.Namespace) -> int:
    """Runs the evaluation ``args`` name and prints the JSON result as the last line.

    Returns:
        0.

    Raises:
        ValueError: when the arguments name no data set (the CLI exits 2).
    """
    if args.dataset and args.dataset != "synthetic" and args.path is None:
        raise ValueError(f"--dataset {args.dataset} needs --path DIR")
    if not args.dataset and args.interactions is None:
        raise ValueError("give --dataset gowalla|lastfm --path DIR, --dataset synthetic, or --interactions FILE [--test FILE]")
    seed_everything(args.seed)
    config = TrainConfig(seed=args.seed, **({"epochs": args.epochs} if args.epochs else {}))
    start = time.perf_counter()
    # The training graph is imported with neo4j-admin before the server opens: several times faster
    # than the transactional load on a large data set, and the store is empty and throwaway anyway.
    with tempfile.TemporaryDirectory(prefix="sociograph-split-") as workdir:
        split = _split(args, Path(workdir))
        with throwaway_store(settings, preload=split.train, max_rejects=split.max_rejects) as store:
            result = _evaluate(store, settings, args, config, split)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["command"] = "evaluate recommend " + " ".join(
        f"--{k} {v}" for k, v in sorted(vars(args).items()) if k in {"dataset", "path", "interactions", "test", "epochs", "seed", "model"} and v is not None
        or k == "users" and args.dataset == "synthetic"
    )
    print(json.dumps(result, sort_keys=True, default=float))
    return 0
