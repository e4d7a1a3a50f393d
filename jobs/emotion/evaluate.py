"""``python -m jobs evaluate emotion``: the shipped emotion classifier and its baselines on TweetEval emotion."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from text.emotion import EMOTIONS, EmotionClassifier
from text.sentiment_data import LABELS, Split, tweeteval_split, weibo_split


def _has_split(path: Path, name: str) -> bool:
    return all((path / f"{name}_{part}.txt").is_file() for part in ("text", "labels"))


def emotion_split(path: Path) -> tuple[str, Split]:
    """Returns ``("test", split)`` when ``path`` holds ``test_text.txt`` and ``test_labels.txt``, else ``("val", split)``."""
    name = "test" if _has_split(path, "test") else "val"
    return name, tweeteval_split(path, name, len(EMOTIONS))


def emotion_metrics(labels: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Returns macro-F1 over the four classes (TweetEval's official metric), accuracy and each class's F1."""
    classes = list(range(len(EMOTIONS)))
    per_class = f1_score(labels, predicted, labels=classes, average=None, zero_division=0)
    return {
        "macro_f1": round(float(np.mean(per_class)), 4),
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "per_class_f1": {name: round(float(f), 4) for name, f in zip(EMOTIONS, per_class)},
    }


def _lexicon_baseline(split: Split, majority: int) -> np.ndarray | None:
    # The NRC lexicon is an opt-in extra (its licence is non-commercial); without it there is no such baseline.
    try:
        from text.emotion_lexicon import lexicon_labels

        return lexicon_labels(split.texts, fallback=majority)
    except ModuleNotFoundError:
        return None


def evaluate_emotion(classifier: EmotionClassifier, split_name: str, split: Split, train_labels: np.ndarray | None = None) -> dict[str, Any]:
    """Classifies ``split`` with the classifier and with its baselines.

    Args:
        train_labels: the train split's labels, whose commonest class is the majority baseline
            (default: the evaluated split's own commonest class).

    Returns:
        ``{"split", "rows", "model": {macro_f1, accuracy, per_class_f1, name, seconds},
        "baselines": {"majority": {...}, "nrc_lexicon": {...} when installed}, "seconds"}``.
    """
    start = time.perf_counter()
    probabilities = classifier.probabilities(split.texts)
    model_seconds = time.perf_counter() - start
    majority = int(np.bincount(split.labels if train_labels is None else train_labels, minlength=len(EMOTIONS)).argmax())
    baselines = {"majority": emotion_metrics(split.labels, np.full(len(split.labels), majority))}
    lexicon = _lexicon_baseline(split, majority)
    if lexicon is not None:
        baselines["nrc_lexicon"] = emotion_metrics(split.labels, lexicon)
    return {
        "split": split_name,
        "rows": len(split.texts),
        "model": {**emotion_metrics(split.labels, probabilities.argmax(axis=1)), "name": classifier.name, "seconds": round(model_seconds, 1)},
        "baselines": baselines,
        "seconds": round(time.perf_counter() - start, 1),
    }


def polarity_of_emotions(classifier: EmotionClassifier, split: Split) -> dict[str, Any]:
    """What the model does on texts that have sentiment labels but no emotion labels (the Chinese
    weibo2018 posts, which the jobs give no emotion): the emotion it would pick for each text, bypassing
    the language routing, and how the gold sentiment of the texts given each emotion splits.

    Returns:
        ``{"rows", "emotions": {emotion: {"share", "negative", "positive"}}, "base": {"negative", "positive"},
        "polarity_accuracy"}``, the last the share of texts whose emotion agrees with their gold polarity
        (anger and sadness with negative, joy and optimism with positive).
    """
    picked = classifier.probabilities(split.texts).argmax(axis=1)
    negative = split.labels == LABELS.index("negative")
    positive = split.labels == LABELS.index("positive")
    emotions = {}
    for index, name in enumerate(EMOTIONS):
        rows = picked == index
        emotions[name] = {
            "share": round(float(rows.mean()), 4),
            "negative": round(float(negative[rows].mean()), 4) if rows.any() else None,
            "positive": round(float(positive[rows].mean()), 4) if rows.any() else None,
        }
    negative_emotion = np.isin(picked, [EMOTIONS.index("anger"), EMOTIONS.index("sadness")])
    agrees = np.where(negative_emotion, negative, positive)
    return {
        "rows": len(split.texts),
        "emotions": emotions,
        "base": {"negative": round(float(negative.mean()), 4), "positive": round(float(positive.mean()), 4)},
        "polarity_accuracy": round(float(agrees.mean()), 4),
    }


def run_emotion_evaluation(path: Path, limit: int | None, device: str, weibo: Path | None = None) -> int:
    """Prints the evaluation of the test split in ``path`` (else its validation split) as one JSON object on the last
    line; with ``weibo``, a folder of weibo2018_sentiment, also :func:`polarity_of_emotions` on its test split.

    Returns:
        0.
    """
    split_name, split = emotion_split(path)
    if limit is not None:
        split = split.head(limit)
    train_labels = tweeteval_split(path, "train", len(EMOTIONS)).labels if _has_split(path, "train") else None
    classifier = EmotionClassifier(device=device)
    result = evaluate_emotion(classifier, split_name, split, train_labels)
    if weibo is not None:
        result["weibo2018"] = polarity_of_emotions(classifier, weibo_split(weibo, "test"))
    print(json.dumps(result, sort_keys=True))
    return 0
