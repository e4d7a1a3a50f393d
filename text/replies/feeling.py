"""What a post feels and does: the section of the phrase table a reply to it draws from.

The feeling is one of :data:`text.replies.phrases.FEELINGS`, or a neutral speech
act (``neutral_question``, ``neutral_statement``), or ``crisis`` for a post that
mentions self-harm.  English posts take their emotion from the emotion
classifier (the graph's ``Post.emotion`` when the emotion job has run) and their
neutrality from the sentiment classifier; Chinese posts, which the English
emotion model does not read, take it from the table's cue words and, failing
those, from the Chinese sentiment head.  A sad or angry post that says it is let
down is answered as ``disappointment``.
"""

from __future__ import annotations

from dataclasses import dataclass

from text.emotion import EMOTIONS
from text.replies.phrases import PhraseTable
from text.replies.signals import ToneReader
from text.sentiment_data import LABELS

CRISIS = "crisis"
NEGATIVE_FEELINGS = ("disappointment", "anger", "sadness")
CUE_EMOTIONS = ("anger", "sadness", "joy", "optimism")
CLASSIFIER_TRUST = 0.6
"""Below this emotion score, a cue word in the post overrides the classifier's label."""
POLAR = 0.5
"""The Chinese head has no neutral class: a post is neutral when |P(positive) - P(negative)| is below this."""


@dataclass(frozen=True)
class Feeling:
    """The reading of one post.

    Attributes:
        language: the phrase table's language.
        section: ``crisis``, a feeling of :data:`text.replies.phrases.FEELINGS`, or a neutral act.
        question: whether the post asks something.
        evidence: how the section was chosen, for the suggestion's reason.
    """

    language: str
    section: str
    question: bool
    evidence: str

    @property
    def negative(self) -> bool:
        """Returns True for sadness, anger and disappointment (replies that comfort rather than cheer)."""
        return self.section in NEGATIVE_FEELINGS


@dataclass(frozen=True)
class PostTone:
    """What the graph already knows about a post's tone (None where a job has not written it)."""

    emotion: str | None = None
    emotion_score: float | None = None
    sentiment: str | None = None
    sentiment_score: float | None = None


def _cue_emotion(text: str, table: PhraseTable) -> tuple[str | None, list[str]]:
    hits = {name: table.cue(text, name) for name in CUE_EMOTIONS}
    best = max(CUE_EMOTIONS, key=lambda name: len(hits[name]))
    return (best, hits[best]) if hits[best] else (None, [])


def _english(text: str, table: PhraseTable, tone: PostTone, reader: ToneReader) -> tuple[str | None, str]:
    emotion, score = tone.emotion, tone.emotion_score
    where = "from the graph"
    if emotion is None:
        probs = reader.emotion([text])[0]
        emotion, score, where = EMOTIONS[int(probs.argmax())], float(probs.max()), "read from the text"
    sentiment = tone.sentiment or LABELS[int(reader.sentiment([text])[0].argmax())]
    cue, words = _cue_emotion(text, table)
    if sentiment == "neutral" and cue is None and not table.cue(text, "disappointment"):
        return None, "sentiment neutral, no feeling words"
    if cue is not None and cue != emotion and (score or 0.0) < CLASSIFIER_TRUST:
        return cue, f"'{words[0]}' (emotion {emotion} {score:.2f} is unsure)"
    return emotion, f"emotion {emotion} {score:.2f} {where}"


def _chinese(text: str, table: PhraseTable, tone: PostTone, reader: ToneReader) -> tuple[str | None, str]:
    cue, words = _cue_emotion(text, table)
    if cue is not None:
        return cue, f"'{words[0]}'"
    if tone.sentiment_score is not None:
        polarity = float(tone.sentiment_score)
    else:
        probs = reader.sentiment([text])[0]
        polarity = float(probs[LABELS.index("positive")] - probs[LABELS.index("negative")])
    if abs(polarity) < POLAR:
        return None, f"sentiment {polarity:+.2f}, no feeling words"
    return ("joy" if polarity > 0 else "sadness"), f"sentiment {polarity:+.2f}"


def read_feeling(text: str, table: PhraseTable, reader: ToneReader, tone: PostTone = PostTone()) -> Feeling:
    """Returns the section of ``table`` that a reply to ``text`` draws from, and why.

    Args:
        text: the post.
        table: the phrase table of the post's language.
        reader: the n-gram tone heads, for whatever the graph does not hold.
        tone: the post's stored emotion and sentiment.
    """
    question = bool(table.cue(text, "question"))
    crisis = table.cue(text, CRISIS)
    if crisis:
        return Feeling(table.language, CRISIS, question, f"mentions '{crisis[0]}'")
    read = _english if table.spaced else _chinese
    emotion, evidence = read(text, table, tone, reader)
    let_down = table.cue(text, "disappointment")
    if let_down and emotion in (None, "anger", "sadness"):
        return Feeling(table.language, "disappointment", question, f"'{let_down[0]}'; {evidence}")
    if emotion is None:
        return Feeling(table.language, "neutral_question" if question else "neutral_statement", question, evidence)
    return Feeling(table.language, emotion, question, evidence)

