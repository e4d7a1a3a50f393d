"""Sentiment of posts (negative / neutral / positive) from weights shipped in ``text/weights/sentiment.npz``.

Each language has a head: logistic regressions over features (a packaged
sentence-embedding model's vectors, hashed n-grams) whose class probabilities
are mixed with fixed weights chosen on validation data.  English is trained on
SemEval-2017 (three classes); Chinese on weibo2018, which has only positive and
negative, so Chinese posts are never ``neutral``.  A text goes to the Chinese
head when at least half of its letters are CJK ideographs.  The weights are
plain arrays (``allow_pickle=False``); ``python -m text.train_sentiment``
reproduces them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from text.embeddings import MAX_CHARS, Encoder
from text.ngrams import NgramFeatures
from text.sentiment_data import LABELS

log = logging.getLogger(__name__)

WEIGHTS = Path(__file__).resolve().parent / "weights" / "sentiment.npz"
NGRAM = "ngram"
"""The head name of hashed n-gram features; every other head name is a :data:`text.models.MODELS` name."""

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def language_of(text: str) -> str:
    """Returns ``zh`` when at least half of the letters in ``text`` are CJK ideographs, else ``en``."""
    sample = text[:MAX_CHARS]
    letters = sum(ch.isalpha() for ch in sample)
    return "zh" if letters and 2 * len(_CJK.findall(sample)) >= letters else "en"


@dataclass(frozen=True)
class Head:
    """One language's classifier: per-feature logistic regressions mixed with ``mix`` weights.

    Attributes:
        features: feature names (:data:`NGRAM` or an embedding model name).
        weights: per feature ``(W [C, D], b [C])``; ``C == 1`` is a binary regression.
        scales: ``[D]`` factors applied to the n-gram features first, where the head has them
            (naive-Bayes log-count ratios, for the binary Chinese head).
        mix: per feature, the weight of its probabilities in the mixture (sums to 1).
        classes: the :data:`LABELS` id of each output class.
        n_features: hash buckets of the n-gram features.
    """

    language: str
    features: tuple[str, ...]
    weights: dict[str, tuple[np.ndarray, np.ndarray]]
    scales: dict[str, np.ndarray]
    mix: np.ndarray
    classes: np.ndarray
    n_features: int


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def class_probabilities(W: np.ndarray, b: np.ndarray, x: object) -> np.ndarray:
    """Returns ``[n, max(C, 2)]`` class probabilities of a logistic regression with ``W [C, D]``, ``b [C]`` on ``x [n, D]``."""
    z = np.asarray(x @ W.T.astype(np.float32), dtype=np.float64) + b
    if W.shape[0] == 1:
        p = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.stack([1.0 - p, p], axis=1)
    return _softmax(z)


@dataclass(frozen=True)
class Predictions:
    """Sentiment of ``n`` texts.

    Attributes:
        labels: ``negative``, ``neutral`` or ``positive`` per text (``neutral`` for blank text).
        scores: ``[n]`` float32 in [-1, 1]: P(positive) - P(negative).
        probabilities: ``[n, 3]`` float32 over :data:`LABELS`.
        languages: the head that classified each text (``en``, ``zh``; ``none`` for blank text).
    """

    labels: list[str]
    scores: np.ndarray
    probabilities: np.ndarray
    languages: list[str]


def load_heads(path: Path) -> dict[str, Head]:
    """Returns the heads stored in ``path`` by language (arrays only: ``allow_pickle=False``)."""
    with np.load(path, allow_pickle=False) as data:
        heads = {}
        for language in data["languages"].tolist():
            features = tuple(data[f"{language}.features"].tolist())
            weights = {f: (data[f"{language}.{f}.W"], data[f"{language}.{f}.b"].astype(np.float64)) for f in features}
            scales = {f: data[f"{language}.{f}.scale"].astype(np.float32) for f in features if f"{language}.{f}.scale" in data}
            heads[language] = Head(
                language, features, weights, scales, data[f"{language}.mix"].astype(np.float64),
                data[f"{language}.classes"].astype(np.int64), int(data[f"{language}.n_features"]),
            )
    return heads


class SentimentClassifier:
    """Classifies texts with the shipped weights.

    Args:
        path: the weights file.
        device: where embedding models run (``auto``, ``cpu``, ``cuda``).
        batch_size: texts per forward pass of an embedding model.
    """

    def __init__(self, path: Path = WEIGHTS, device: str = "auto", batch_size: int = 64) -> None:
        self.path = path
        self.heads = load_heads(path)
        self.device = device
        self.batch_size = batch_size
        self._encoders: dict[str, Encoder] = {}
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        self.name = f"sentiment-{digest}"
        log.info("sentiment classifier %s (%s)", self.name, ", ".join(f"{h.language}: {'+'.join(h.features)}" for h in self.heads.values()))

    @property
    def embedding_models(self) -> set[str]:
        """Returns the names of the embedding models some head reads."""
        return {f for head in self.heads.values() for f in head.features if f != NGRAM}

    def encoder(self, model: str) -> Encoder:
        """Returns the (lazily loaded) encoder of ``model``."""
        if model not in self._encoders:
            self._encoders[model] = Encoder(model, device=self.device, batch_size=self.batch_size)
        return self._encoders[model]

    def _completed(self, model: str, column: Sequence[np.ndarray | None], rows: list[int], texts: list[str]) -> np.ndarray:
        """Returns ``[len(rows), dim]`` vectors of ``rows``: the given ones, and the missing ones encoded now."""
        missing = [i for i in rows if column[i] is None]
        encoded = dict(zip(missing, self.encoder(model).encode([texts[i] for i in missing]))) if missing else {}
        return np.stack([encoded[i] if column[i] is None else np.asarray(column[i], dtype=np.float32) for i in rows])

    def _head_probabilities(
        self, head: Head, texts: list[str], vectors: Mapping[str, np.ndarray | None]
    ) -> np.ndarray:
        probs = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
        for feature, weight in zip(head.features, head.mix):
            if feature == NGRAM:
                x = NgramFeatures(head.language, head.n_features).transform([t[:MAX_CHARS] for t in texts])
                if feature in head.scales:
                    x = x.multiply(head.scales[feature]).tocsr()
            else:
                given = vectors.get(feature)
                x = given if given is not None else self.encoder(feature).encode(texts)
            W, b = head.weights[feature]
            probs[:, head.classes] += weight * class_probabilities(W, b, x)
        return probs

    def predict(
        self, texts: Sequence[str], vectors: Mapping[str, Sequence[np.ndarray | None]] | None = None
    ) -> Predictions:
        """Classifies ``texts``.

        Args:
            texts: any strings; blank ones come out ``neutral`` with score 0.
            vectors: per embedding model, an already computed unit vector per text (or None
                where there is none); the classifier encodes whatever is missing.

        Returns:
            Labels, scores in [-1, 1], ``[n, 3]`` probabilities and languages.
        """
        texts = [t if isinstance(t, str) else "" for t in texts]
        probs = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
        probs[:, LABELS.index("neutral")] = 1.0
        languages = ["none" if not t.strip() else language_of(t) for t in texts]
        for language, head in self.heads.items():
            rows = [i for i, lang in enumerate(languages) if lang == language]
            if not rows:
                continue
            given = {
                model: self._completed(model, (vectors or {})[model], rows, texts)
                for model in head.features
                if (vectors or {}).get(model) is not None
            }
            probs[rows] = self._head_probabilities(head, [texts[i] for i in rows], given)
        scores = (probs[:, LABELS.index("positive")] - probs[:, LABELS.index("negative")]).astype(np.float32)
        return Predictions([LABELS[i] for i in probs.argmax(axis=1)], scores, probs.astype(np.float32), languages)
