"""``generate``: the whole synthetic network from one seed, drawing people, follows, posts and engagement in turn.

Everything is drawn from a single ``np.random.default_rng(seed)`` in a fixed
order (people, follows, posts, interactions, user tags), so the same seed gives
identical tables.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from graph.synthetic.canonical import SyntheticGraph
from graph.synthetic.columns import iso_times, padded_ids
from graph.synthetic.edges import KIND_NAMES, KIND_WEIGHTS, plant_follows, plant_interactions
from graph.synthetic.people import MIN_COMMUNITY_SIZE, People, default_n_communities, ground_truth, plant_people, user_tags
from graph.synthetic.posts import Posts, plant_posts
from graph.synthetic.vocabulary import TOPIC_NAMES, TOPICS, Vocabulary

logger = logging.getLogger(__name__)

MIN_USERS = 100
MAX_USERS = 1_000_000


def generate(
    n_users: int,
    seed: int = 0,
    *,
    posts_per_user: float = 3.0,
    n_communities: int | None = None,
) -> SyntheticGraph:
    """Generate a synthetic social network with planted interest communities.

    Args:
        n_users: number of users, between 100 and 1,000,000.
        seed: seed for ``np.random.default_rng``; equal seeds give equal tables.
        posts_per_user: mean posts per user (heavy-tailed across users), > 0.
        n_communities: planted communities; default :func:`default_n_communities`.
            Every community gets at least 5 users, so at most ``n_users // 5``.

    Returns:
        A :class:`SyntheticGraph` whose ``communities`` frame maps each user to its
        planted community id, primary ``topic`` and ``secondary_topic``, and whose
        ``post_topics`` frame maps each post to its planted ``topic``.

    Raises:
        ValueError: when an argument is out of range.
    """
    n_users, k = _checked_arguments(n_users, posts_per_user, n_communities)
    rng = np.random.default_rng(seed)
    vocab = Vocabulary.from_lists([t.vocab for t in TOPICS])
    # The draws below share one generator: their order is part of what a seed means.
    people = plant_people(n_users, k, vocab, rng)
    src, dst = plant_follows(people.community, people.popularity, k, rng)
    posts = plant_posts(people.primary, people.secondary, people.community, people.popularity, posts_per_user, vocab, rng)
    engagement = plant_interactions(src, dst, people.community, people.primary, people.secondary, posts, k, rng)
    user_tagged = user_tags(people.ids, people.primary, people.secondary, rng)
    graph = _tables(people, src, dst, posts, engagement, user_tagged)
    logger.info(
        "synthetic graph seed=%s: %d users, %d communities, %d posts, %d follows, "
        "%d interactions, %d replies",
        seed, n_users, k, len(graph.posts), len(graph.follows), len(graph.interacted), len(graph.reply_to),
    )
    return graph


def _checked_arguments(n_users: int, posts_per_user: float, n_communities: int | None) -> tuple[int, int]:
    """Return ``(n_users, n_communities)`` as plain ints, the latter defaulted.

    Raises:
        ValueError: naming the first argument that is out of range.
    """
    n_users = _check_n_users(n_users)
    if isinstance(posts_per_user, bool) or not (
        isinstance(posts_per_user, (int, float)) and math.isfinite(posts_per_user) and posts_per_user > 0
    ):
        raise ValueError(f"posts_per_user must be a finite number > 0, got {posts_per_user!r}")
    return n_users, _check_n_communities(n_communities, n_users)


def _check_n_users(n_users: int) -> int:
    if isinstance(n_users, bool) or not isinstance(n_users, (int, np.integer)):
        raise ValueError(f"n_users must be an integer, got {n_users!r}")
    if not MIN_USERS <= n_users <= MAX_USERS:
        raise ValueError(f"n_users must be between {MIN_USERS} and {MAX_USERS}, got {n_users}")
    return int(n_users)


def _check_n_communities(n_communities: int | None, n_users: int) -> int:
    if n_communities is None:
        return default_n_communities(n_users)
    limit = n_users // MIN_COMMUNITY_SIZE
    if isinstance(n_communities, bool) or not isinstance(n_communities, (int, np.integer)):
        raise ValueError(f"n_communities must be an integer, got {n_communities!r}")
    if not 1 <= n_communities <= limit:
        raise ValueError(
            f"n_communities must be between 1 and {limit} for {n_users} users "
            f"(each community needs {MIN_COMMUNITY_SIZE} users), got {n_communities}"
        )
    return int(n_communities)


def _tables(
    people: People,
    follow_src: np.ndarray,
    follow_dst: np.ndarray,
    posts: Posts,
    engagement: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    user_tagged: pd.DataFrame,
) -> SyntheticGraph:
    """Return the tables, every index turned into its user or post id."""
    user_ids = people.ids
    post_ids = padded_ids("p", posts.author.size, 7)
    return SyntheticGraph(
        users=people.users,
        follows=pd.DataFrame({"src": user_ids[follow_src], "dst": user_ids[follow_dst]}),
        **_post_tables(user_ids, post_ids, posts),
        interacted=_interacted(user_ids, post_ids, engagement),
        user_tagged=user_tagged,
        communities=ground_truth(people),
        post_topics=pd.DataFrame({"post": post_ids, "topic": np.array(TOPIC_NAMES, dtype=object)[posts.topic]}),
    )


def _post_tables(user_ids: np.ndarray, post_ids: np.ndarray, posts: Posts) -> dict[str, pd.DataFrame]:
    """Return the ``posts``, ``posted``, ``reply_to`` and ``post_tagged`` tables by name."""
    return {
        "posts": pd.DataFrame(
            {
                "id": post_ids,
                "text": posts.text,
                "created_at": iso_times(posts.secs),
                "lang": np.full(post_ids.size, "en", dtype=object),
            }
        ),
        "posted": pd.DataFrame({"src": user_ids[posts.author], "dst": post_ids}),
        "reply_to": pd.DataFrame({"src": post_ids[posts.reply_child], "dst": post_ids[posts.reply_parent]}),
        "post_tagged": pd.DataFrame(
            {
                "src": post_ids[posts.tag_post],
                "dst": posts.tag_name,
                "weight": posts.tag_weight,
            }
        ),
    }


def _interacted(
    user_ids: np.ndarray, post_ids: np.ndarray, engagement: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
) -> pd.DataFrame:
    """Return the ``interacted`` table from ``(user, post, kind, secs)`` rows."""
    actor, target, kind, at = engagement
    return pd.DataFrame(
        {
            "src": user_ids[actor],
            "dst": post_ids[target],
            "kind": KIND_NAMES[kind],
            "weight": KIND_WEIGHTS[kind],
            "at": iso_times(at),
        }
    )
