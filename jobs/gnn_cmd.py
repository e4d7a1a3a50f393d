"""``python -m jobs communities|friends``: snapshot, train, infer, write back as one published run."""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

from tqdm import tqdm

from graph.config import Settings
from graph.store import GraphStore
from jobs.communities_job import run_communities
from jobs.friends import FriendsConfig
from jobs.friends_job import run_friends
from jobs.linkpred import EncoderConfig
from jobs.runtime import torch_device
from jobs.social import read_social_graph


def run_job(settings: Settings, args: argparse.Namespace) -> int:
    """Runs the communities or friends job and prints its summary.

    Returns:
        0 when the run was published.
    """
    device = torch_device(args.device or settings.device)
    encoder = EncoderConfig() if args.epochs is None else EncoderConfig(epochs=args.epochs)
    start = time.perf_counter()
    with GraphStore.from_settings(settings) as store:
        graph = read_social_graph(store, settings.page_size)
        with tqdm(total=encoder.epochs, desc=f"{args.command}: train", unit=" epoch") as bar:
            def on_epoch(epoch: int, loss: float) -> None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

            if args.command == "communities":
                summary = run_communities(store, graph, encoder, args.seed, device, on_epoch)
            else:
                config = dataclasses.replace(FriendsConfig(), k=args.k, encoder=encoder)
                summary = run_friends(store, graph, config, args.seed, device, on_epoch)
    print(_format(args.command, summary, time.perf_counter() - start))
    return 0


def _format(job: str, summary: dict[str, Any], seconds: float) -> str:
    metrics = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary["metrics"].items())
    return f"{job} run {summary['run_id']} published in {seconds:.1f} s: {metrics}"
