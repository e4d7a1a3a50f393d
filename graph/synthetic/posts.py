"""The planted posts: authors and times, topics, text with sentiment, tags and replies.

Posts are numbered in time order, as snowflake ids are; replies answer an
earlier post on the same topic, mostly from the author's own community.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graph.synthetic.columns import SPAN_S
from graph.synthetic.vocabulary import TOPIC_NAMES, TOPICS, Vocabulary, render

_POST_TEMPLATES: tuple[str, ...] = (
    "Spent the whole weekend on {a} and {b}.",
    "Anyone else obsessed with {a} lately?",
    "Hot take: people sleep on {a}.",
    "Just read a great thread about {a}.",
    "Can't stop thinking about {a}.",
    "Today was all about {a}.",
    "Looking for tips on {a} and {b}.",
    "Finally made time for {a} this week.",
    "Still comparing notes on {a} with friends.",
    "Big week for {a}.",
    "Quick question about {a}: where do I start?",
    "Nothing beats {a} after a long day.",
    "My favourite thing right now is {a}.",
    "Deep dive into {a} and {b} coming soon.",
)
_SENTIMENT_PHRASES: tuple[tuple[str, ...], ...] = (
    ("Loved it!", "Absolutely brilliant.", "Made my day.", "Highly recommend.", "So good!"),
    ("So disappointed.", "What a letdown.", "Honestly, it was terrible.", "Not worth it.",
     "Really frustrating."),
    ("Not sure what to think yet.", "It was fine, I guess.", "Mixed feelings.", "Will report back."),
)
_SENTIMENT_SHARES = (0.45, 0.35, 0.20)


@dataclass(frozen=True)
class Posts:
    """Posts in chronological order (index = post number) with their replies and tags."""

    author: np.ndarray
    secs: np.ndarray
    topic: np.ndarray
    appeal: np.ndarray
    text: np.ndarray
    reply_child: np.ndarray
    reply_parent: np.ndarray
    tag_post: np.ndarray
    tag_name: np.ndarray
    tag_weight: np.ndarray


def plant_posts(
    primary: np.ndarray,
    secondary: np.ndarray,
    community: np.ndarray,
    popularity: np.ndarray,
    posts_per_user: float,
    vocab: Vocabulary,
    rng: np.random.Generator,
) -> Posts:
    """Return every user's posts, heavy-tailed in number across users, in chronological order."""
    n_users = primary.size
    n_topics = len(TOPICS)
    activity = rng.lognormal(-(1.0**2) / 2, 1.0, n_users)  # mean 1, heavy-tailed
    counts = rng.poisson(posts_per_user * activity)
    if counts.sum() == 0:
        counts[int(np.argmax(activity))] = 1
    author = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    secs = rng.integers(0, SPAN_S, size=author.size)
    # Numbering posts by time makes post ids chronological, as snowflake ids are.
    order = np.argsort(secs, kind="stable")
    author = author[order]
    secs = secs[order]
    n_posts = author.size

    u = rng.random(n_posts)
    topic = np.where(u < 0.65, primary[author], secondary[author])
    off_topic = u >= 0.92
    topic[off_topic] = rng.integers(n_topics, size=int(off_topic.sum()))
    other = np.where(topic == primary[author], secondary[author], primary[author])
    appeal = rng.lognormal(0.0, 0.75, n_posts) * np.sqrt(popularity[author])

    child, parent = _replies(author, secs, topic, community, n_topics, rng)
    text, mixed = _post_text(topic, other, vocab, rng)
    tag_post, tag_name, tag_weight, hashtag = _post_tags(topic, other, mixed, rng)
    with_hashtag = np.flatnonzero(rng.random(n_posts) < 0.3)
    text[with_hashtag] = text[with_hashtag] + " #" + hashtag[with_hashtag]
    return Posts(author, secs, topic, appeal, text, child, parent, tag_post, tag_name, tag_weight)


