"""The NRC Word-Emotion Association Lexicon as an emotion baseline: the emotion with the most lexicon words.

An opt-in baseline of ``python -m jobs evaluate emotion``, not what the jobs write
(that is :class:`text.emotion.EmotionClassifier`).  The lexicon (Mohammad &
Turney 2013, English only) ships as JSON inside the ``nrclex`` package, installed
with ``pip install 'sociograph[lexicon]'``; it is read directly, without TextBlob
or NLTK data.  The NRC's terms allow research and non-commercial use only, which
is why it is not a default dependency.  ``optimism`` is NRC's ``anticipation``,
the nearest of its categories.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

from text.emotion import EMOTIONS

_NRC_CATEGORY = {"anger": "anger", "joy": "joy", "anticipation": "optimism", "sadness": "sadness"}
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@lru_cache(maxsize=1)
def lexicon() -> dict[str, np.ndarray]:
    """Returns each lexicon word mapped to a 0/1 vector over :data:`EMOTIONS` (words with none of them left out).

    Raises:
        ModuleNotFoundError: naming the extra to install.
    """
    try:
        data = resources.files("nrclex.data")
    except ModuleNotFoundError:
        raise ModuleNotFoundError("the NRC lexicon baseline needs 'nrclex': pip install 'sociograph[lexicon]'") from None
    with data.joinpath("nrc_en.json").open("r", encoding="utf-8") as handle:
        raw: dict[str, list[str]] = json.load(handle)
    table = {}
    for word, categories in raw.items():
        vector = np.zeros(len(EMOTIONS), dtype=np.float32)
        for category in categories:
            if category in _NRC_CATEGORY:
                vector[EMOTIONS.index(_NRC_CATEGORY[category])] = 1.0
        if vector.any():
            table[word] = vector
    return table


def _lookup(table: dict[str, np.ndarray], word: str) -> np.ndarray | None:
    # The lexicon lists base forms; plural, third-person and past-tense endings are the commonest misses.
    for candidate in (word, word.removesuffix("s"), word.removesuffix("d"), word.removesuffix("ed")):
        found = table.get(candidate)
        if found is not None:
            return found
    return None


def emotion_counts(texts: Sequence[str], max_chars: int = 20_000) -> np.ndarray:
    """Returns ``[len(texts), 4]`` float32 counts of lexicon words per emotion (columns in :data:`EMOTIONS` order)."""
    table = lexicon()
    out = np.zeros((len(texts), len(EMOTIONS)), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in _WORD.findall((text or "")[:max_chars].lower()):
            found = _lookup(table, word)
            if found is not None:
                out[row] += found
    return out


def lexicon_labels(texts: Sequence[str], fallback: int) -> np.ndarray:
    """Returns ``[len(texts)]`` class ids into :data:`EMOTIONS`: the emotion with the most lexicon words (ties
    in that order), or ``fallback`` for a text with none of them."""
    counts = emotion_counts(texts)
    return np.where(counts.any(axis=1), counts.argmax(axis=1), fallback).astype(np.int64)
