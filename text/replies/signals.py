"""The tone of short texts from the n-gram heads of the shipped emotion and sentiment weights.

Reply drafts are a sentence or two, and ``reply --post`` must answer within
seconds, so the ranker reads tone from the two classifiers' hashed n-gram
logistic regressions alone: no transformer is loaded.  Those regressions are
part of the shipped, sha256-pinned files (``text/weights/emotion.npz``,
``text/weights/sentiment.npz``) and were trained on the same splits as the full
classifiers.  The reply evaluation judges the chosen drafts with the full
:class:`text.emotion.EmotionClassifier` instead, so the figure it reports is not
the ranker grading itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graph.digest import sha256_of
from text.embeddings import MAX_CHARS
from text.emotion import EMOTIONS, WEIGHTS as EMOTION_WEIGHTS, WEIGHTS_SHA256, Adapter
from text.ngrams import NgramFeatures
from text.sentiment import NGRAM, WEIGHTS as SENTIMENT_WEIGHTS, class_probabilities, language_of, load_heads
from text.sentiment_data import LABELS


class ToneReader:
    """Emotion (English) and sentiment (per language) probabilities of texts from n-gram features.

    Raises:
        ValueError: when the emotion weights are not the pinned file.
    """

    def __init__(self) -> None:
        found = sha256_of(EMOTION_WEIGHTS)
        if found != WEIGHTS_SHA256:
            raise ValueError(f"{EMOTION_WEIGHTS}: sha256 {found} is not the pinned {WEIGHTS_SHA256}")
        adapter = Adapter.load(EMOTION_WEIGHTS)
        self._emotion = adapter.ngram
        self._emotion_features = NgramFeatures("en", adapter.ngram_features)
        self._sentiment = {
            language: head for language, head in load_heads(SENTIMENT_WEIGHTS).items() if NGRAM in head.features
        }

    def emotion(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``[n, 4]`` probabilities over :data:`text.emotion.EMOTIONS` (meaningful for English only)."""
        if not texts:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        W, b = self._emotion
        x = self._emotion_features.transform([t[:MAX_CHARS] for t in texts])
        return class_probabilities(W, b, x).astype(np.float32)

    def sentiment(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``[n, 3]`` probabilities over :data:`text.sentiment_data.LABELS`, by each text's language head.

        A language without an n-gram head leaves its texts neutral.
        """
        probs = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
        probs[:, LABELS.index("neutral")] = 1.0
        languages = [language_of(t) for t in texts]
        for language, head in self._sentiment.items():
            rows = [i for i, lang in enumerate(languages) if lang == language]
            if not rows:
                continue
            x = NgramFeatures(language, head.n_features).transform([texts[i][:MAX_CHARS] for i in rows])
            if NGRAM in head.scales:
                x = x.multiply(head.scales[NGRAM]).tocsr()
            W, b = head.weights[NGRAM]
            probs[rows] = 0.0
            probs[np.ix_(rows, head.classes)] = class_probabilities(W, b, x)
        return probs.astype(np.float32)
