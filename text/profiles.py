"""How a user's profile vector is made from their bio, their own posts and their interest tags.

``profile = normalise(0.5 * bio + 0.3 * mean(own posts) + 0.2 * tags)``, where
``tags`` is the embedding of ``"Interests: t1, t2, …"`` built from the user's ten
heaviest tags.  A missing part is left out and the remaining weights are
renormalised, so a user with only tags (LastFM) or only a bio still gets a
vector; a user with none of the three gets none.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WEIGHTS = {"bio": 0.5, "posts": 0.3, "tags": 0.2}
TOP_TAGS = 10


def tags_sentence(tags: Sequence[tuple[str, float]]) -> str:
    """Returns ``"Interests: a, b, …"`` for the heaviest tags (ties broken by name), or ``""`` when there are none."""
    ranked = sorted(tags, key=lambda t: (-(t[1] if t[1] is not None else 0.0), t[0]))[:TOP_TAGS]
    return f"Interests: {', '.join(name for name, _ in ranked)}" if ranked else ""


def combine(bio: np.ndarray | None, posts: np.ndarray | None, tags: np.ndarray | None) -> np.ndarray | None:
    """Returns the unit-length profile vector, or None when every part is missing.

    Args:
        bio: ``[D]`` vector of the bio, or None.
        posts: ``[P, D]`` vectors of the user's own posts, or None / empty.
        tags: ``[D]`` vector of the tags sentence, or None.
    """
    parts: list[tuple[float, np.ndarray]] = []
    if bio is not None and np.any(bio):
        parts.append((WEIGHTS["bio"], bio))
    if posts is not None and len(posts):
        parts.append((WEIGHTS["posts"], posts.mean(axis=0)))
    if tags is not None and np.any(tags):
        parts.append((WEIGHTS["tags"], tags))
    if not parts:
        return None
    total = sum(w for w, _ in parts)
    vector = sum(w / total * v for w, v in parts)
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else None
