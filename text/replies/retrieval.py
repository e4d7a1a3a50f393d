"""Existing replies as drafts: the retrieval candidates, and their ranking by similarity and sentiment fit alone.

Pure logic, no I/O: :mod:`jobs.reply.job` reads the candidates (existing replies to
posts similar to the one being answered, already stripped of everything that
may not be suggested) and hands them here.  :func:`rank_candidates` is the
retrieval-only ranking that the reply evaluation keeps as the ``retrieval``
method beside the drafts of :mod:`text.replies.ranking`.

A candidate's similarity mixes how close the post it answered is to the
conversation (``parent_cos``, cosine to the context vector) and how close the
reply itself is to the post being answered (``reply_cos``).  When the graph
holds sentiment (``Post.sentiment`` / ``Post.sentiment_score`` from
``python -m jobs sentiment``), the score also rewards a fitting tone: good news
is answered warmly (target score +1), a negative post gently (target +0.5: an
empathetic reply is not necessarily cheerful), and a negative reply is never
suggested to a negative post.  A neutral post has no tone preference.  Without
sentiment the ranking is similarity only (method ``retrieval``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RETRIEVAL = "retrieval"
RETRIEVAL_SENTIMENT = "retrieval+sentiment"

_QUOTE = re.compile(r"^\s*(?:RT\s+@\w+|[“\"]\s*@\w+\s*:)")
_MENTIONS = re.compile(r"^(?:\s*[@＠]\w+[:,]?)+\s*")
_URLS = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")

TONE_TARGET = {"positive": 1.0, "negative": 0.5}
"""The ``sentiment_score`` a good reply to a post of this sentiment aims at; neutral posts have none."""


@dataclass(frozen=True)
class Weights:
    """How the score is mixed.

    Attributes:
        parent: share of the similarity that comes from the answered post (the rest from the reply itself).
        tone: share of the score that comes from sentiment fit, when the post has a tone preference.
        thread: weight of the mean of the thread's earlier posts in the context vector (the post itself
            weighs 1); 0.5 came out slightly closer to the real replies on RumourEval than 0 (README).
    """

    parent: float = 0.5
    tone: float = 0.25
    thread: float = 0.5


@dataclass(frozen=True)
class Candidate:
    """An existing reply that may be suggested.

    Attributes:
        reply_id: the reply's ``Post.id`` (the suggestion's source).
        parent_id: the post it answered.
        text: the reply's text as stored.
        parent_cos: cosine between the answered post and the context vector, in [-1, 1].
        reply_cos: cosine between the reply and the post being answered, in [-1, 1].
        sentiment: the reply's ``Post.sentiment`` or None.
        sentiment_score: the reply's ``Post.sentiment_score`` in [-1, 1] or None.
    """

    reply_id: str
    parent_id: str
    text: str
    parent_cos: float
    reply_cos: float
    sentiment: str | None = None
    sentiment_score: float | None = None


@dataclass(frozen=True)
class Suggestion:
    """A ranked reply draft.

    Attributes:
        rank: 1 for the best.
        text: the draft.
        score: the ranking score.
        method: how the draft was made (``composed``, ``help``, ``retrieved``; ``retrieval`` or
            ``retrieval+sentiment`` from :func:`rank_candidates`).
        source: the ``Post.id`` of the existing reply the draft comes from; None for a written draft.
        parent: the ``Post.id`` of the post that reply answered; None for a written draft.
        similarity: the similarity part of the score (relevance to the post, for ranked drafts).
        reason: a human-readable explanation.
    """

    rank: int
    text: str
    score: float
    method: str
    source: str | None
    parent: str | None
    similarity: float
    reason: str


def is_quote(text: str) -> bool:
    """Returns True for a retweet (``RT @a …``) or a quote (``“@a: …”``): it restates another tweet, it answers nothing."""
    return bool(_QUOTE.match(text))


def draft_text(text: str) -> str:
    """Returns ``text`` without its leading @-mentions, which address the author of another post."""
    return _MENTIONS.sub("", text).strip()


def dedupe_key(text: str) -> str:
    """Returns a normalised form of a draft (no links, lower case, single spaces) for dropping repeats."""
    return _SPACE.sub(" ", _URLS.sub("", text)).strip().lower()


def context_vector(post: np.ndarray, thread: np.ndarray | None, thread_weight: float) -> np.ndarray:
    """Returns the ``[dim]`` unit vector that stands for the conversation.

    Args:
        post: ``[dim]`` unit vector of the post being answered.
        thread: ``[n, dim]`` vectors of its earlier posts through ``REPLY_TO`` (or None / empty).
        thread_weight: weight of the thread's mean against the post's 1.
    """
    vector = np.asarray(post, dtype=np.float32)
    if thread is not None and len(thread) and thread_weight > 0:
        mean = np.asarray(thread, dtype=np.float32).mean(axis=0)
        vector = vector + thread_weight * mean / max(float(np.linalg.norm(mean)), 1e-12)
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def tone_fit(post_sentiment: str | None, reply_score: float | None) -> float | None:
    """Returns how well a reply's tone fits the post, in [0, 1], or None when the post has no tone preference.

    A reply without a sentiment score counts as halfway (0.5 away from the target's extremes).
    """
    target = TONE_TARGET.get(post_sentiment or "")
    if target is None:
        return None
    if reply_score is None:
        return 0.5
    return 1.0 - abs(target - float(reply_score)) / 2.0


def rank_candidates(
    candidates: Sequence[Candidate], post_sentiment: str | None, k: int = 3, weights: Weights = Weights()
) -> list[Suggestion]:
    """Ranks candidate replies for one post and keeps the best ``k`` distinct drafts.

    Args:
        candidates: replies that may be suggested (exclusions already applied).
        post_sentiment: the answered post's ``Post.sentiment``, or None when it has none.
        k: how many suggestions at most.
        weights: how similarity and tone are mixed.

    Returns:
        Up to ``k`` suggestions, best first, ranks 1..k; retweets, quotes and drafts that repeat a better
        one's text are dropped.
    """
    use_tone = post_sentiment in TONE_TARGET
    scored: list[tuple[float, float, float | None, Candidate]] = []
    for cand in candidates:
        if (post_sentiment == "negative" and cand.sentiment == "negative") or is_quote(cand.text):
            continue
        similarity = weights.parent * cand.parent_cos + (1.0 - weights.parent) * cand.reply_cos
        fit = tone_fit(post_sentiment, cand.sentiment_score) if use_tone else None
        score = similarity if fit is None else (1.0 - weights.tone) * similarity + weights.tone * fit
        scored.append((score, similarity, fit, cand))
    scored.sort(key=lambda item: (-item[0], item[3].reply_id))
    method = RETRIEVAL_SENTIMENT if use_tone else RETRIEVAL
    out: list[Suggestion] = []
    seen: set[str] = set()
    for score, similarity, fit, cand in scored:
        text = draft_text(cand.text)
        key = dedupe_key(text)
        if not key or key in seen:
            continue
        seen.add(key)
        reason = f"reply to a similar post {cand.parent_id} (similarity {similarity:.2f})"
        if fit is not None:
            reason += f"; tone fits a {post_sentiment} post ({cand.sentiment or 'unscored'} reply, fit {fit:.2f})"
        out.append(Suggestion(len(out) + 1, text, round(score, 6), method, cand.reply_id, cand.parent_id, round(similarity, 6), reason))
        if len(out) == k:
            break
    return out
