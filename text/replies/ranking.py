"""Reply drafts for one post: composed and retrieved candidates, filtered for safety and ranked by fit.

Every candidate (:mod:`text.replies.compose`, and existing replies from the
graph that :mod:`jobs.reply.job` retrieves) is scored as

.. math::
    s = w_r \\cos(d, p) + w_f \\,\\mathrm{fit}(d) - w_c \\,\\mathrm{copied}(d, p)

where :math:`\\cos(d, p)` is the relevance of draft :math:`d` to post :math:`p`
under one multilingual encoder, :math:`\\mathrm{fit}` is how well the draft's
tone answers the post's feeling (the emotion and sentiment n-gram heads,
:mod:`text.replies.signals`), and :math:`\\mathrm{copied}` is the share of the
draft's n-grams that repeat the post.  A candidate is dropped when it is in
another language, repeats the post, insults, names a means of self-harm, or is
a retrieved reply that is not itself close to the post.  A composed draft whose
opening or body a better one already used is skipped, as is a retrieved reply
repeating a better one's text, so the three drafts differ.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from text.emotion import EMOTIONS
from text.replies.compose import HELP, compose
from text.replies.feeling import CRISIS, Feeling, PostTone, read_feeling
from text.replies.phrases import PhraseTable, phrase_table
from text.replies.retrieval import Candidate, Suggestion, dedupe_key, draft_text, is_quote
from text.replies.signals import ToneReader
from text.replies.topics import Encode, topic_phrases
from text.sentiment import language_of
from text.sentiment_data import LABELS

RETRIEVED = "retrieved"

FITTING_EMOTIONS: dict[str, tuple[str, ...]] = {
    "disappointment": ("sadness", "optimism"),
    "sadness": ("sadness", "optimism"),
    "anger": ("anger", "sadness"),
    "joy": ("joy", "optimism"),
    "optimism": ("optimism", "joy"),
    "neutral_question": ("joy", "optimism"),
    "neutral_statement": ("joy", "optimism"),
}
"""The emotions a fitting reply shows, by the post's feeling: sympathy for sadness and anger, cheer for good news."""

_WORDS = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class RankWeights:
    """How a draft's score is mixed, and when a candidate is dropped.

    Attributes:
        relevance: weight of the draft's cosine to the post.
        fit: weight of its tone fit.
        copied: penalty per unit share of the draft that repeats the post.
        max_copied: a draft repeating more of the post than this is dropped.
        min_reply_cos: a retrieved reply whose own cosine to the post (the graph's vectors) is below
            this is dropped: being a reply to a similar post is not enough.
    """

    relevance: float = 0.5
    fit: float = 0.5
    copied: float = 1.0
    max_copied: float = 0.5
    min_reply_cos: float = 0.5


@dataclass(frozen=True)
class Draft:
    """A candidate before ranking.

    Attributes:
        text: the draft.
        method: ``composed``, ``help`` or ``retrieved``.
        groups: two drafts sharing a group are near repeats: only the better one is kept.
        about: what the draft is, for the reason.
        source: the retrieved reply's ``Post.id``.
        parent: the post that reply answered.
    """

    text: str
    method: str
    groups: tuple[str, ...]
    about: str
    source: str | None = None
    parent: str | None = None


