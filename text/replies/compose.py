"""Composed reply drafts: an opening for the post's feeling and a body that names its topic, from the phrase table.

For a post read as ``feeling`` (:mod:`text.replies.feeling`) with topic phrases
``topics`` (:mod:`text.replies.topics`), the candidates are every opening of the
feeling's section followed by every body of it filled with each topic: the
ranker (:mod:`text.replies.ranking`) picks among them.  A post without a topic
phrase gets openings alone; a post in crisis gets the table's help drafts and
nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from text.replies.feeling import CRISIS, Feeling
from text.replies.phrases import PhraseTable

COMPOSED = "composed"
HELP = "help"


@dataclass(frozen=True)
class Composed:
    """One composed draft.

    Attributes:
        text: the draft.
        method: ``composed``, or ``help`` for a post in crisis.
        opening: the opening it starts with.
        body: the body template it goes on with, or None (two drafts sharing either are near repeats).
        topic: the topic phrase it names, or None.
    """

    text: str
    method: str
    opening: str
    body: str | None
    topic: str | None


def _fill(template: str, topic: str) -> str:
    capital = topic[:1].upper() + topic[1:]
    return template.replace("{Topic}", capital).replace("{topic}", topic)


def compose(feeling: Feeling, topics: list[str], table: PhraseTable) -> list[Composed]:
    """Returns the composed candidates for a post.

    Args:
        feeling: how the post reads (its section of ``table``).
        topics: its topic phrases, best first (may be empty).
        table: the phrase table of its language.
    """
    if feeling.section == CRISIS:
        return [Composed(text, HELP, text, None, None) for text in table.help]
    joiner = " " if table.spaced else ""
    openings = table.openings[feeling.section]
    if not topics:
        return [Composed(opening, COMPOSED, opening, None, None) for opening in openings]
    return [
        Composed(opening + joiner + _fill(body, topic), COMPOSED, opening, body, topic)
        for topic in topics
        for opening in openings
        for body in table.bodies[feeling.section]
    ]
