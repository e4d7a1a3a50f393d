"""People's text profiles as the recommend job scores them, read from the graph for a few people at a time.

The recommend job's text part (:class:`jobs.recommend.signals.TextSignal`) scores a post by its
cosine to the user's profile, ``unit(unit(Σ liked post vectors) + unit(own vector))``, and
:class:`jobs.recommend.fusion.FusedScorer` gives a post nobody has interacted with yet the score

.. math::
    s(u, p) = \\begin{cases} t(u, p) & \\text{if } u \\text{ has no interaction} \\\\
    \\max(w_t, w_\\text{new}) \\, t(u, p) & \\text{otherwise} \\end{cases}

since its collaborative and social parts are 0.  That is the whole of the batch score of a new
post, so the service places new posts with it (:mod:`jobs.watch.audience`) on the scale of the
scores already in the lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graph.store import GraphStore
from jobs.recommend.fusion import NEW_POST_TEXT_WEIGHT
from jobs.recommend.reasons import SIMILAR_AT, snippet

LIKED_CAP = 500
"""The most liked posts read per person, so a heavy user costs a bounded read."""

PROFILES = (
    "UNWIND $ids AS id MATCH (u:User {id: id}) "
    "RETURN id, u.embedding AS own, "
    "[(u)-[:INTERACTED]->(q:Post) WHERE q.embedding IS NOT NULL | [q.id, q.embedding, q.text]][..$cap] AS liked, "
    "EXISTS { (u)-[:INTERACTED]->(:Post) } AS known, "
    "[(u)-[:TAGGED]->(g:Tag) | g.name] + [(u)-[:POSTED]->(:Post)-[:TAGGED]->(g:Tag) | g.name] AS topics"
)


def unit(x: np.ndarray) -> np.ndarray:
    """Returns ``x`` (``[F]`` or ``[n, F]``) scaled to unit length along its last axis (zeros stay zeros)."""
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


@dataclass
class Profile:
    """One person's profile.

    Attributes:
        vector: ``[F]`` unit profile vector, None when the person has no text to go on.
        liked: ``[n, F]`` unit vectors of the posts they interacted with, ``liked_text`` their texts.
        known: whether they have any interaction (the collaborative filter knows them).
        topics: tags they carry or put on their posts.
    """

    vector: np.ndarray | None
    liked: np.ndarray
    liked_text: list[str]
    known: bool
    topics: list[str] = field(default_factory=list)

    def score(self, post: np.ndarray, text_weight: float) -> float:
        """Returns the recommend job's score of a post nobody has interacted with (``post``: ``[F]`` unit)."""
        cosine = float(self.vector @ post) if self.vector is not None else 0.0
        return max(text_weight, NEW_POST_TEXT_WEIGHT) * cosine if self.known else cosine

    def reason(self, post: np.ndarray, post_tags: list[str]) -> str:
        """Returns why a new post suits this person, in the recommend job's words."""
        if self.liked.size:
            similarity = self.liked @ post
            best = int(np.argmax(similarity))
            if similarity[best] >= SIMILAR_AT:
                return f'because you liked "{snippet(self.liked_text[best], "a post")}"'
        topic = next((tag for tag in post_tags if tag in self.topics), None)
        return f"new post on {topic} you write about" if topic else "matches your profile"


def read_profiles(store: GraphStore, ids: list[str]) -> dict[str, Profile]:
    """Returns the profile of each of ``ids`` that exists (from at most :data:`LIKED_CAP` liked posts each)."""
    out = {}
    for row in store.read(PROFILES, {"ids": ids, "cap": LIKED_CAP}):
        own = unit(np.asarray(row["own"], dtype=np.float32)) if row["own"] is not None else None
        vectors = [v for _, v, _ in row["liked"]]
        liked = unit(np.asarray(vectors, dtype=np.float32)) if vectors else np.zeros((0, 0 if own is None else own.size), np.float32)
        parts = [p for p in (unit(liked.sum(axis=0)) if liked.size else None, own) if p is not None]
        vector = unit(np.sum(parts, axis=0)) if parts else None
        out[row["id"]] = Profile(vector, liked, [t for _, _, t in row["liked"]], row["known"], list(dict.fromkeys(row["topics"])))
    return out
