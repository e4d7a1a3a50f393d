"""The project-written reply set (``jobs/reply/data/posts.jsonl``, CC0): short posts with their language, emotion and topic.

Each line is ``{"id", "language", "emotion", "act", "text", "topic"}``: language
``en`` or ``zh``; emotion one of ``anger``, ``joy``, ``optimism``, ``sadness``,
``neutral``; act ``statement`` or ``question``; ``topic`` the phrases of the text
that name what it is about.  :func:`score_set` says whether the drafts for
these posts answer them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from text.emotion import EMOTIONS
from text.replies.ranking import FITTING_EMOTIONS
from text.replies.retrieval import Suggestion
from text.sentiment import language_of
from text.sentiment_data import LABELS

REPLY_SET = Path(__file__).resolve().parent / "data" / "posts.jsonl"
SET_EMOTIONS = ("anger", "joy", "optimism", "sadness", "neutral")
SET_LANGUAGES = ("en", "zh")
FIELDS = ("id", "language", "emotion", "act", "text", "topic")


@dataclass(frozen=True)
class SetPost:
    """One post of the set."""

    id: str
    language: str
    emotion: str
    act: str
    text: str
    topic: tuple[str, ...]


def _field(path: Path, line: int, row: dict, name: str, allowed: Sequence[str] | None = None) -> str:
    value = row.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{path}:{line}: field {name!r} must be a non-blank string")
    if allowed is not None and value not in allowed:
        raise ValueError(f"{path}:{line}: field {name!r} is {value!r}, not one of {', '.join(allowed)}")
    return value


def read_set(path: Path = REPLY_SET) -> list[SetPost]:
    """Reads and checks the set.

    Raises:
        ValueError: naming the file, line and field of the first bad row.
    """
    posts: list[SetPost] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{number}: not JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{number}: a row must be a JSON object")
        post_id = _field(path, number, row, "id")
        if post_id in seen:
            raise ValueError(f"{path}:{number}: field 'id' repeats {post_id!r}")
        seen.add(post_id)
        text = _field(path, number, row, "text")
        topic = row.get("topic")
        if not isinstance(topic, list) or not topic or not all(isinstance(t, str) and t.lower() in text.lower() for t in topic):
            raise ValueError(f"{path}:{number}: field 'topic' must list phrases of the text")
        posts.append(
            SetPost(
                post_id, _field(path, number, row, "language", SET_LANGUAGES), _field(path, number, row, "emotion", SET_EMOTIONS),
                _field(path, number, row, "act", ("statement", "question")), text, tuple(topic),
            )
        )
    return posts


def fitting_section(post: SetPost) -> str:
    """Returns the phrase-table section whose fitting emotions a reply to ``post`` should show."""
    if post.emotion == "neutral":
        return "neutral_question" if post.act == "question" else "neutral_statement"
    return post.emotion


def answers_feeling(post: SetPost, emotion: np.ndarray, sentiment: np.ndarray) -> bool:
    """Returns whether a draft fits ``post``'s labelled feeling, by the full classifiers.

    Args:
        emotion: ``[4]`` emotion probabilities of the draft (read for English).
        sentiment: ``[3]`` sentiment probabilities of the draft (read for Chinese, which has no emotion model).
    """
    if post.language == "en":
        return EMOTIONS[int(emotion.argmax())] in FITTING_EMOTIONS[fitting_section(post)]
    wanted = "negative" if post.emotion in ("anger", "sadness") else "positive"
    return LABELS[int(sentiment.argmax())] == wanted


def names_topic(post: SetPost, draft: str) -> bool:
    """Returns whether ``draft`` names one of ``post``'s topic phrases."""
    lowered = draft.lower()
    return any(t.lower() in lowered for t in post.topic)


def score_set(
    posts: Sequence[SetPost],
    drafts: Mapping[str, Sequence[Suggestion]],
    encode: Callable[[list[str]], np.ndarray],
    emotion: Callable[[list[str]], np.ndarray],
    sentiment: Callable[[list[str]], np.ndarray],
) -> dict:
    """Scores the top draft of each post of the set, overall and per language.

    Args:
        drafts: suggestions by post id, best first.
        encode: the relevance encoder (texts -> unit vectors).
        emotion: texts -> ``[n, 4]`` emotion probabilities (the full classifier).
        sentiment: texts -> ``[n, 3]`` sentiment probabilities (the full classifier).

    Returns:
        ``{"all": metrics, "en": metrics, "zh": metrics}``, metrics being ``posts``, ``with_drafts``,
        ``relevance`` (mean cosine of the top draft to its post; 0 without one), ``names_topic``,
        ``emotion_fit``, ``language_match`` and ``others_posts`` (the share of top drafts that are an
        existing post of someone else); each share is over every post of the group.
    """
    tops = {p.id: drafts[p.id][0] for p in posts if drafts.get(p.id)}
    answered = [p for p in posts if p.id in tops]
    texts = [tops[p.id].text for p in answered]
    if answered:
        relevance = np.sum(encode(texts) * encode([p.text for p in answered]), axis=1)
        emotions, sentiments = emotion(texts), sentiment(texts)
    rows = {
        p.id: {
            "relevance": float(relevance[i]),
            "names_topic": names_topic(p, texts[i]),
            "emotion_fit": answers_feeling(p, emotions[i], sentiments[i]),
            "language_match": language_of(texts[i]) == p.language,
            "others_posts": tops[p.id].source is not None,
        }
        for i, p in enumerate(answered)
    }
    out = {}
    for group in ("all", *SET_LANGUAGES):
        members = [p for p in posts if group in ("all", p.language)]
        metrics: dict[str, float] = {"posts": len(members), "with_drafts": sum(p.id in rows for p in members)}
        for name in ("relevance", "names_topic", "emotion_fit", "language_match", "others_posts"):
            values = [float(rows[p.id][name]) if p.id in rows else 0.0 for p in members]
            metrics[name] = round(float(np.mean(values)), 4) if values else 0.0
        out[group] = metrics
    return out
