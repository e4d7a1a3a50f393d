"""The recommend model on a slice of the real Gowalla split, against popularity."""

from __future__ import annotations

from pathlib import Path

import torch

from graph.ingest.datasets import gowalla_steps
from graph.store import GraphStore
from jobs.recommend.evaluate import evaluate_held_out, pairs_of
from graph.server.sandbox import load_strict
from jobs.recommend.lightgcn import TrainConfig

CPU = torch.device("cpu")


def test_gowalla_slice_beats_popularity(store: GraphStore, datasets: Path, tmp_path: Path) -> None:
    for name in ("train.txt", "test.txt"):
        lines = (datasets / "gowalla_lightgcn" / name).read_text().splitlines()[:1500]
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    load_strict(store, gowalla_steps(tmp_path, split="train"))
    users, items = pairs_of(gowalla_steps(tmp_path, split="test")[0].rows())
    result = evaluate_held_out(store, users, items, TrainConfig(epochs=25, batch_size=4096, lr=1e-2), CPU)
    model, popularity = result["model"], result["baselines"]["popularity"]
    assert model["evaluated"] == 1500
    assert model["recall@20"] >= 0.08 and model["recall@20"] >= 1.3 * popularity["recall@20"], result
    assert model["ndcg@20"] > popularity["ndcg@20"]
    assert model["coverage"] > popularity["coverage"]
