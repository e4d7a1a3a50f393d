"""``python -m jobs evaluate sentiment``: the shipped classifier and its lexicon baseline on a test split, in one run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score

from text.sentiment import SentimentClassifier
from text.sentiment_baselines import snownlp_labels, vader_labels
from text.sentiment_data import LABELS, Split, tweeteval_split, weibo_split

BASELINES = {"tweeteval": ("vader", vader_labels), "weibo2018": ("snownlp", snownlp_labels)}


def metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Returns macro-recall, accuracy and macro-F1, averaged over the classes present in ``labels``."""
    present = np.unique(labels)
    return {
        "macro_recall": round(float(recall_score(labels, predicted, labels=present, average="macro", zero_division=0)), 4),
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "macro_f1": round(float(f1_score(labels, predicted, labels=present, average="macro", zero_division=0)), 4),
    }


def test_split(dataset: str, path: Path) -> Split:
    """Returns the test split of ``tweeteval`` or ``weibo2018``."""
    if dataset == "tweeteval":
        return tweeteval_split(path, "test")
    if dataset == "weibo2018":
        return weibo_split(path, "test")
    raise ValueError(f"unknown sentiment dataset {dataset!r}; known: tweeteval, weibo2018")


def evaluate_sentiment(classifier: SentimentClassifier, dataset: str, split: Split) -> dict[str, Any]:
    """Classifies ``split`` with the classifier and with the dataset's lexicon baseline.

    Returns:
        ``{"dataset", "rows", "model": {name, metrics, seconds}, "baselines": {name: {metrics, seconds}}, "seconds"}``.
    """
    start = time.perf_counter()
    predicted = np.array([LABELS.index(label) for label in classifier.predict(split.texts).labels])
    model_seconds = time.perf_counter() - start
    baseline, baseline_labels = BASELINES[dataset]
    baseline_start = time.perf_counter()
    baseline_predicted = baseline_labels(split.texts)
    baseline_seconds = time.perf_counter() - baseline_start
    result: dict[str, Any] = {
        "dataset": dataset,
        "rows": len(split.texts),
        "model": {"name": classifier.name, **metrics(split.labels, predicted), "seconds": round(model_seconds, 1)},
        "baselines": {baseline: {**metrics(split.labels, baseline_predicted), "seconds": round(baseline_seconds, 1)}},
    }
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def run_sentiment_evaluation(dataset: str, path: Path, limit: int | None, device: str) -> int:
    """Prints the evaluation as one JSON object on the last line.

    Returns:
        0.
    """
    split = test_split(dataset, path)
    if limit is not None:
        split = split.head(limit)
    print(json.dumps(evaluate_sentiment(SentimentClassifier(device=device), dataset, split), sort_keys=True))
    return 0
