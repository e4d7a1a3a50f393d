"""Hashed n-gram features of short texts: sublinear term counts, L2-normalised, with no vocabulary to ship.

The hashing trick keeps the shipped weights a fixed size (``n_features`` per
class) whatever the training vocabulary was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+")
_WEIBO_TOPIC = re.compile(r"\{%.*?%\}")


def _tweet(text: str) -> str:
    # Mentions and links carry no sentiment of their own; TweetEval writes mentions as @user.
    return _URL.sub("http", _MENTION.sub("@user", text))


def _weibo(text: str) -> str:
    # {%...%} is Weibo's markup of topics, links and places, not the writer's words (held-out accuracy +0.6 points).
    return _WEIBO_TOPIC.sub(" ", text)


@dataclass(frozen=True)
class NgramFeatures:
    """A hashed n-gram featuriser for one language.

    Attributes:
        language: ``en`` (word 1–2-grams and character 2–5-grams within words) or ``zh`` (character 1–3-grams).
        n_features: hash buckets per analyser.
    """

    language: str
    n_features: int

    def _vectorisers(self) -> list[HashingVectorizer]:
        common = dict(n_features=self.n_features, alternate_sign=False, norm=None, lowercase=True)
        if self.language == "en":
            return [
                HashingVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b|[^\w\s]", **common),
                HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common),
            ]
        if self.language == "zh":
            return [HashingVectorizer(analyzer="char", ngram_range=(1, 3), **common)]
        raise ValueError(f"no n-gram features for language {self.language!r}")

    @property
    def dim(self) -> int:
        """Returns the feature dimension (``n_features`` per analyser)."""
        return self.n_features * len(self._vectorisers())

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Returns a ``[len(texts), dim]`` sparse matrix of L2-normalised ``1 + log(count)`` features."""
        prepared = [(_tweet if self.language == "en" else _weibo)(t) for t in texts]
        counts = sparse.hstack([v.transform(prepared) for v in self._vectorisers()]).tocsr().astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)
        return normalize(counts, norm="l2", copy=False)
