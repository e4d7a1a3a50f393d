"""Tests for the synthetic social network generator (pure Python, no Neo4j)."""

from __future__ import annotations

import re
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from graph.synthetic import (
    FORMATS,
    GROUND_TRUTH,
    INTERACTION_WEIGHTS,
    KINDS,
    MIN_COMMUNITY_SIZE,
    TOPIC_NAMES,
    TOPICS,
    SyntheticGraph,
    default_n_communities,
    generate,
    write_canonical,
)

N_USERS = 2000
SEED = 7

FIELDS = (*KINDS, "communities")
COLUMNS = {
    "users": ["id", "name", "bio", "opt_out"],
    "posts": ["id", "text", "created_at", "lang"],
    "follows": ["src", "dst"],
    "posted": ["src", "dst"],
    "interacted": ["src", "dst", "kind", "weight", "at"],
    "reply_to": ["src", "dst"],
    "post_tagged": ["src", "dst", "weight"],
    "user_tagged": ["src", "dst", "weight"],
    "communities": ["user", "community", "topic", "secondary_topic"],
}
FLOAT_COLUMNS = {("interacted", "weight"), ("post_tagged", "weight"), ("user_tagged", "weight")}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture(scope="module")
def graph() -> SyntheticGraph:
    """The main graph under test: large enough for stable statistics, still fast."""
    return generate(N_USERS, seed=SEED)


@pytest.fixture(scope="module")
def smallest() -> SyntheticGraph:
    """The smallest graph the generator accepts, where edge cases bite first."""
    return generate(100, seed=3)


@pytest.fixture(scope="module", params=["graph", "smallest"])
def any_graph(request: pytest.FixtureRequest) -> SyntheticGraph:
    """Each of the graphs above, for invariants that must hold at every size."""
    return request.getfixturevalue(request.param)


def _community_of(g: SyntheticGraph) -> pd.Series:
    return g.communities.set_index("user")["community"]


def _author_of(g: SyntheticGraph) -> pd.Series:
    return g.posted.set_index("dst")["src"]


def test_same_seed_gives_identical_frames(graph: SyntheticGraph) -> None:
    again = generate(N_USERS, seed=SEED)
    for field in FIELDS:
        pd.testing.assert_frame_equal(getattr(graph, field), getattr(again, field), obj=field)


def test_different_seed_gives_different_follows(graph: SyntheticGraph) -> None:
    other = generate(N_USERS, seed=SEED + 1)
    assert not graph.follows.equals(other.follows)


def test_columns_and_dtypes(any_graph: SyntheticGraph) -> None:
    for field, columns in COLUMNS.items():
        frame = getattr(any_graph, field)
        assert list(frame.columns) == columns, field
        for column in columns:
            dtype = frame[column].dtype
            if (field, column) in FLOAT_COLUMNS:
                assert pd.api.types.is_float_dtype(dtype), (field, column)
            elif (field, column) == ("users", "opt_out"):
                assert pd.api.types.is_bool_dtype(dtype)
            elif (field, column) == ("communities", "community"):
                assert pd.api.types.is_integer_dtype(dtype)
            else:
                assert pd.api.types.is_string_dtype(dtype), (field, column)
                assert frame[column].map(type).eq(str).all(), (field, column)


def test_ids_are_unique_and_zero_padded(any_graph: SyntheticGraph) -> None:
    users, posts = any_graph.users, any_graph.posts
    assert users["id"].is_unique and posts["id"].is_unique
    assert users["id"].str.fullmatch(r"u\d{6}").all()
    assert posts["id"].str.fullmatch(r"p\d{7}").all()
    # Zero padding must make lexical order agree with numeric order.
    assert users["id"].is_monotonic_increasing
    assert users["id"].str[1:].astype(int).is_monotonic_increasing
    assert posts["id"].str[1:].astype(int).is_monotonic_increasing


def test_edge_endpoints_exist(any_graph: SyntheticGraph) -> None:
    user_ids = set(any_graph.users["id"])
    post_ids = set(any_graph.posts["id"])
    checks = {
        "follows": (user_ids, user_ids),
        "posted": (user_ids, post_ids),
        "interacted": (user_ids, post_ids),
        "reply_to": (post_ids, post_ids),
        "post_tagged": (post_ids, None),
        "user_tagged": (user_ids, None),
    }
    for field, (src_ids, dst_ids) in checks.items():
        frame = getattr(any_graph, field)
        assert frame["src"].isin(src_ids).all(), field
        if dst_ids is not None:
            assert frame["dst"].isin(dst_ids).all(), field


