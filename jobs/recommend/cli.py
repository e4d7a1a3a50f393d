"""``python -m jobs recommend`` (train on the graph and write the top K posts per user, with reasons) and ``evaluate recommend``."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tqdm import tqdm

from graph.config import Settings
from graph.lock import JobLock
from graph.store import GraphStore
from jobs.common.arguments import Commands, add_command, add_device, add_wait

MODELS = ("auto", "graph_filter", "lightgcn")
"""The names of :data:`jobs.recommend.selection.MODELS`, spelled out so that parsing arguments needs no torch."""


def register(commands: Commands) -> None:
    """Adds ``recommend``."""
    parser = add_command(
        commands, "recommend", _run,
        help="recommend posts with a graph filter or LightGCN, fused with text and follows; write RECOMMENDED with reasons",
    )
    parser.add_argument("--k", type=int, default=20, help="recommendations per user")
    _add_model(parser)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="training epochs (default: the job's own)")
    add_device(parser)
    add_wait(parser)


def register_evaluation(targets: Commands) -> None:
    """Adds ``evaluate recommend``, which runs in a throwaway Neo4j of its own."""
    parser = add_command(
        targets, "recommend", _evaluate, uses_server=False,
        help="Recall@20 and NDCG@20 over all posts against popularity; LastFM cold start; planted topics and reasons",
    )
    parser.add_argument(
        "--dataset", choices=["gowalla", "lastfm", "synthetic"],
        help="gowalla: the official split; lastfm: cold start; synthetic: topic precision@10 and generic reasons on a generated network",
    )
    parser.add_argument("--users", type=int, default=2000, help="size of the synthetic graph")
    parser.add_argument("--path", type=Path, help="folder of the public dataset")
    parser.add_argument("--interactions", type=Path, help="a 'user item [weight]' list")
    parser.add_argument("--test", type=Path, help="held-out 'user item' pairs (default: a seeded 20%% of --interactions)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int)
    _add_model(parser)
    add_device(parser)


def _add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", choices=MODELS, default="auto",
        help="auto: the best on a validation slice of the graph (default); graph_filter: training-free; lightgcn: trained with BPR",
    )


def _run(settings: Settings, args: argparse.Namespace) -> int:
    return run_recommend_command(settings, args.k, args.seed, args.epochs, args.device, args.wait, args.model)


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from jobs.recommend.evaluate_cli import run_recommend_evaluation

    return run_recommend_evaluation(settings, args)


def run_recommend_command(
    settings: Settings, k: int, seed: int, epochs: int | None, device: str | None, wait: bool = False, model: str = "auto"
) -> int:
    """Runs the recommend job with progress bars and prints a summary line.

    Args:
        wait: when another run of the job holds its lock, wait for it instead of exiting.

    Returns:
        0.
    """
    from jobs.common.runtime import torch_device
    from jobs.recommend.job import Progress, run_recommend
    from jobs.recommend.lightgcn import TrainConfig

    config = TrainConfig(seed=seed, **({"epochs": epochs} if epochs else {}))
    torch_dev = torch_device(device or settings.device)
    start = time.perf_counter()
    with GraphStore.from_settings(settings) as store, JobLock(store, "recommend").hold(wait):
        users = store.node_count("User")
        with tqdm(total=users, unit=" users", desc="recommend", mininterval=0.5) as user_bar:
            summary = run_recommend(store, k, config, torch_dev, Progress(user_bar.update), model)
    m = summary.metrics
    print(
        f"run {summary.run_id} on {torch_dev}: {summary.written:,d} recommendations for {m['users_served']:,d} of "
        f"{m['users']:,d} users over {m['posts']:,d} posts ({m['cold_posts_recommended']:,d} to posts without "
        f"interactions); model {m['model']}, coverage {m['coverage']:.3f}, Gini {m['gini']:.3f}, "
        f"top-1% share {m['top1pct_share']:.3f}; {time.perf_counter() - start:.1f} s"
    )
    return 0
