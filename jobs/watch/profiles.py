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
HELD = 250_000
"""The most post vectors (and texts) the cache holds, as the embed job holds at most that many."""

PEOPLE = (
    "UNWIND $ids AS id MATCH (u:User {id: id}) "
    "RETURN id, u.embedding AS own, "
    "[(u)-[:INTERACTED]->(q:Post) WHERE q.embedding IS NOT NULL | q.id][..$cap] AS liked, "
    "EXISTS { (u)-[:INTERACTED]->(:Post) } AS known, "
    "[(u)-[:TAGGED]->(g:Tag) | g.name] + [(u)-[:POSTED]->(:Post)-[:TAGGED]->(g:Tag) | g.name] AS topics"
)
POSTS = "UNWIND $ids AS id MATCH (p:Post {id: id}) WHERE p.embedding IS NOT NULL RETURN id, p.embedding, p.text"


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


class ProfileCache:
    """Profiles and post vectors, kept between cycles of the service.

    Reading a profile from the graph moves the vectors of every post the person liked, and the
    driver turns each float into a Python object, so the service keeps what it read. What it keeps
    stays right through the change-stamp contract: a like, a bio or a post stamps the person, a new
    text stamps the post, and the service calls :meth:`forget` with every stamped node before it
    serves them.

    Attributes:
        posts: post id -> ``[F]`` vector as stored (shared with the embed step, which adds new ones).
        texts: post id -> text, for reasons.
        profiles: person id -> :class:`Profile`.
    """

    def __init__(self) -> None:
        self.posts: dict[str, np.ndarray] = {}
        self.texts: dict[str, str] = {}
        self.profiles: dict[str, Profile] = {}

    def forget(self, people: list[str], posts: list[str]) -> None:
        """Drops what was kept of ``people`` and ``posts`` (stamped as changed)."""
        for person in people:
            self.profiles.pop(person, None)
        for post in posts:
            self.posts.pop(post, None)
            self.texts.pop(post, None)
        if len(self.profiles) > HELD:
            self.profiles.clear()

    def _read_posts(self, store: GraphStore, ids: list[str]) -> None:
        missing = [i for i in ids if i not in self.posts or i not in self.texts]
        if not missing:
            return
        if len(self.texts) + len(missing) > HELD:
            # Bounded by starting over: what is dropped is read again when next needed.
            self.posts.clear()
            self.texts.clear()
            missing = ids
        _, rows = store.read_columns(POSTS, {"ids": missing})
        for post_id, vector, text in rows:
            self.posts[post_id] = np.asarray(vector, dtype=np.float32)
            self.texts[post_id] = text or ""

    def of(self, store: GraphStore, ids: list[str]) -> dict[str, Profile]:
        """Returns the profile of each of ``ids`` that exists (from at most :data:`LIKED_CAP` liked posts each)."""
        missing = [i for i in ids if i not in self.profiles]
        if missing:
            _, rows = store.read_columns(PEOPLE, {"ids": missing, "cap": LIKED_CAP})
            self._read_posts(store, sorted({q for row in rows for q in row[2]}))
            for person, own, liked_ids, known, topics in rows:
                own_vector = unit(np.asarray(own, dtype=np.float32)) if own is not None else None
                liked_ids = [q for q in liked_ids if q in self.posts]
                width = own_vector.size if own_vector is not None else 0
                liked = unit(np.stack([self.posts[q] for q in liked_ids])) if liked_ids else np.zeros((0, width), np.float32)
                parts = [p for p in (unit(liked.sum(axis=0)) if liked.size else None, own_vector) if p is not None]
                vector = unit(np.sum(parts, axis=0)) if parts else None
                self.profiles[person] = Profile(
                    vector, liked, [self.texts.get(q, "") for q in liked_ids], known, list(dict.fromkeys(topics))
                )
        return {i: self.profiles[i] for i in ids if i in self.profiles}