def test_no_self_loops_or_duplicate_edges(any_graph: SyntheticGraph) -> None:
    for field in ("follows", "reply_to"):
        frame = getattr(any_graph, field)
        assert (frame["src"] != frame["dst"]).all(), field
    unique_keys = {
        "follows": ["src", "dst"],
        "posted": ["dst"],
        "interacted": ["src", "dst", "kind"],
        "reply_to": ["src"],
        "post_tagged": ["src", "dst"],
        "user_tagged": ["src", "dst"],
    }
    for field, key in unique_keys.items():
        assert not getattr(any_graph, field).duplicated(key).any(), field


def test_every_post_has_one_author(any_graph: SyntheticGraph) -> None:
    assert set(any_graph.posted["dst"]) == set(any_graph.posts["id"])


def test_weights(any_graph: SyntheticGraph) -> None:
    inter = any_graph.interacted
    assert set(inter["kind"]) <= set(INTERACTION_WEIGHTS)
    assert (inter["weight"] == inter["kind"].map(INTERACTION_WEIGHTS)).all()
    for field in ("interacted", "post_tagged", "user_tagged"):
        assert (getattr(any_graph, field)["weight"] > 0).all(), field
    assert (any_graph.user_tagged["weight"] <= 1.0).all()


def test_opt_out(any_graph: SyntheticGraph) -> None:
    opted = int(any_graph.users["opt_out"].sum())
    assert 1 <= opted <= max(1, 0.05 * len(any_graph.users))


def test_communities_are_a_partition(any_graph: SyntheticGraph) -> None:
    truth = any_graph.communities
    assert len(truth) == len(any_graph.users)
    assert truth["user"].is_unique
    assert set(truth["user"]) == set(any_graph.users["id"])
    sizes = truth["community"].value_counts()
    assert sizes.min() >= MIN_COMMUNITY_SIZE
    assert truth["community"].nunique() == default_n_communities(len(any_graph.users))
    per_community = truth.groupby("community")[["topic", "secondary_topic"]].nunique()
    assert (per_community == 1).all().all()
    assert set(truth["topic"]) | set(truth["secondary_topic"]) <= set(TOPIC_NAMES)
    assert (truth["topic"] != truth["secondary_topic"]).all()


def test_community_sizes_are_uneven(graph: SyntheticGraph) -> None:
    sizes = graph.communities["community"].value_counts()
    assert sizes.max() >= 2 * sizes.min()


def test_topic_vocabularies() -> None:
    assert 12 <= len(TOPICS) <= 20
    for topic in TOPICS:
        assert len(set(topic.vocab)) >= 25, topic.name
        assert topic.name.islower() and all(tag.islower() and tag.isalpha() for tag in topic.fine_tags)
    all_tags = list(TOPIC_NAMES) + [tag for topic in TOPICS for tag in topic.fine_tags]
    assert len(all_tags) == len(set(all_tags))


@pytest.mark.parametrize("n_communities", [None, 2, 40])
def test_story_communities_exist(n_communities: int | None) -> None:
    g = generate(N_USERS, seed=11, n_communities=n_communities)
    pairs = g.communities.drop_duplicates("community")
    topic_sets = {frozenset(p) for p in zip(pairs["topic"], pairs["secondary_topic"])}
    assert frozenset({"hiking", "photography"}) in topic_sets
    assert frozenset({"ai", "blockchain"}) in topic_sets
    if n_communities is not None:
        assert len(pairs) == n_communities


def test_follows_show_planted_communities(graph: SyntheticGraph) -> None:
    community = _community_of(graph)
    follows = graph.follows
    inside = (follows["src"].map(community).to_numpy() == follows["dst"].map(community).to_numpy()).mean()
    expected = (graph.communities["community"].value_counts(normalize=True) ** 2).sum()
    assert inside >= 0.6
    assert inside >= 3 * expected

    undirected = nx.Graph()
    undirected.add_nodes_from(graph.users["id"])
    undirected.add_edges_from(zip(follows["src"], follows["dst"]))
    partition = [set(group) for _, group in graph.communities.groupby("community")["user"]]
    assert nx.community.modularity(undirected, partition) >= 0.3


