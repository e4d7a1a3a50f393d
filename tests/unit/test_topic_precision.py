"""Topic precision against the generator's planted topics (:mod:`jobs.recommend.evaluate_synthetic`)."""

from __future__ import annotations

import numpy as np

from graph.synthetic import generate
from jobs.recommend.evaluate_synthetic import on_topic, reader, topic_precision


def test_a_post_is_on_topic_exactly_when_its_planted_topic_is_one_of_the_users_two() -> None:
    graph = generate(200, seed=4)
    truth = graph.communities.set_index("user")
    topic_of = graph.post_topics.set_index("post")["topic"]
    user = str(truth.index[0])
    mine = {truth.at[user, "topic"], truth.at[user, "secondary_topic"]}
    on = topic_of[topic_of.isin(mine)].index[:6].to_numpy(dtype=object)
    off = topic_of[~topic_of.isin(mine)].index[:4].to_numpy(dtype=object)
    posts = np.concatenate([on, off])
    users = np.full(posts.size, user, dtype=object)
    assert on_topic(graph, users, posts).tolist() == [True] * 6 + [False] * 4
    assert topic_precision(graph, users, posts) == 0.6


def test_precision_averages_over_users_not_pairs() -> None:
    graph = generate(200, seed=4)
    truth = graph.communities.set_index("user")
    topic_of = graph.post_topics.set_index("post")["topic"]
    a, b = (str(u) for u in truth.index[:2])
    on_a = topic_of[topic_of.isin({truth.at[a, "topic"], truth.at[a, "secondary_topic"]})].index[:9]
    off_b = topic_of[~topic_of.isin({truth.at[b, "topic"], truth.at[b, "secondary_topic"]})].index[:1]
    users = np.asarray([a] * 9 + [b], dtype=object)
    posts = np.concatenate([on_a.to_numpy(dtype=object), off_b.to_numpy(dtype=object)])
    assert topic_precision(graph, users, posts) == 0.5


def test_every_post_has_a_planted_topic_that_is_also_its_full_weight_tag() -> None:
    graph = generate(200, seed=4)
    assert graph.post_topics["post"].tolist() == graph.posts["id"].tolist()
    full = graph.post_tagged[graph.post_tagged["weight"] == 1.0].set_index("src")["dst"]
    assert (full.reindex(graph.post_topics["post"]).to_numpy() == graph.post_topics["topic"].to_numpy()).all()


def test_the_reader_is_the_first_user_who_cares_about_ai_and_blockchain() -> None:
    graph = generate(2000, seed=0)
    truth = graph.communities.set_index("user")
    who = reader(graph)
    assert (truth.at[who, "topic"], truth.at[who, "secondary_topic"]) == ("ai", "blockchain")
    earlier = truth.loc[: who].iloc[:-1]
    assert not ((earlier["topic"] == "ai") & (earlier["secondary_topic"] == "blockchain")).any()