def _post_text(
    topic: np.ndarray, other: np.ndarray, vocab: Vocabulary, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Return post texts and whether the second sentence used the author's other topic."""
    n = topic.size
    n_templates = len(_POST_TEMPLATES)
    sentiment = rng.random(n) < 0.4
    n_sentences = rng.integers(1, 4, size=n)
    # The sentiment phrase counts as a sentence, keeping every post at 1-3.
    n_sentences = np.where(sentiment & (n_sentences == 3), 2, n_sentences)

    # Consecutive sentences shift the template by 1..n-1 so a post never
    # repeats the same sentence frame back to back.
    template = rng.integers(n_templates, size=(3, n))
    template[1:] = 1 + template[1:] % (n_templates - 1)
    template = np.cumsum(template, axis=0) % n_templates

    a, b = vocab.pick_pair(topic, rng)
    text = render(_POST_TEMPLATES, template[0], {"a": a, "b": b})

    second = np.flatnonzero(n_sentences >= 2)
    use_other = rng.random(second.size) < 0.5
    second_topic = np.where(use_other, other[second], topic[second])
    a, b = vocab.pick_pair(second_topic, rng)
    text[second] = text[second] + " " + render(_POST_TEMPLATES, template[1, second], {"a": a, "b": b})
    third = np.flatnonzero(n_sentences == 3)
    a, b = vocab.pick_pair(topic[third], rng)
    text[third] = text[third] + " " + render(_POST_TEMPLATES, template[2, third], {"a": a, "b": b})

    rows = np.flatnonzero(sentiment)
    polarity = rng.choice(len(_SENTIMENT_PHRASES), size=rows.size, p=_SENTIMENT_SHARES)
    phrases = np.empty(rows.size, dtype=object)
    for p, options in enumerate(_SENTIMENT_PHRASES):
        sel = np.flatnonzero(polarity == p)
        phrases[sel] = np.array(options, dtype=object)[rng.integers(len(options), size=sel.size)]
    text[rows] = text[rows] + " " + phrases

    mixed = np.zeros(n, dtype=bool)
    mixed[second[use_other]] = True
    return text, mixed & (other != topic)


def _post_tags(
    topic: np.ndarray, other: np.ndarray, mixed: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(post, tag, weight)`` rows sorted by post, 1-3 per post, and a hashtag per post."""
    n = topic.size
    names = np.array(TOPIC_NAMES, dtype=object)
    fine = np.array([list(t.fine_tags) for t in TOPICS], dtype=object)
    posts = np.arange(n, dtype=np.int64)

    fine_rows = np.flatnonzero(rng.random(n) < 0.6)
    fine_tag = fine[topic[fine_rows], rng.integers(fine.shape[1], size=fine_rows.size)]
    mixed_rows = np.flatnonzero(mixed)

    tag_post = np.concatenate((posts, fine_rows, mixed_rows))
    tag_name = np.concatenate((names[topic], fine_tag, names[other[mixed_rows]]))
    tag_weight = np.concatenate(
        (
            np.ones(n),
            np.round(rng.uniform(0.4, 0.9, fine_rows.size), 3),
            np.round(rng.uniform(0.2, 0.6, mixed_rows.size), 3),
        )
    )
    order = np.argsort(tag_post, kind="stable")

    hashtag = names[topic]
    hashtag[fine_rows] = fine_tag
    return tag_post[order], tag_name[order], tag_weight[order], hashtag


def _replies(
    author: np.ndarray,
    secs: np.ndarray,
    topic: np.ndarray,
    community: np.ndarray,
    n_topics: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(child, parent)`` post indices; parents are earlier posts on the child's topic."""
    n_posts = author.size
    child = np.flatnonzero(rng.random(n_posts) < 0.15)
    # Most conversations happen inside the community; the rest reach anyone
    # posting on the same topic.
    local = rng.random(child.size) < 0.7
    parent = np.empty(child.size, dtype=np.int64)
    ok = np.empty(child.size, dtype=bool)
    for mask, key in ((local, community[author] * n_topics + topic), (~local, topic)):
        parent[mask], ok[mask] = _earlier_in_group(key, child[mask], rng)
    ok &= secs[parent] < secs[child]
    ok &= author[parent] != author[child]
    return child[ok], parent[ok]


def _earlier_in_group(
    key: np.ndarray, child: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pick for each child an earlier post with the same key, favouring recent ones."""
    order = np.argsort(key, kind="stable")
    position = np.empty(key.size, dtype=np.int64)
    position[order] = np.arange(key.size)
    sorted_key = key[order]
    pos = position[child]
    earlier = pos - np.searchsorted(sorted_key, sorted_key[pos], side="left")
    ok = earlier > 0
    # Squaring a uniform skews the look-back towards the latest posts.
    back = (earlier * rng.random(child.size) ** 2).astype(np.int64)
    parent = order[np.where(ok, pos - 1 - back, pos)]
    return parent, ok
