"""Phrase tables: the per-language data the composed drafts, the feeling cues and the safety filter read.

A table is a TOML file in ``text/replies/phrases/`` named by its language
(``en.toml``, ``zh.toml``).  Adding a language is adding a file: nothing in the
code branches on the language beyond how cues match (word boundaries for
languages written with spaces, substrings for Chinese).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PHRASES = Path(__file__).resolve().parent / "phrases"

FEELINGS = ("disappointment", "anger", "sadness", "joy", "optimism")
"""The feelings a table has openings and bodies for, besides the neutral speech acts."""

NEUTRAL_ACTS = ("neutral_question", "neutral_statement")
SECTIONS = (*FEELINGS, *NEUTRAL_ACTS)
CUE_NAMES = ("crisis", *FEELINGS, "question")


@dataclass(frozen=True)
class PhraseTable:
    """One language's phrases.

    Attributes:
        language: the table's language code (``en``, ``zh``).
        stopwords: words a topic phrase neither starts nor ends with (``en``) or never is (``zh``).
        cues: per cue name (:data:`CUE_NAMES`), the lower-case words or phrases that signal it.
        openings: per section (:data:`SECTIONS`), the acknowledgements a draft starts with.
        bodies: per section, templates about the topic, with ``{topic}`` / ``{Topic}``.
        help: drafts for a post that mentions self-harm.
        insults: words that disqualify a draft.
        self_harm_advice: words that disqualify a draft as advice on self-harm.
    """

    language: str
    stopwords: frozenset[str]
    cues: dict[str, tuple[str, ...]]
    openings: dict[str, tuple[str, ...]]
    bodies: dict[str, tuple[str, ...]]
    help: tuple[str, ...]
    insults: tuple[str, ...]
    self_harm_advice: tuple[str, ...]

    @property
    def spaced(self) -> bool:
        """Returns True when the language separates words with spaces (cues match on word boundaries)."""
        return self.language != "zh"

    def matches(self, text: str, phrases: tuple[str, ...]) -> list[str]:
        """Returns the phrases of ``phrases`` that occur in ``text`` (lower-cased; on word boundaries where spaced)."""
        lowered = text.lower()
        if not self.spaced:
            return [p for p in phrases if p in lowered]
        return [p for p in phrases if _pattern(p).search(lowered)]

    def cue(self, text: str, name: str) -> list[str]:
        """Returns the cue phrases of ``name`` found in ``text``."""
        return self.matches(text, self.cues[name])


@cache
def _pattern(phrase: str) -> re.Pattern[str]:
    # Punctuation cues ("?") have no word boundary to anchor on.
    if not phrase[0].isalnum():
        return re.compile(re.escape(phrase))
    return re.compile(r"(?<![\w'])" + re.escape(phrase) + r"(?![\w'])")


def _strings(path: Path, data: dict, key: str) -> tuple[str, ...]:
    values = data.get(key)
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise ValueError(f"{path}: {key} must be a non-empty list of non-blank strings")
    return tuple(values)


def _section(path: Path, data: dict, table: str, names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    section = data.get(table)
    if not isinstance(section, dict):
        raise ValueError(f"{path}: missing table [{table}]")
    return {name: _strings(path, section, name) for name in names}


def _check_templates(path: Path, bodies: dict[str, tuple[str, ...]]) -> None:
    for section, templates in bodies.items():
        for template in templates:
            if "{topic}" not in template and "{Topic}" not in template:
                raise ValueError(f"{path}: bodies.{section} {template!r} does not name the {{topic}}")


def load_table(path: Path) -> PhraseTable:
    """Reads and checks one phrase table.

    Raises:
        ValueError: naming the file and the missing or malformed field.
    """
    with path.open("rb") as handle:
        try:
            data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: {err}") from None
    if data.get("language") != path.stem:
        raise ValueError(f"{path}: language must be {path.stem!r}, the file's name")
    bodies = _section(path, data, "bodies", SECTIONS)
    _check_templates(path, bodies)
    safety = data.get("safety", {})
    return PhraseTable(
        language=path.stem,
        stopwords=frozenset(w.lower() for w in _strings(path, data, "stopwords")),
        cues={name: tuple(c.lower() for c in cues) for name, cues in _section(path, data, "cues", CUE_NAMES).items()},
        openings=_section(path, data, "openings", SECTIONS),
        bodies=bodies,
        help=_strings(path, data.get("help", {}), "drafts"),
        insults=tuple(w.lower() for w in _strings(path, safety, "insults")),
        self_harm_advice=tuple(w.lower() for w in _strings(path, safety, "self_harm_advice")),
    )


@cache
def phrase_table(language: str) -> PhraseTable:
    """Returns the shipped table of ``language``.

    Raises:
        ValueError: when no table ships for ``language``.
    """
    path = PHRASES / f"{language}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PHRASES.glob("*.toml")))
        raise ValueError(f"no phrase table for language {language!r}; known: {known}")
    return load_table(path)


def languages() -> tuple[str, ...]:
    """Returns the languages that have a phrase table."""
    return tuple(sorted(p.stem for p in PHRASES.glob("*.toml")))
