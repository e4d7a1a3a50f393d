"""Which posts of a page an incremental text job has to (re)classify, by the hash it stored beside its result."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from text.embeddings import text_hash


@dataclass
class PageTriage:
    """A page of ``(id, text, stored hash, *extra)`` rows, sorted by what the job must do.

    Attributes:
        todo: ``(id, text, new hash, *extra)`` of posts whose text or model changed.
        blank: ids of posts now without text that still carry a result (to clear).
        unchanged: posts whose stored hash is current.
        without_text: posts with no text (blank ones included).
    """

    todo: list[tuple[Any, ...]] = field(default_factory=list)
    blank: list[Any] = field(default_factory=list)
    unchanged: int = 0
    without_text: int = 0


def triage(rows: Iterable[Sequence[Any]], model: str) -> PageTriage:
    """Returns the rows sorted into new or changed, blank and unchanged, against :func:`text.embeddings.text_hash` of ``model``."""
    page = PageTriage()
    for post_id, text, stored, *extra in rows:
        if not isinstance(text, str) or not text.strip():
            page.without_text += 1
            if stored is not None:
                page.blank.append(post_id)
            continue
        digest = text_hash(model, text)
        if digest == stored:
            page.unchanged += 1
        else:
            page.todo.append((post_id, text, digest, *extra))
    return page
