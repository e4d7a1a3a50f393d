"""The planted relationships between users and posts: follows, likes and reposts.

Most follows stay inside the community, popular users attract many followers,
a share of follows is reciprocated and a triadic-closure pass adds "friend of
a friend" follows.  Likes and reposts mostly land on posts from followed users,
from the user's own community or about the user's topics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from graph.arrays import row_pointers, unique_pairs
from graph.synthetic.columns import SPAN_S
from graph.synthetic.posts import Posts
from graph.synthetic.vocabulary import TOPICS

INTERACTION_WEIGHTS: dict[str, float] = {"like": 1.0, "repost": 2.0, "reply": 3.0}

KIND_NAMES = np.array(["like", "repost", "reply"], dtype=object)
KIND_WEIGHTS = np.array([INTERACTION_WEIGHTS[k] for k in KIND_NAMES], dtype=np.float64)
_LIKE, _REPOST, _REPLY = 0, 1, 2


@dataclass(frozen=True)
class GroupedSampler:
    """Draws items from a requested group, uniformly or proportionally to a weight.

    Items are sorted by group once; a draw for group ``g`` is then a uniform
    position (or a point on the cumulative weight) inside ``g``'s slice, which
    keeps millions of draws fully vectorised.
    """

    order: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    cum: np.ndarray | None

    @classmethod
    def build(cls, groups: np.ndarray, n_groups: int, weights: np.ndarray | None = None) -> GroupedSampler:
        """Return a sampler over items ``0..len(groups)-1`` grouped by ``groups`` (ids < ``n_groups``)."""
        order = np.argsort(groups, kind="stable")
        counts = np.bincount(groups, minlength=n_groups)
        stop = np.cumsum(counts)
        start = stop - counts
        cum = None if weights is None else np.cumsum(weights[order], dtype=np.float64)
        return cls(order, start, stop, cum)

    def sample(self, query: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(items, ok)``: one item per query group; ``ok`` is False for empty groups."""
        u = rng.random(query.size)
        if self.order.size == 0:
            return np.zeros(query.size, dtype=np.int64), np.zeros(query.size, dtype=bool)
        lo = self.start[query]
        hi = self.stop[query]
        last = np.maximum(hi - 1, 0)
        if self.cum is None:
            pos = lo + (u * (hi - lo)).astype(np.int64)
        else:
            below = np.where(lo > 0, self.cum[np.maximum(lo - 1, 0)], 0.0)
            target = below + u * (self.cum[last] - below)
            # Sorted needles let the binary search reuse cache lines; on
            # millions of draws this beats random-order lookups several-fold.
            by_target = np.argsort(target)
            pos = np.empty(query.size, dtype=np.int64)
            pos[by_target] = np.searchsorted(self.cum, target[by_target], side="right")
        # Empty groups clip to a valid index; callers drop them through ``ok``.
        return self.order[np.clip(pos, lo, last)], hi > lo


