"""The result queries of the catalogue, run after the whole pipeline on a small synthetic network.

The module builds one graph: 200 synthetic users ingested and embedded, then the sentiment,
communities, friends, recommend and reply jobs through their Python entry points (few epochs:
the queries are under test here, not the models).  Each query's result is checked against
the graph itself, mostly recomputed in Python from the raw relationships.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pandas as pd
import pytest
import torch

import graph
from graph.catalogue import bind_parameters, load_query, query_parameters, run_query
from graph.store import GraphStore
from graph.writeback import current_run
from jobs.cli import main
from graph.synthetic.vocabulary import TOPICS
from jobs.commands.demo import UPSET_FILM_POST, _print_reply_drafts
from jobs.friends.model import FriendsConfig
from jobs.friends.job import run_friends
from jobs.gnn.encoder import EncoderConfig
from jobs.recommend.job import run_recommend
from jobs.recommend.lightgcn import TrainConfig
from jobs.gnn.social import read_social_graph

N_USERS = 200  # the size of the `results` graph (tests/conftest.py)
CPU = torch.device("cpu")
JOBS = ("sentiment", "emotion", "communities", "friends", "recommend", "reply")


@pytest.fixture
def configured(results: GraphStore, monkeypatch: pytest.MonkeyPatch) -> GraphStore:
    """The results graph, also as the server that ``Settings.from_env()`` names (for the CLI and ``graph.run_query``)."""
    conn = results.connection
    for name, value in (("NEO4J_URI", conn.uri), ("NEO4J_USER", conn.user), ("NEO4J_PASSWORD", conn.password)):
        monkeypatch.setenv(name, value)
    return results


def _busiest(store: GraphStore, rel_type: str, job: str) -> str:
    """The user with the most results of ``job``'s current run (ties by id)."""
    return store.read(
        f"MATCH (run:JobRun {{job: $job, current: true}}) MATCH (u:User)-[s:{rel_type} {{run_id: run.id}}]->() "
        "RETURN u.id AS id, count(s) AS n ORDER BY n DESC, id LIMIT 1",
        {"job": job},
    )[0]["id"]


def _memberships(store: GraphStore) -> dict[str, int]:
    rows = store.read(
        "MATCH (run:JobRun {job: 'communities', current: true}) "
        "MATCH (u:User)-[:IN_COMMUNITY {run_id: run.id}]->(c:Community) RETURN u.id AS user, c.index AS community"
    )
    return {r["user"]: r["community"] for r in rows}


def test_parameters_are_declared_and_required_ones_are_named() -> None:
    assert query_parameters(load_query("friend_suggestions")) == {"run_id": None, "user": ...}
    assert query_parameters(load_query("job_runs")) == {"job": None, "limit": 50}
    assert bind_parameters("job_runs", load_query("job_runs"), {"job": "friends"}) == {"job": "friends", "limit": 50}
    with pytest.raises(ValueError, match="needs user: python -m jobs query friend_suggestions user="):
        bind_parameters("friend_suggestions", load_query("friend_suggestions"), {})


def test_friend_suggestions_are_ranked_reasoned_and_never_followed_or_opted_out(results: GraphStore) -> None:
    user = _busiest(results, "SUGGESTED_FRIEND", "friends")
    frame = run_query("friend_suggestions", store=results, user=user)
    assert 3 <= len(frame) <= 5
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))
    assert frame["score"].is_monotonic_decreasing and frame["reason"].str.len().gt(0).all()
    assert (frame["run_id"] == current_run(results, "friends")["id"]).all()
    followed = {r["id"] for r in results.read("MATCH (:User {id: $u})-[:FOLLOWS]->(v) RETURN v.id AS id", {"u": user})}
    opted = {r["id"] for r in results.read("MATCH (u:User {opt_out: true}) RETURN u.id AS id")}
    assert opted and not set(frame["user"]) & (followed | opted | {user})


def test_recommendations_are_ranked_reasoned_new_to_the_user_and_never_by_opted_out_authors(results: GraphStore) -> None:
    user = _busiest(results, "RECOMMENDED", "recommend")
    frame = run_query("recommendations", store=results, user=user)
    assert 3 <= len(frame) <= 5
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))
    assert frame["score"].is_monotonic_decreasing and frame["reason"].str.len().gt(0).all()
    assert frame["text"].str.len().gt(0).all()
    known = {r["id"] for r in results.read("MATCH (:User {id: $u})-[:INTERACTED]->(p) RETURN p.id AS id", {"u": user})}
    hidden = {r["id"] for r in results.read("MATCH (:User {opt_out: true})-[:POSTED]->(p) RETURN p.id AS id")}
    assert hidden and not set(frame["post"]) & (known | hidden)


