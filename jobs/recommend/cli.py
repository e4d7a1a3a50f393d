"""``python -m jobs recommend``: train on the graph and write the top K posts per user, with reasons."""

from __future__ import annotations

import time

from tqdm import tqdm

from graph.config import Settings
from graph.lock import JobLock
from graph.store import GraphStore
from jobs.recommend.job import Progress, run_recommend
from jobs.recommend.lightgcn import TrainConfig
from jobs.common.runtime import torch_device


def run_recommend_command(
    settings: Settings, k: int, seed: int, epochs: int | None, device: str | None, wait: bool = False
) -> int:
    """Runs the recommend job with progress bars and prints a summary line.

    Args:
        wait: when another run of the job holds its lock, wait for it instead of exiting.

    Returns:
        0.
    """
    config = TrainConfig(seed=seed, **({"epochs": epochs} if epochs else {}))
    torch_dev = torch_device(device or settings.device)
    start = time.perf_counter()
    with GraphStore.from_settings(settings) as store, JobLock(store, "recommend").hold(wait):
        users = store.node_count("User")
        with tqdm(total=config.epochs, unit=" epochs", desc="train", mininterval=0.5) as train_bar, \
                tqdm(total=users, unit=" users", desc="recommend", mininterval=0.5) as user_bar:
            def on_epoch(epoch: int, loss: float) -> None:
                train_bar.update(1)
                train_bar.set_postfix(loss=f"{loss:.4f}")

            summary = run_recommend(store, k, config, torch_dev, Progress(on_epoch, user_bar.update))
    m = summary.metrics
    print(
        f"run {summary.run_id} on {torch_dev}: {summary.written:,d} recommendations for {m['users_served']:,d} of "
        f"{m['users']:,d} users over {m['posts']:,d} posts ({m['cold_posts_recommended']:,d} to posts without "
        f"interactions); loss {m['loss']:.4f}, coverage {m['coverage']:.3f}, Gini {m['gini']:.3f}, "
        f"top-1% share {m['top1pct_share']:.3f}; {time.perf_counter() - start:.1f} s"
    )
    return 0