def _grams(text: str, spaced: bool) -> list[str]:
    if spaced:
        words = [w.lower() for w in _WORDS.findall(text)]
        return [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
    chars = [c for c in text if c.isalnum()]
    return ["".join(chars[i : i + 4]) for i in range(len(chars) - 3)]


def copied_share(draft: str, post: str, spaced: bool) -> float:
    """Returns the share of ``draft``'s word 3-grams (character 4-grams where unspaced) that occur in ``post``, in [0, 1]."""
    grams = _grams(draft, spaced)
    if not grams:
        return 0.0
    seen = set(_grams(post, spaced))
    return sum(g in seen for g in grams) / len(grams)


def unsafe(draft: str, table: PhraseTable) -> str | None:
    """Returns why ``draft`` may not be suggested (an insult, a means of self-harm), or None when it may."""
    insults = table.matches(draft, table.insults)
    if insults:
        return f"insult '{insults[0]}'"
    advice = table.matches(draft, table.self_harm_advice)
    return f"names '{advice[0]}'" if advice else None


def tone_fit(feeling: Feeling, emotion: np.ndarray, sentiment: np.ndarray) -> np.ndarray:
    """Returns ``[n]`` fits in [0, 1] of drafts to a post's feeling.

    Args:
        feeling: the post's reading.
        emotion: ``[n, 4]`` emotion probabilities of the drafts (read only for spaced languages).
        sentiment: ``[n, 3]`` sentiment probabilities of the drafts.
    """
    if feeling.section == CRISIS:
        return np.ones(len(sentiment), dtype=np.float32)
    polar = "negative" if feeling.negative else "positive"
    keep = [LABELS.index(polar), LABELS.index("neutral")]
    polarity = sentiment[:, keep].sum(axis=1)
    table = phrase_table(feeling.language)
    if not table.spaced:
        return polarity.astype(np.float32)
    shown = emotion[:, [EMOTIONS.index(e) for e in FITTING_EMOTIONS[feeling.section]]].sum(axis=1)
    return (0.5 * shown + 0.5 * polarity).astype(np.float32)


def retrieved_drafts(candidates: Sequence[Candidate], min_reply_cos: float) -> list[Draft]:
    """Returns the existing replies that may be offered: close to the post themselves, not retweets or quotes."""
    out = []
    for cand in candidates:
        text = draft_text(cand.text)
        if cand.reply_cos < min_reply_cos or is_quote(cand.text) or not text:
            continue
        about = f"reply to a similar post {cand.parent_id} (its own similarity {cand.reply_cos:.2f})"
        out.append(Draft(text, RETRIEVED, (dedupe_key(text),), about, cand.reply_id, cand.parent_id))
    return out


class ReplyDrafter:
    """Writes ranked reply drafts for posts in any language that has a phrase table.

    Args:
        encode: the multilingual encoder of relevance and topics.
        reader: the tone heads.
        weights: how drafts are scored and filtered.
    """

    def __init__(self, encode: Encode, reader: ToneReader, weights: RankWeights = RankWeights()) -> None:
        self.encode = encode
        self.reader = reader
        self.weights = weights

    def candidates(self, text: str, post_vector: np.ndarray, feeling: Feeling) -> list[Draft]:
        """Returns the composed candidates for a post whose ``[dim]`` vector under :attr:`encode` is ``post_vector``."""
        table = phrase_table(feeling.language)
        topics = [] if feeling.section == CRISIS else topic_phrases(text, table, post_vector, self.encode)
        out = []
        for c in compose(feeling, topics, table):
            about = "points to help" if c.method == HELP else f"{feeling.section.replace('_', ' ')} ({feeling.evidence})"
            if c.topic is not None:
                about += f", names '{c.topic}'"
            out.append(Draft(c.text, c.method, (c.opening,) if c.body is None else (c.opening, c.body), about))
        return out

    def draft(self, text: str, tone: PostTone = PostTone(), retrieved: Sequence[Candidate] = (), k: int = 3) -> list[Suggestion]:
        """Returns up to ``k`` drafts for the post ``text``, best first.

        Args:
            text: the post.
            tone: its stored emotion and sentiment, where the graph has them.
            retrieved: existing replies that may be offered (exclusions already applied).
        """
        table = phrase_table(language_of(text))
        feeling = read_feeling(text, table, self.reader, tone)
        post_vector = self.encode([text])[0]
        drafts = self.candidates(text, post_vector, feeling)
        if feeling.section != CRISIS:
            drafts += retrieved_drafts(retrieved, self.weights.min_reply_cos)
        return self.rank(text, post_vector, feeling, drafts, k)

    def rank(self, text: str, post_vector: np.ndarray, feeling: Feeling, drafts: Sequence[Draft], k: int) -> list[Suggestion]:
        """Scores ``drafts`` for the post and returns the best ``k`` admissible ones, no two sharing a group."""
        table = phrase_table(feeling.language)
        admissible, shares = [], []
        for d in drafts:
            if language_of(d.text) != feeling.language or unsafe(d.text, table) is not None:
                continue
            share = copied_share(d.text, text, table.spaced)
            if share <= self.weights.max_copied:
                admissible.append(d)
                shares.append(share)
        if not admissible:
            return []
        texts = [d.text for d in admissible]
        relevance = self.encode(texts) @ np.asarray(post_vector, dtype=np.float32)
        fit = tone_fit(feeling, self.reader.emotion(texts), self.reader.sentiment(texts))
        copied = np.array(shares)
        w = self.weights
        score = w.relevance * relevance + w.fit * fit - w.copied * copied
        out: list[Suggestion] = []
        groups: set[str] = set()
        for i in np.argsort(-score, kind="stable"):
            d = admissible[int(i)]
            if groups.intersection(d.groups):
                continue
            groups.update(d.groups)
            reason = f"{d.about}; relevance {relevance[i]:.2f}, tone fit {fit[i]:.2f}"
            out.append(
                Suggestion(len(out) + 1, d.text, round(float(score[i]), 6), d.method, d.source, d.parent, round(float(relevance[i]), 6), reason)
            )
            if len(out) == k:
                break
        return out
