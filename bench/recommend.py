"""Quality/time curve of the recommend model on the official Gowalla split, read straight from the files.

``python -m bench.recommend [--epochs 40] [--eval-every 5] [--batch-size 8192] [--lr 5e-3] [--device auto]``
trains :mod:`jobs.recommend.lightgcn` on ``train.txt`` and prints, every few epochs, Recall@20 and
NDCG@20 over all items for every test user (known training items masked), with the training
seconds so far; evaluation time is not counted.  No Neo4j is involved: this measures the model.
The same figures through the graph come from ``python -m jobs evaluate recommend --dataset gowalla``.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from bench.harness import SHARED, machine
from jobs.common.ranking import csr_from_pairs, ranking_metrics
from jobs.recommend.lightgcn import Interactions, TrainConfig, Trained, recommend, train
from jobs.common.runtime import seed_everything, torch_device


def read_lists(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(users [E], items [E])`` int64 of a ``user item item …`` file."""
    users, items = [], []
    for line in path.read_text().splitlines():
        tokens = line.split()
        if len(tokens) > 1:
            row = np.asarray(tokens, dtype=np.int64)
            users.append(np.full(row.size - 1, row[0]))
            items.append(row[1:])
    return np.concatenate(users), np.concatenate(items)


def evaluate(trained: Trained, data: Interactions, test_users: np.ndarray, test_items: np.ndarray, k: int = 20
             ) -> dict[str, float]:
    """Returns Recall@k / NDCG@k of ``trained`` over all items, training items masked."""
    user_emb, item_emb = trained.embeddings()
    known = csr_from_pairs(data.users, data.items, data.num_users)
    truth = csr_from_pairs(test_users, test_items, data.num_users)
    queries = np.unique(test_users)
    _, top = recommend(user_emb, item_emb, *known, k, users=queries)
    return ranking_metrics(top, *truth, queries, k)


def main(argv: Sequence[str] | None = None) -> int:
    """Trains and prints the curve as a Markdown table.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.recommend")
    parser.add_argument("--path", type=Path, default=SHARED / "gowalla_lightgcn")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    seed_everything(args.seed)
    users, items = read_lists(args.path / "train.txt")
    test_users, test_items = read_lists(args.path / "test.txt")
    data = Interactions.unique(users, items, int(max(users.max(), test_users.max())) + 1,
                               int(max(items.max(), test_items.max())) + 1)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    print(f"machine: {machine()}, torch threads {torch.get_num_threads()}\n"
          f"gowalla: {data.num_users} users, {data.num_items} items, {data.users.size} train pairs; {config}\n")
    print("| epoch | train s | loss | recall@20 | ndcg@20 | eval s |\n|---|---|---|---|---|---|", flush=True)

    def on_epoch(epoch: int, loss: float, trained: Trained) -> None:
        if epoch % args.eval_every and epoch != args.epochs:
            return
        start = time.perf_counter()
        metrics = evaluate(trained, data, test_users, test_items)
        print(f"| {epoch} | {trained.seconds:.0f} | {loss:.4f} | {metrics['recall@20']:.4f} | "
              f"{metrics['ndcg@20']:.4f} | {time.perf_counter() - start:.0f} |", flush=True)

    train(data, config, torch_device(args.device), on_epoch)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