def test_follow_degrees(graph: SyntheticGraph) -> None:
    follows = graph.follows
    mean_out = len(follows) / len(graph.users)
    assert 8 <= mean_out <= 25
    in_degree = follows["dst"].value_counts()
    # Popular users: the top in-degree dwarfs the average.
    assert in_degree.max() >= 5 * in_degree.mean()
    pairs = set(zip(follows["src"], follows["dst"]))
    reciprocated = sum((d, s) in pairs for s, d in pairs) / len(pairs)
    assert reciprocated >= 0.2


def test_interactions_follow_interests(graph: SyntheticGraph) -> None:
    truth = graph.communities.set_index("user")
    inter = graph.interacted
    author = inter["dst"].map(_author_of(graph))
    assert (author != inter["src"]).all()

    def shared(users: pd.Series) -> float:
        u = truth.loc[users.to_numpy()]
        a = truth.loc[author.to_numpy()]
        same_community = u["community"].to_numpy() == a["community"].to_numpy()
        same_topic = u["topic"].to_numpy() == a["topic"].to_numpy()
        return float((same_community | same_topic).mean())

    observed = shared(inter["src"])
    shuffled = shared(inter["src"].sample(frac=1.0, random_state=0))
    assert observed >= 0.5
    assert observed >= 2 * shuffled


def test_interactions_match_post_tags(graph: SyntheticGraph) -> None:
    user_topics = graph.user_tagged[graph.user_tagged["dst"].isin(TOPIC_NAMES)]
    post_topics = graph.post_tagged[graph.post_tagged["dst"].isin(TOPIC_NAMES)]
    user_tags = user_topics.rename(columns={"dst": "tag"})[["src", "tag"]]
    post_tags = post_topics.rename(columns={"src": "dst", "dst": "tag"})[["dst", "tag"]]

    def share(pairs: pd.DataFrame) -> float:
        pairs = pairs.assign(row=np.arange(len(pairs)))
        matched = pairs.merge(user_tags, on="src").merge(post_tags, on=["dst", "tag"])
        return matched["row"].nunique() / len(pairs)

    pairs = graph.interacted[["src", "dst"]].drop_duplicates().reset_index(drop=True)
    observed = share(pairs)
    shuffled = share(pairs.assign(src=pairs["src"].sample(frac=1.0, random_state=0).to_numpy()))
    assert observed >= 0.6
    assert observed >= 2 * shuffled


def test_interaction_times_follow_posts(any_graph: SyntheticGraph) -> None:
    created = any_graph.posts.set_index("id")["created_at"]
    inter = any_graph.interacted
    assert inter["at"].str.match(ISO_UTC).all()
    assert (inter["at"].to_numpy() >= inter["dst"].map(created).to_numpy()).all()


def test_replies(any_graph: SyntheticGraph) -> None:
    posts = any_graph.posts.set_index("id")
    author = _author_of(any_graph)
    replies = any_graph.reply_to
    assert len(replies) > 0
    created = posts["created_at"]
    assert (replies["src"].map(created).to_numpy() > replies["dst"].map(created).to_numpy()).all()
    assert (replies["src"].map(author).to_numpy() != replies["dst"].map(author).to_numpy()).all()

    topic_tags = any_graph.post_tagged[any_graph.post_tagged["dst"].isin(TOPIC_NAMES)]
    main_topic = topic_tags[topic_tags["weight"] == 1.0].set_index("src")["dst"]
    assert (replies["src"].map(main_topic).to_numpy() == replies["dst"].map(main_topic).to_numpy()).all()

    # Every reply post also shows up as a weighted "reply" interaction.
    reply_edges = any_graph.interacted[any_graph.interacted["kind"] == "reply"]
    expected = set(zip(replies["src"].map(author), replies["dst"]))
    assert set(zip(reply_edges["src"], reply_edges["dst"])) == expected


def test_posts_and_tags(any_graph: SyntheticGraph) -> None:
    posts = any_graph.posts
    assert (posts["lang"] == "en").all()
    assert posts["created_at"].str.match(ISO_UTC).all()
    assert posts["text"].str.len().gt(10).all()
    tags_per_post = any_graph.post_tagged.groupby("src").size()
    assert len(tags_per_post) == len(posts)
    assert tags_per_post.between(1, 3).all()
    all_tags = set(TOPIC_NAMES) | {tag for topic in TOPICS for tag in topic.fine_tags}
    assert set(any_graph.post_tagged["dst"]) <= all_tags
    assert set(any_graph.user_tagged["dst"]) <= all_tags


