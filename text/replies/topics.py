"""The post's topic, named as the post names it: the phrase of the post closest in meaning to the whole post.

Candidates are the post's own phrases: hashtags, titles in 《》 or quotes, and
word n-grams (one to three words, English) or character n-grams
(two to four characters, Chinese) that neither start nor end with a function
word (Chinese: hold none) nor hold a feeling cue.  Each candidate is embedded with the post and scored by
its cosine to it, in the manner of embedding-based keyphrase extraction
(Bennani-Smires et al., "Simple Unsupervised Keyphrase Extraction using Sentence
Embeddings", CoNLL 2018), with a small bonus per extra word, since a reply that
names "film critics" says more than one that names "critics".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import numpy as np

from text.replies.phrases import CUE_NAMES, PhraseTable

Encode = Callable[[list[str]], np.ndarray]
"""Texts -> ``[n, dim]`` unit vectors (a multilingual model: posts, phrases and drafts in any language)."""

LENGTH_BONUS = 0.03
"""Added to the cosine of a two-word (English) or four-character (Chinese) candidate, half of it for three characters."""
MAX_WORDS = 3
POSITION_BONUS = 0.05
"""Added to the first candidate's score, falling linearly to 0 at the post's end: posts tend to name their topic early."""
_LINKS = frozenset({"of", "and", "&"})
"""Function words a phrase may hold inside ("box office numbers", "rock and roll"), never at an edge."""

_SEGMENTS = re.compile(r"[.!?;:,()\[\]\"“”。！？；：，、（）…\n]+")
_WORD = re.compile(r"#?[^\W_][\w'’&+-]*", re.UNICODE)
_TITLE = re.compile(r"《([^》]{1,20})》|#([^#\s]{1,20})#|“([^”]{2,20})”")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9+-]*")
MAX_CHARACTERS = 4


def _verb_like(word: str, first: bool = False) -> bool:
    # Without a part-of-speech tagger: a past tense or an adverb after the first word ends a noun phrase
    # ("friend moved"), and a past tense rarely starts one ("charged me twice").
    if len(word) <= 4:
        return False
    return word.endswith("ed") or (not first and word.endswith("ly"))


def _single_word_cues(table: PhraseTable) -> frozenset[str]:
    return frozenset(c for name in CUE_NAMES for c in table.cues[name] if " " not in c)


def _english_candidates(text: str, table: PhraseTable) -> list[str]:
    cues = _single_word_cues(table)
    out: list[str] = []
    for segment in _SEGMENTS.split(text):
        words = [w for w in _WORD.findall(segment) if not w.startswith("@")]
        for size in range(1, MAX_WORDS + 1):
            for start in range(len(words) - size + 1):
                gram = [w.lstrip("#") for w in words[start : start + size]]
                lowered = [w.lower() for w in gram]
                if any(w in table.stopwords for w in lowered if w not in _LINKS) or lowered[-1] in _LINKS:
                    continue
                if lowered[0] in _LINKS or any(_verb_like(w) for w in lowered[1:]) or _verb_like(lowered[0], first=True):
                    continue
                if any(w in cues for w in lowered) or all(w.isdigit() for w in lowered):
                    continue
                if size == 1 and len(gram[0]) < 3:
                    continue
                out.append(" ".join(gram))
    return out


def _chinese_candidates(text: str, table: PhraseTable) -> list[str]:
    cues = [c for name in CUE_NAMES for c in table.cues[name]]
    out = [next(g for g in match.groups() if g) for match in _TITLE.finditer(text)]
    out += [w for w in _LATIN.findall(text) if len(w) >= 2]
    for segment in _SEGMENTS.split(text):
        for run in _HAN.findall(segment):
            for size in range(2, MAX_CHARACTERS + 1):
                for start in range(len(run) - size + 1):
                    gram = run[start : start + size]
                    if not any(w in gram for w in table.stopwords) and not any(c in gram for c in cues):
                        out.append(gram)
    return out


def _length(phrase: str, spaced: bool) -> float:
    return len(phrase.split()) if spaced else len(phrase) / 2.0


def topic_phrases(text: str, table: PhraseTable, post_vector: np.ndarray, encode: Encode, k: int = 2) -> list[str]:
    """Returns up to ``k`` phrases of ``text`` that name its topic, best first, none inside another.

    Args:
        text: the post.
        table: its language's phrase table.
        post_vector: ``[dim]`` unit vector of ``text`` from ``encode``.
        encode: the encoder that made ``post_vector``.
    """
    found = (_english_candidates if table.spaced else _chinese_candidates)(text, table)
    candidates = list(dict.fromkeys(found))
    if not candidates:
        return []
    similarity = encode(candidates) @ np.asarray(post_vector, dtype=np.float32)
    lowered = text.lower()
    bonus = np.array([
        LENGTH_BONUS * min(_length(c, table.spaced) - 1.0, 1.0) + POSITION_BONUS * (1.0 - max(lowered.find(c.lower()), 0) / len(text))
        for c in candidates
    ])
    order = np.argsort(-(similarity + bonus), kind="stable")
    chosen: list[str] = []
    for i in order:
        phrase = candidates[int(i)]
        lowered = phrase.lower()
        if any(lowered in c.lower() or c.lower() in lowered for c in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == k:
            break
    return chosen