def test_communities_partition_every_user_and_carry_keywords_and_sentiment(results: GraphStore) -> None:
    frame = run_query("communities", store=results)
    run = current_run(results, "communities")
    assert len(frame) == run["metrics"]["communities"] >= 2
    assert frame["size"].sum() == N_USERS and abs(frame["share"].sum() - 1.0) < 1e-3
    assert frame["size"].is_monotonic_decreasing
    assert sorted(frame["community"]) == list(range(len(frame)))
    assert frame["keywords"].map(len).gt(0).all() and frame["label"].str.len().gt(0).all()
    assert frame["sentiment"].between(-1, 1).all(), "the sentiment job ran before the communities job"
    members = _memberships(results)
    assert Counter(members.values()) == dict(zip(frame["community"], frame["size"]))
    for row in frame.itertuples():
        assert 1 <= len(row.central) <= 3 and all(members[u] == row.community for u in row.central)


def test_community_by_index_or_id_lists_its_members_most_central_first(results: GraphStore) -> None:
    overview = run_query("communities", store=results).iloc[0]
    by_index = run_query("community", store=results, community=int(overview["community"]))
    by_id = run_query("community", store=results, community=overview["id"])
    pd.testing.assert_frame_equal(by_index, by_id)
    members = _memberships(results)
    assert set(by_index["user"]) == {u for u, c in members.items() if c == overview["community"]}
    assert len(by_index) == overview["size"] and (by_index["size"] == overview["size"]).all()
    assert by_index["score"].is_monotonic_decreasing
    assert by_index["user"].head(len(overview["central"])).tolist() == overview["central"]
    assert by_index["keywords"].iloc[0] == overview["keywords"]
    assert by_index["user_sentiment"].dropna().between(-1, 1).all() and by_index["user_sentiment"].notna().any()
    assert run_query("community", store=results, community=999).empty


def _participation(store: GraphStore, members: dict[str, int]) -> dict[str, tuple[int, int, float]]:
    """Recomputes (friends, communities, participation coefficient) per user from the FOLLOWS pairs."""
    friends: dict[str, set[str]] = defaultdict(set)
    for r in store.read("MATCH (a:User)-[:FOLLOWS]->(b:User) RETURN a.id AS a, b.id AS b"):
        friends[r["a"]].add(r["b"])
        friends[r["b"]].add(r["a"])
    out = {}
    for user, theirs in friends.items():
        counts = Counter(members[f] for f in theirs)
        out[user] = (len(theirs), len(counts), 1.0 - sum((n / len(theirs)) ** 2 for n in counts.values()))
    return out


def test_bridges_are_the_users_whose_friends_spread_over_most_communities(results: GraphStore) -> None:
    frame = run_query("bridges", store=results, k=10)
    expected = _participation(results, _memberships(results))
    opted = {r["id"] for r in results.read("MATCH (u:User {opt_out: true}) RETURN u.id AS id")}
    eligible = {u: v for u, v in expected.items() if v[0] >= 3 and u not in opted}
    assert len(frame) == 10 and not set(frame["user"]) & opted
    for row in frame.itertuples():
        degree, communities, participation = expected[row.user]
        assert (row.friends, row.communities) == (degree, communities)
        assert row.participation == pytest.approx(participation, abs=1e-4)
    assert frame["participation"].is_monotonic_decreasing
    best = sorted((v[2] for v in eligible.values()), reverse=True)[:10]
    assert frame["participation"].tolist() == pytest.approx(best, abs=1e-4)
    assert frame["communities"].iloc[0] >= 2 and frame["friends_elsewhere"].iloc[0] >= 1


