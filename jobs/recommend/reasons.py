"""Human-readable reasons for recommended posts, from the part of the score that carried each one.

:class:`Evidence` holds, per recommended pair, what each part of the fused score contributed
(:mod:`jobs.recommend.fusion`) and what backs it up.  :func:`reasons` names the part that
contributed most, when it has something specific to say:

- the social part: ``liked by N people you follow``, or ``liked by N people in your network``
  when only people two follows away did;
- the text part: ``new post on <tag> you write about`` for a post nobody has interacted with
  yet, ``matches your profile`` for a user with no interaction;
- the collaborative part: ``because you liked "<snippet>"``, the user's liked post closest to
  the recommended one in the collaborative model's item space.

Otherwise the next specific fact that holds (followees, a close liked post, a shared tag:
``on <tag>, which you write about``), and ``popular with people like you`` only when none does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from jobs.recommend.lightgcn import csr_rows

SIMILAR_AT = 0.5
GENERIC = "popular with people like you"
"""The reason given when nothing more specific holds (``evaluate recommend`` counts its share)."""
SNIPPET = 40
PAIR_SLICE = 131_072


def pair_counts(users: np.ndarray, items: np.ndarray, follow_indptr: np.ndarray, follow_indices: np.ndarray,
                known_codes: np.ndarray, num_items: int) -> np.ndarray:
    """Returns ``[P]`` int64: for each pair ``(users[p], items[p])``, how many followees of the user know the item.

    ``known_codes`` is the sorted array of ``user * num_items + item`` codes of every interaction.
    """
    indptr, followees = csr_rows(follow_indptr, follow_indices, users)
    per_pair = np.diff(indptr)
    codes = followees * num_items + np.repeat(items, per_pair)
    pos = np.searchsorted(known_codes, codes).clip(max=max(known_codes.size - 1, 0))
    hit = known_codes[pos] == codes if known_codes.size else np.zeros(codes.size, dtype=bool)
    counts = np.zeros(users.size, dtype=np.int64)
    np.add.at(counts, np.repeat(np.arange(users.size), per_pair), hit.astype(np.int64))
    return counts


def nearest_known(users: np.ndarray, items: np.ndarray, known_indptr: np.ndarray, known_indices: np.ndarray,
                  item_x: torch.Tensor, has_text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(nearest [P] int64, similarity [P] float32)``: each pair's closest known item by text cosine.

    ``-1`` and ``-inf`` where the user knows no item with text or the item has none.
    """
    indptr, known = csr_rows(known_indptr, known_indices, users)
    per_pair = np.diff(indptr)
    owner = np.repeat(np.arange(users.size), per_pair)
    valid = has_text[known] & has_text[items[owner]]
    unit = torch.nn.functional.normalize(item_x, dim=1)
    sims = np.full(known.size, -np.inf, dtype=np.float32)
    # Slices bound the gathered vectors: a chunk of 2,048 LastFM users pairs 20 recommendations
    # with ~50 known items each, 2 million rows, 6 GB of 384-d float32 if gathered at once.
    rows = np.flatnonzero(valid)
    for lo in range(0, rows.size, PAIR_SLICE):
        part = rows[lo : lo + PAIR_SLICE]
        left = unit[torch.from_numpy(items[owner[part]])]
        right = unit[torch.from_numpy(known[part])]
        sims[part] = (left * right).sum(1).numpy()
    best = np.full(users.size, -np.inf, dtype=np.float32)
    np.maximum.at(best, owner, sims)
    nearest = np.full(users.size, -1, dtype=np.int64)
    is_best = (sims == best[owner]) & np.isfinite(sims)
    # The first known item reaching the maximum wins: reversed assignment keeps the earliest.
    nearest[owner[is_best][::-1]] = known[is_best][::-1]
    return nearest, best


def snippet(text: str | None, fallback: str) -> str:
    """Returns the first ``SNIPPET`` characters of ``text`` on one line (with an ellipsis), or ``fallback``."""
    if not text or not text.strip():
        return fallback
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1].rstrip() + "…"


@dataclass
class Evidence:
    """What backs each recommended pair ``p``; every field is ``[P]``.

    Attributes:
        cf, text, social: the weighted contribution of each part to the fused score.
        followees: how many people the user follows interacted with the post.
        network: how many people within two follows of the user did (what the social part counts).
        nearest, similarity: the user's liked post closest to it in item space (``-1``, ``-inf`` if none).
        new_post: nobody has interacted with the post yet; ``user_known``: the user has interactions.
        topic: the post's tag the user cares about most, or None.
    """

    cf: np.ndarray
    text: np.ndarray
    social: np.ndarray
    followees: np.ndarray
    network: np.ndarray
    nearest: np.ndarray
    similarity: np.ndarray
    new_post: np.ndarray
    user_known: np.ndarray
    topic: list[str | None]


def _liked_by(followees: int, network: int) -> str:
    """Returns the social reason: the people the user follows when any did, else the wider network."""
    count, who = (followees, "you follow") if followees > 0 else (network, "in your network")
    return f"liked by {count} {'person' if count == 1 else 'people'} {who}"


def reasons(evidence: Evidence, snippets: dict[int, str]) -> list[str]:
    """Returns one reason per pair of ``evidence``.

    Args:
        snippets: display text of every item index that appears in ``evidence.nearest``.
    """
    out = []
    for p, topic in enumerate(evidence.topic):
        count, near = max(int(evidence.followees[p]), int(evidence.network[p])), int(evidence.nearest[p])
        liked_by = _liked_by(int(evidence.followees[p]), int(evidence.network[p]))
        close = near >= 0 and float(evidence.similarity[p]) >= SIMILAR_AT
        leading = max(("social", "text", "cf"), key=lambda part: float(getattr(evidence, part)[p]))
        if leading == "social" and count > 0:
            out.append(liked_by)
        elif leading == "text" and evidence.new_post[p] and topic:
            out.append(f"new post on {topic} you write about")
        elif leading == "text" and not evidence.user_known[p]:
            out.append("matches your profile")
        elif close:
            out.append(f'because you liked "{snippets[near]}"')
        elif count > 0:
            out.append(liked_by)
        elif topic:
            out.append(f"on {topic}, which you write about")
        elif not evidence.user_known[p]:
            out.append("matches your profile")
        else:
            out.append(GENERIC)
    return out