def _unique_edges(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return edges without self-loops or duplicates, sorted by (src, dst)."""
    keep = src != dst
    return unique_pairs(src[keep], dst[keep], n)


def plant_follows(
    community: np.ndarray, popularity: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``(src, dst)`` user indices of the follows, sorted, without self-loops or duplicates."""
    n = community.size
    # mu = log(mean) - sigma^2 / 2 gives a lognormal with mean 9 follows before
    # reciprocation and closure, which lands the final mean out-degree near 14.
    activity = rng.lognormal(math.log(9.0) - 0.9**2 / 2, 0.9, n)
    src = np.repeat(np.arange(n, dtype=np.int64), rng.poisson(activity))
    inside = rng.random(src.size) < 0.82
    dst = np.empty(src.size, dtype=np.int64)
    by_community = GroupedSampler.build(community, k, popularity)
    dst[inside], _ = by_community.sample(community[src[inside]], rng)
    anyone = GroupedSampler.build(np.zeros(n, dtype=np.int64), 1, popularity)
    dst[~inside], _ = anyone.sample(np.zeros(int((~inside).sum()), dtype=np.int64), rng)
    src, dst = _unique_edges(src, dst, n)

    back = rng.random(src.size) < 0.25
    src, dst = _unique_edges(np.concatenate((src, dst[back])), np.concatenate((dst, src[back])), n)

    # Triadic closure: for sampled two-hop paths u->v->w also add u->w.
    ptr = row_pointers(src, n)
    paths = rng.integers(src.size, size=int(0.3 * src.size))
    u, v = src[paths], dst[paths]
    degree = ptr[v + 1] - ptr[v]
    has_next = degree > 0
    w = dst[np.minimum(ptr[v] + (rng.random(paths.size) * degree).astype(np.int64), src.size - 1)]
    keep = has_next & (w != u)
    return _unique_edges(np.concatenate((src, u[keep])), np.concatenate((dst, w[keep])), n)


def plant_interactions(
    follow_src: np.ndarray,
    follow_dst: np.ndarray,
    community: np.ndarray,
    primary: np.ndarray,
    secondary: np.ndarray,
    posts: Posts,
    k: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(user, post, kind, secs)`` rows, unique per (user, post, kind)."""
    n_users = community.size
    n_posts = posts.author.size
    n_topics = len(TOPICS)
    activity = rng.lognormal(math.log(6.0) - 1.0**2 / 2, 1.0, n_users)  # mean 6 likes/reposts
    user = np.repeat(np.arange(n_users, dtype=np.int64), rng.poisson(activity))

    # Where each like/repost comes from: a followed account, the user's
    # community, the primary topic, the secondary topic, or anywhere.
    source = rng.choice(5, size=user.size, p=(0.25, 0.25, 0.25, 0.10, 0.15))
    post = np.zeros(user.size, dtype=np.int64)
    ok = np.zeros(user.size, dtype=bool)

    rows = np.flatnonzero(source == 0)
    followee, follows_someone = GroupedSampler.build(follow_src, n_users).sample(user[rows], rng)
    by_author = GroupedSampler.build(posts.author, n_users, posts.appeal)
    post[rows], ok[rows] = by_author.sample(follow_dst[followee] if follow_dst.size else followee, rng)
    ok[rows] &= follows_someone

    by_community = GroupedSampler.build(community[posts.author], k, posts.appeal)
    by_topic = GroupedSampler.build(posts.topic, n_topics, posts.appeal)
    anywhere = GroupedSampler.build(np.zeros(n_posts, dtype=np.int64), 1, posts.appeal)
    for s, sampler, query in (
        (1, by_community, community),
        (2, by_topic, primary),
        (3, by_topic, secondary),
        (4, anywhere, np.zeros(n_users, dtype=np.int64)),
    ):
        rows = np.flatnonzero(source == s)
        post[rows], ok[rows] = sampler.sample(query[user[rows]], rng)

    ok &= posts.author[post] != user
    user, post = user[ok], post[ok]
    kind = np.where(rng.random(user.size) < 0.8, _LIKE, _REPOST)
    # Engagement follows the post within hours, but never after the data window.
    delay = 1 + rng.exponential(6 * 3600, size=user.size).astype(np.int64)
    secs = np.minimum(posts.secs[post] + delay, SPAN_S - 1)

    user = np.concatenate((user, posts.author[posts.reply_child]))
    post = np.concatenate((post, posts.reply_parent))
    kind = np.concatenate((kind, np.full(posts.reply_child.size, _REPLY)))
    secs = np.concatenate((secs, posts.secs[posts.reply_child]))

    code = (user * n_posts + post) * 3 + kind
    order = np.argsort(code, kind="stable")
    code = code[order]
    first = order[np.concatenate(([True], code[1:] != code[:-1]))] if code.size else order
    return user[first], post[first], kind[first], secs[first]
