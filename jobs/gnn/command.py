"""``python -m jobs communities|friends``: snapshot, train, infer, write back as one published run."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from tqdm import tqdm

from graph.config import Settings
from graph.lock import JobLock
from graph.store import GraphStore
from jobs.communities.model import CommunityConfig
from jobs.communities.job import run_communities
from jobs.friends.model import FriendsConfig
from jobs.friends.job import run_friends
from jobs.gnn.encoder import EncoderConfig
from jobs.common.runtime import torch_device
from jobs.gnn.social import read_social_graph


def encoder_for(job: str, epochs: int | None, mini_batches: bool = False) -> EncoderConfig:
    """Returns the encoder settings of ``job`` (``communities`` or ``friends``), with ``epochs`` when
    given, and training on mini-batches whatever the graph's size when ``mini_batches``."""
    config = FriendsConfig().encoder if job == "friends" else EncoderConfig()
    if epochs is not None:
        config = dataclasses.replace(config, epochs=epochs)
    return dataclasses.replace(config, full_batch_max_nodes=0) if mini_batches else config


def run_job(
    settings: Settings,
    job: str,
    seed: int = 0,
    device: str | None = None,
    epochs: int | None = None,
    k: int = 20,
    embedding: str | None = None,
    mini_batches: bool = False,
    wait: bool = False,
) -> int:
    """Runs the ``communities`` or ``friends`` job and prints its summary.

    Args:
        embedding: the communities job's :attr:`CommunityConfig.embedding` (default: its own).
        mini_batches: train on sampled mini-batches even when the graph fits full-batch.
        wait: when another run of the job holds its lock, wait for it instead of exiting.

    Returns:
        0 when the run was published.
    """
    torch_dev = torch_device(device or settings.device)
    encoder = encoder_for(job, epochs, mini_batches)
    communities = CommunityConfig(**({"embedding": embedding} if embedding else {}))
    trains = job == "friends" or communities.embedding == "sage"
    start = time.perf_counter()
    with GraphStore.from_settings(settings) as store, JobLock(store, job).hold(wait):
        graph = read_social_graph(store, settings.page_size)
        with tqdm(total=encoder.epochs, desc=f"{job}: train", unit=" epoch", disable=not trains) as bar:
            def on_epoch(epoch: int, loss: float) -> None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

            if job == "communities":
                summary = run_communities(store, graph, encoder, seed, torch_dev, on_epoch, communities)
            else:
                config = dataclasses.replace(FriendsConfig(), k=k, encoder=encoder)
                summary = run_friends(store, graph, config, seed, torch_dev, on_epoch)
    print(_format(job, summary, time.perf_counter() - start))
    return 0


def _format(job: str, summary: dict[str, Any], seconds: float) -> str:
    metrics = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary["metrics"].items())
    return f"{job} run {summary['run_id']} published in {seconds:.1f} s: {metrics}"
