"""Lexicon baselines that ship their data: VADER (English) and SnowNLP (Chinese), as :data:`LABELS` ids."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from text.sentiment_data import LABELS

VADER_THRESHOLD = 0.05
"""VADER's documented cut-off: compound >= 0.05 positive, <= -0.05 negative, neutral between."""


def vader_labels(texts: Sequence[str]) -> np.ndarray:
    """Returns ``[len(texts)]`` class ids from VADER's compound score."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyser = SentimentIntensityAnalyzer()
    compound = np.array([analyser.polarity_scores(t)["compound"] for t in texts])
    out = np.full(len(texts), LABELS.index("neutral"), dtype=np.int64)
    out[compound >= VADER_THRESHOLD] = LABELS.index("positive")
    out[compound <= -VADER_THRESHOLD] = LABELS.index("negative")
    return out


def snownlp_labels(texts: Sequence[str]) -> np.ndarray:
    """Returns ``[len(texts)]`` class ids: positive when SnowNLP's sentiment probability is at least 0.5, else negative."""
    from snownlp import SnowNLP

    positive = np.array([SnowNLP(t).sentiments >= 0.5 if t.strip() else False for t in texts])
    return np.where(positive, LABELS.index("positive"), LABELS.index("negative")).astype(np.int64)