def test_community_sentiment_over_time_matches_the_members_posts_by_month(results: GraphStore) -> None:
    frame = run_query("community_sentiment_over_time", store=results)
    members = _memberships(results)
    posts = pd.DataFrame(
        results.read(
            "MATCH (u:User)-[:POSTED]->(p:Post) WHERE p.sentiment_score IS NOT NULL AND p.created_at IS NOT NULL "
            "RETURN u.id AS user, p.sentiment_score AS score, p.created_at AS at"
        )
    )
    posts["community"] = posts["user"].map(members)
    posts["month"] = [at.to_native().strftime("%Y-%m") for at in posts["at"]]
    expected = posts.groupby(["community", "month"])["score"].agg(["count", "mean"]).reset_index()
    assert len(frame) == len(expected) and frame["month"].nunique() >= 2
    merged = frame.merge(expected, on=["community", "month"])
    assert len(merged) == len(frame)
    assert (merged["posts"] == merged["count"]).all()
    assert (merged["sentiment"] - merged["mean"]).abs().max() < 1e-3
    assert (frame["positive"] + frame["negative"]).between(0, 1).all()
    one = run_query("community_sentiment_over_time", store=results, community=0)
    assert set(one["community"]) == {0} and len(one) == (frame["community"] == 0).sum()


def test_community_emotions_count_the_members_labelled_posts(results: GraphStore) -> None:
    frame = run_query("community_emotions", store=results)
    members = _memberships(results)
    posts = pd.DataFrame(results.read("MATCH (u:User)-[:POSTED]->(p:Post) WHERE p.emotion IS NOT NULL RETURN u.id AS user, p.emotion AS emotion"))
    posts["community"] = posts["user"].map(members)
    expected = posts.groupby("community")["emotion"].value_counts(normalize=True).unstack(fill_value=0.0)
    assert len(frame) == len(expected) >= 2 and frame["posts"].sum() == len(posts)
    for row in frame.itertuples():
        shares = expected.loc[row.community]
        for emotion in ("anger", "joy", "optimism", "sadness"):
            assert abs(getattr(row, emotion) - shares.get(emotion, 0.0)) < 1e-3
        assert row.top == shares.idxmax() or shares[row.top] == shares.max()
    one = run_query("community_emotions", store=results, community=0)
    assert one["community"].tolist() == [0]


def test_job_runs_lists_the_pipelines_runs_newest_first_with_their_metrics(results: GraphStore) -> None:
    frame = run_query("job_runs", store=results)
    assert sorted(frame["job"]) == sorted(JOBS)
    assert (frame["status"] == "completed").all() and frame["current"].all() and not frame["purged"].any()
    assert frame["started_at"].is_monotonic_decreasing
    assert frame["job"].tolist()[0] == "reply", "the reply job ran last"
    assert (frame["finished_at"] >= frame["started_at"]).all() and frame["seconds"].ge(0).all()
    metrics = {row.job: json.loads(row.metrics) for row in frame.itertuples()}
    assert metrics["communities"]["communities"] >= 2 and metrics["friends"]["suggestions"] > 0
    assert metrics["sentiment"]["posts_classified"] == results.node_count("Post")
    friends = run_query("job_runs", store=results, job="friends")
    assert friends["run_id"].tolist() == [current_run(results, "friends")["id"]]
    assert len(run_query("job_runs", store=results, limit=2)) == 2


