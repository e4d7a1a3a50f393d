"""How much Chinese meaning each packaged text model carries, measured on weibo2018.

``python -m bench.multilingual [--models all-MiniLM-L6-v2 use-multilingual-v3]`` embeds weibo2018's
10,000 training and 500 test posts with each model and fits the same linear probe (logistic
regression, ``C`` chosen on a seeded 10% of train) on the vectors: the probe's test accuracy says
how well a model's vectors separate the posts' sentiment, the signal the GNN jobs and the
sentiment head would read from them.  It also reports encoding speed on this machine; a
majority-class baseline in the same run anchors the accuracies.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from bench.cli import table
from bench.harness import SHARED, machine, timed
from text.embeddings import Encoder
from text.sentiment_data import weibo_split

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)


def probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """Fits logistic regression on ``train_x`` (``[N, D]``), ``C`` picked on a held-out tenth.

    Returns:
        ``(C, test accuracy)``.
    """
    order = np.random.default_rng(seed).permutation(len(train_y))
    val, fit = order[: len(order) // 10], order[len(order) // 10 :]
    scores = {}
    for c in C_GRID:
        model = LogisticRegression(C=c, max_iter=2000).fit(train_x[fit], train_y[fit])
        scores[c] = model.score(train_x[val], train_y[val])
    best = max(C_GRID, key=lambda c: (scores[c], -c))
    model = LogisticRegression(C=best, max_iter=2000).fit(train_x, train_y)
    return best, float(model.score(test_x, test_y))


def run(path: Path, models: Sequence[str]) -> list[dict[str, Any]]:
    """Returns one row per model plus the majority-class row."""
    train, test = weibo_split(path, "train"), weibo_split(path, "test")
    majority = np.bincount(train.labels).argmax()
    rows: list[dict[str, Any]] = [{"model": "majority class (no text)", "test_accuracy": float((test.labels == majority).mean())}]
    for name in models:
        encoder = Encoder(name, device="cpu")
        train_x, seconds = timed(lambda: encoder.encode(train.texts))
        test_x = encoder.encode(test.texts)
        c, accuracy = probe(train_x, train.labels, test_x, test.labels)
        rows.append({"model": name, "dim": encoder.dim, "texts_per_s": len(train.texts) / seconds, "C": c, "test_accuracy": accuracy})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Prints the comparison as a Markdown table.

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.multilingual")
    parser.add_argument("--path", type=Path, default=SHARED / "weibo2018_sentiment")
    parser.add_argument("--models", nargs="+", default=["all-MiniLM-L6-v2", "use-multilingual-v3"])
    args = parser.parse_args(argv)
    print(f"machine: {machine()}\n")
    print(table(run(args.path, args.models), ["model", "dim", "texts_per_s", "C", "test_accuracy"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