def test_text_carries_topic_and_sentiment_signal(graph: SyntheticGraph) -> None:
    main_topic = graph.post_tagged[graph.post_tagged["weight"] == 1.0].set_index("src")["dst"]
    topic_of_post = graph.posts["id"].map(main_topic)
    vocab = {topic.name: topic.vocab for topic in TOPICS}
    texts = graph.posts["text"].to_numpy()
    uses_vocab = [any(word in text for word in vocab[topic]) for text, topic in zip(texts, topic_of_post)]
    assert np.mean(uses_vocab) >= 0.99
    has_sentiment = graph.posts["text"].str.contains("Loved it|disappointed|letdown|Mixed feelings|So good")
    assert 0.05 <= has_sentiment.mean() <= 0.6


def test_users_and_bios(any_graph: SyntheticGraph) -> None:
    users = any_graph.users
    assert users["name"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()
    truth = any_graph.communities.set_index("user")
    vocab = {topic.name: topic.vocab for topic in TOPICS}
    labels = {topic.name: topic.label for topic in TOPICS}
    primary = users["id"].map(truth["topic"])
    mentions_primary = [
        labels[t] in bio or any(word in bio for word in vocab[t]) for bio, t in zip(users["bio"], primary)
    ]
    assert all(mentions_primary)
    sentences = users["bio"].str.count(r"[.!?](?:\s|$)")
    assert sentences.between(1, 2).all()


def test_user_tags_follow_community_topics(any_graph: SyntheticGraph) -> None:
    truth = any_graph.communities.set_index("user")
    tags = any_graph.user_tagged
    strongest = tags.sort_values("weight", ascending=False).drop_duplicates("src").set_index("src")["dst"]
    assert (strongest.reindex(truth.index) == truth["topic"]).all()


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_canonical_round_trip(graph: SyntheticGraph, tmp_path: Path, fmt: str) -> None:
    paths = write_canonical(graph, tmp_path / fmt, fmt=fmt)
    assert set(paths) == set(KINDS) | {GROUND_TRUTH}
    for kind, path in paths.items():
        assert path.exists() and path.name == f"{kind}.{fmt}"
        expected = graph.communities if kind == GROUND_TRUTH else getattr(graph, kind)
        if fmt == "csv":
            back = pd.read_csv(path, dtype=str, keep_default_na=False)
            assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(expected.columns)
        else:
            back = pd.read_parquet(path)
            pd.testing.assert_frame_equal(back, expected, obj=kind)
        assert len(back) == len(expected), kind
        assert list(back.columns) == list(expected.columns), kind


def test_csv_text_and_booleans(graph: SyntheticGraph, tmp_path: Path) -> None:
    paths = write_canonical(graph, tmp_path, fmt="csv")
    users = pd.read_csv(paths["users"], dtype=str, keep_default_na=False)
    assert set(users["opt_out"]) == {"true", "false"}
    assert (users["opt_out"] == "true").sum() == graph.users["opt_out"].sum()
    posts = pd.read_csv(paths["posts"], dtype=str, keep_default_na=False)
    # Texts contain commas and apostrophes; quoting must round-trip them.
    assert posts["text"].str.contains(",").any()
    assert (posts["text"].to_numpy() == graph.posts["text"].to_numpy()).all()
    assert (users["bio"].to_numpy() == graph.users["bio"].to_numpy()).all()


def test_write_canonical_rejects_unknown_format(graph: SyntheticGraph, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt"):
        write_canonical(graph, tmp_path, fmt="json")


@pytest.mark.parametrize("n_users", [0, 99, -5, 1_000_001, 1000.5, "1000", True])
def test_invalid_n_users(n_users: object) -> None:
    with pytest.raises(ValueError, match="n_users"):
        generate(n_users)  # type: ignore[arg-type]


@pytest.mark.parametrize("n_communities", [0, 21, -1])
def test_invalid_n_communities(n_communities: int) -> None:
    with pytest.raises(ValueError, match="n_communities"):
        generate(100, n_communities=n_communities)


@pytest.mark.parametrize("posts_per_user", [0, -1.0, float("nan"), float("inf")])
def test_invalid_posts_per_user(posts_per_user: float) -> None:
    with pytest.raises(ValueError, match="posts_per_user"):
        generate(100, posts_per_user=posts_per_user)


def test_posts_per_user_scales_posts() -> None:
    few = generate(1000, seed=2, posts_per_user=1.0)
    many = generate(1000, seed=2, posts_per_user=6.0)
    assert 3 * len(few.posts) <= len(many.posts)