def test_query_command_prints_a_table_and_names_a_missing_parameter(
    configured: GraphStore, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    user = _busiest(configured, "SUGGESTED_FRIEND", "friends")
    suggested = run_query("friend_suggestions", store=configured, user=user)["user"].tolist()
    assert main(["query", "friend_suggestions", f"user={user}"]) == 0
    out = capsys.readouterr().out
    assert "| rank | user" in out and all(s in out for s in suggested) and f"{len(suggested)} rows" in out
    assert main(["query", "friend_suggestions"]) == 2
    assert "needs user" in caplog.text
    assert main(["query", "no_such_query"]) == 2


def test_status_command_prints_every_run_with_key_metrics(configured: GraphStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for job in JOBS:
        [line] = [line for line in lines if line.startswith(f"| {job} ")]
        assert "| completed " in line and "| True " in line and current_run(configured, job)["id"] in line
    assert any("modularity=" in line for line in lines) and any("suggestions=" in line for line in lines)
    assert main(["status", "--job", "friends"]) == 0
    assert "1 row" in capsys.readouterr().out


def test_graph_package_exposes_run_query(configured: GraphStore) -> None:
    assert graph.run_query is run_query
    assert set(graph.run_query("job_runs")["job"]) == set(JOBS), "without a store: the configured server"


def test_suggestion_acceptance_counts_suggestions_that_became_connections(results: GraphStore) -> None:
    """Last in the module: it adds connections and supersedes the friends and recommend runs."""
    before = run_query("suggestion_acceptance", store=results).set_index("job")
    assert set(before.index) == {"friends", "recommend"} and (before["measured"] == "live").all()
    assert (before["accepted"] == 0).all() and (before["acceptance"] == 0).all()
    friends_run, recommend_run = current_run(results, "friends"), current_run(results, "recommend")
    assert before.loc["friends", "shown"] == friends_run["metrics"]["suggestions"]
    assert before.loc["recommend", "shown"] == recommend_run["metrics"]["recommendations"]

    user = _busiest(results, "SUGGESTED_FRIEND", "friends")
    followed = run_query("friend_suggestions", store=results, user=user)["user"].tolist()[:3]
    liked = run_query("recommendations", store=results, user=user)["post"].tolist()[:2]
    results.write("MATCH (a:User {id: $u}), (b:User) WHERE b.id IN $ids CREATE (a)-[:FOLLOWS]->(b)", {"u": user, "ids": followed})
    results.write(
        "MATCH (a:User {id: $u}), (p:Post) WHERE p.id IN $ids CREATE (a)-[:INTERACTED {kind: 'like', weight: 1.0, at: datetime()}]->(p)",
        {"u": user, "ids": liked},
    )
    after = run_query("suggestion_acceptance", store=results).set_index("job")
    assert after.loc["friends", "accepted"] == 3 and after.loc["recommend", "accepted"] == 2
    assert after.loc["friends", "acceptance"] == pytest.approx(3 / after.loc["friends", "shown"], abs=1e-4)
    assert not set(followed) & set(run_query("friend_suggestions", store=results, user=user)["user"])
    assert not set(liked) & set(run_query("recommendations", store=results, user=user)["post"])

    # Each job records how its old run fared just before superseding it; the superseded run's
    # relationships stay until the next publish, so it is still measured live.
    social = read_social_graph(results)
    run_friends(results, social, FriendsConfig(k=5, encoder=EncoderConfig(epochs=5)), seed=1, device=CPU)
    run_recommend(results, k=5, config=TrainConfig(epochs=2, batch_size=1024, lr=1e-2), device=CPU)
    history = run_query("suggestion_acceptance", store=results).set_index("run_id")
    assert history.index.tolist()[:2] == [current_run(results, "recommend")["id"], current_run(results, "friends")["id"]]
    assert (history["measured"].iloc[:2] == "live").all()
    old = history.loc[friends_run["id"]]
    assert (old["status"], old["measured"], old["shown"], old["accepted"]) == ("superseded", "live", before.loc["friends", "shown"], 3)
    assert old["acceptance"] == pytest.approx(3 / old["shown"], abs=1e-4)
    old = history.loc[recommend_run["id"]]
    assert (old["status"], old["measured"], old["shown"], old["accepted"]) == ("superseded", "live", before.loc["recommend", "shown"], 2)

    # One more publish deletes the first run's relationships: its recorded figures remain.
    run_friends(results, social, FriendsConfig(k=5, encoder=EncoderConfig(epochs=5)), seed=2, device=CPU)
    old = run_query("suggestion_acceptance", store=results).set_index("run_id").loc[friends_run["id"]]
    assert (old["status"], old["measured"], old["shown"], old["accepted"]) == ("superseded", "recorded", before.loc["friends", "shown"], 3)


def test_demo_prints_reply_drafts_for_the_most_upset_film_post(results: GraphStore, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's third story: someone upset about a film gets reply drafts."""
    post = results.read(UPSET_FILM_POST)
    assert post, "the synthetic network after the sentiment job has a negative post about films"
    found = results.read("MATCH (p:Post {id: $id}) RETURN p.sentiment AS s, p.text AS t", {"id": post[0]["id"]})[0]
    assert found["s"] == "negative" and any(w in found["t"].lower() for w in ("film", "movie", "cinema", "screening"))
    _print_reply_drafts(results)
    out = capsys.readouterr().out
    assert f"Reply drafts for {post[0]['id']}" in out
    # The emotion job has labelled the post: an upset post is sad or angry, not joyful or hopeful.
    assert post[0]["emotion"] in ("sadness", "anger") and f"emotion {post[0]['emotion']} 0." in out, out
    drafts = [line for line in out.splitlines() if line.startswith("1. [")]
    assert drafts, out
    top, text = drafts[0].lower(), found["t"].lower()
    assert any(w in top for w in ("disappoint", "letdown", "let down", "frustrat", "sorry")), "acknowledges the feeling"
    film = next(t for t in TOPICS if t.name == "film")
    named = [phrase for phrase in film.vocab if phrase.lower() in text and phrase.lower() in top]
    assert named, f"the top draft names the film phrase of the post: {top}"
