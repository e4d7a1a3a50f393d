"""``python -m jobs evaluate communities|friends``: the GNN jobs' offline evaluations in a throwaway Neo4j.

The data goes through the same path as in production: ingest into Neo4j (a throwaway
server, never the user's graph), text embeddings when the data has text, snapshot, train.
The last line printed is one JSON object:
``{"model": {…}, "baselines": {name: {…}}, "seconds": …, "command": …}``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from graph.config import Settings
from graph.ingest.datasets import KNOWN_REJECTS, dataset_steps
from graph.ingest.readers import read_whitespace
from graph.ingest.rows import Reject
from graph.ingest.steps import canonical_dir_steps, edges_steps
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from jobs.communities.model import CommunityConfig
from jobs.embed.job import run_embed
from jobs.communities.evaluate import evaluate_communities
from jobs.friends.evaluate import evaluate_friends
from jobs.friends.model import FriendsConfig
from jobs.gnn.command import encoder_for
from graph.server.sandbox import load_strict, throwaway_store
from jobs.gnn.social import SocialGraph, read_social_graph
from text.embeddings import Encoder


def _labels(path: Path, graph: SocialGraph) -> np.ndarray:
    """Returns ``[U]`` ground-truth communities from ``node community`` lines (``-1`` for users not listed).

    Raises:
        ValueError: naming ``file:line:field`` for a malformed line or a community that is not an integer.
    """
    truth = np.full(graph.num_users, -1, dtype=np.int64)
    nodes, communities = [], []
    for row in read_whitespace(path, ["node", "community"], header=None):
        if isinstance(row, Reject):
            raise ValueError(f"{row}")
        community = row.fields["community"] or ""
        try:
            communities.append(int(community))
        except ValueError:
            raise ValueError(f"{row.source}:{row.line}:community: {community!r} is not an integer") from None
        nodes.append(row.fields["node"])
    index = graph.users.to_index(nodes)
    values = np.asarray(communities, dtype=np.int64)
    truth[index[index >= 0]] = values[index >= 0]
    return truth


def _load(store: GraphStore, settings: Settings, args: argparse.Namespace, workdir: Path) -> pd.DataFrame | None:
    """Loads the evaluation's data.

    Returns:
        The synthetic graph's ground truth (``user``, ``community``) when it generated one, else None.
    """
    encoder = Encoder(settings.embedding_model, settings.device, settings.embed_batch_size)
    if args.dataset == "synthetic":
        synthetic = generate(args.users, seed=args.seed)
        write_canonical(synthetic, workdir)
        load_strict(store, canonical_dir_steps(workdir))
        run_embed(store, encoder)
        return synthetic.communities
    if args.dataset:
        if args.path is None:
            raise ValueError(f"--dataset {args.dataset} needs --path DIR")
        load_strict(store, dataset_steps(args.dataset, args.path), KNOWN_REJECTS.get(args.dataset, 0))
        if args.dataset == "lastfm":
            run_embed(store, encoder)
        return None
    if args.edges is None:
        raise ValueError("give --dataset NAME --path DIR, or --edges FILE")
    load_strict(store, edges_steps(args.edges))
    return None


def _truth(graph: SocialGraph, args: argparse.Namespace, synthetic: pd.DataFrame | None) -> np.ndarray:
    if synthetic is not None:
        truth = np.full(graph.num_users, -1, dtype=np.int64)
        truth[graph.users.to_index(synthetic["user"].tolist())] = synthetic["community"].to_numpy()
        return truth
    if args.labels is not None:
        return _labels(args.labels, graph)
    return graph.community


def reproducing_command(args: argparse.Namespace) -> str:
    """Returns the ``python -m jobs evaluate …`` command line that repeats the evaluation of ``args``."""
    options = [
        f"--{k.replace('_', '-')} {v}" for k, v in sorted(vars(args).items())
        if k in {"dataset", "path", "edges", "labels", "seed", "epochs", "embedding"} and v is not None
        or k == "users" and args.dataset == "synthetic"
    ]
    flags = [f"--{k.replace('_', '-')}" for k in ("with_gds", "mini_batches") if getattr(args, k, False)]
    return f"python -m jobs evaluate {args.target} " + " ".join(options + flags)


def run_evaluate(settings: Settings, args: argparse.Namespace) -> int:
    """Runs ``evaluate communities`` or ``evaluate friends`` and prints the JSON result last.

    Returns:
        0.
    """
    start = time.perf_counter()
    encoder = encoder_for(args.target, getattr(args, "epochs", None), getattr(args, "mini_batches", False))
    with_gds = args.target == "communities" and args.with_gds
    with tempfile.TemporaryDirectory(prefix="sociograph-eval-") as workdir, throwaway_store(settings, with_gds) as store:
        synthetic = _load(store, settings, args, Path(workdir))
        graph = read_social_graph(store, settings.page_size)
        result: dict[str, Any]
        if args.target == "communities":
            truth = _truth(graph, args, synthetic)
            if (truth >= 0).sum() < 2:
                raise ValueError("no ground truth: give --labels FILE, or a dataset whose users carry a community")
            config = CommunityConfig(**({"embedding": args.embedding} if args.embedding else {}))
            result = evaluate_communities(graph, truth, args.seed, encoder, store if with_gds else None, config=config)
        else:
            result = evaluate_friends(graph, args.seed, FriendsConfig(encoder=encoder))
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["command"] = reproducing_command(args)
    print(json.dumps(result, sort_keys=True, default=float))
    return 0
