"""Reply drafts on a real Neo4j with real vectors: retrieval's exclusions, tone, ranked drafts, batch runs, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from graph.catalogue import load_query
from graph.config import Settings
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.schema import ensure_schema
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from graph.writeback import current_run
from jobs.embed.job import run_embed
from jobs.reply.job import RETRIEVAL_ONLY, ReplySettings, suggest_replies, write_suggestions
from text.embeddings import Encoder
from jobs.reply.evaluate import WRITTEN_STANCE, Corpus, Pick, query_groups, random_picks, reply_picks, score_drafts, suggestion_picks
from text.replies.retrieval import (
    RETRIEVAL,
    RETRIEVAL_SENTIMENT,
    Candidate,
    Suggestion,
    context_vector,
    dedupe_key,
    draft_text,
    rank_candidates,
    tone_fit,
)

REPO = Path(__file__).resolve().parents[2]
RETRIEVAL_SETTINGS = ReplySettings(method=RETRIEVAL_ONLY)
QUERY = "q-main"
ADMISSIBLE = "r-ok"
FORBIDDEN = {
    "r-own": "written by the query post's own author",
    "r-self": "a self-reply",
    "r-optout": "written by an opted-out user",
    "r-to-optout": "a reply to an opted-out user's post",
}


def _plant(store: GraphStore) -> None:
    """Adds a query post with a thread, and near-copies of it whose replies are each forbidden but one."""
    text = "Spent the whole weekend on sunrise hikes along the mountain ridge with my new hiking boots."
    users = [
        {"id": uid, "opt_out": uid == "x-optout"}
        for uid in ("x-author", "x-b", "x-c", "x-d", "x-e", "x-f", "x-g", "x-optout")
    ]
    posts = [
        {"id": QUERY, "text": text, "by": "x-author"},
        {"id": "q-reply", "text": "Which trail was it? The ridge at dawn must have been stunning.", "by": "x-b"},
        {"id": "q-reply-2", "text": "It was the north ridge trail, highly recommended for sunrise hikes.", "by": "x-author"},
        {"id": "s-own", "text": text + " Again!", "by": "x-b"},
        {"id": "r-own", "text": "@pat Sunrise on the ridge is the best, enjoy the hiking boots!", "by": "x-author"},
        {"id": "s-self", "text": text + " So happy.", "by": "x-c"},
        {"id": "r-self", "text": "Sunrise on the ridge is the best, and my boots held up fine.", "by": "x-c"},
        {"id": "s-optout", "text": text + " Really.", "by": "x-d"},
        {"id": "r-optout", "text": "Sunrise on a mountain ridge is the best, enjoy your new boots!", "by": "x-optout"},
        {"id": "s-to-optout", "text": text + " Truly.", "by": "x-optout"},
        {"id": "r-to-optout", "text": "Sunrise hikes on a ridge are the best, enjoy those new boots!", "by": "x-e"},
        {"id": "s-ok", "text": text + " Wow.", "by": "x-f"},
        {"id": ADMISSIBLE, "text": "@sam_k Sunrise hikes on the ridge are wonderful, enjoy the new boots!", "by": "x-g"},
    ]
    replies = [
        ("q-reply", QUERY), ("q-reply-2", "q-reply"), ("r-own", "s-own"), ("r-self", "s-self"),
        ("r-optout", "s-optout"), ("r-to-optout", "s-to-optout"), (ADMISSIBLE, "s-ok"),
    ]
    store.write("UNWIND $users AS u CREATE (:User {id: u.id, opt_out: u.opt_out})", {"users": users})
    store.write(
        "UNWIND $posts AS p MATCH (u:User {id: p.by}) CREATE (u)-[:POSTED]->(:Post {id: p.id, text: p.text})",
        {"posts": posts},
    )
    store.write(
        "UNWIND $pairs AS pair MATCH (a:Post {id: pair[0]}), (b:Post {id: pair[1]}) CREATE (a)-[:REPLY_TO]->(b)",
        {"pairs": [list(p) for p in replies]},
    )


@pytest.fixture(scope="module")
def graph(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    """A small synthetic network with the planted posts, embedded once for the module's tests."""
    out = tmp_path_factory.mktemp("reply-synthetic")
    write_canonical(generate(100, seed=7), out)
    with GraphStore.from_settings(settings) as store:
        store.wipe()
        ensure_schema(store)
        assert run_steps(Loader(store, RejectLog(None)), canonical_dir_steps(out)).rejected == 0
        _plant(store)
        run_embed(store, Encoder("all-MiniLM-L6-v2", device="cpu"))
        yield store


def test_retrieval_returns_ranked_suggestions_without_forbidden_ones(graph: GraphStore) -> None:
    suggestions = suggest_replies(graph, [QUERY], RETRIEVAL_SETTINGS)[QUERY]
    assert 1 <= len(suggestions) <= 3
    assert [s.rank for s in suggestions] == list(range(1, len(suggestions) + 1))
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
    assert all(s.method == RETRIEVAL and s.reason for s in suggestions)
    top = suggestions[0]
    assert top.source == ADMISSIBLE and top.parent == "s-ok"
    assert top.text == "Sunrise hikes on the ridge are wonderful, enjoy the new boots!", "leading @-mention dropped"
    sources = {s.source for s in suggestions}
    for reply, why in FORBIDDEN.items():
        assert reply not in sources, f"{reply} is {why}"
    assert not sources & {QUERY, "q-reply", "q-reply-2"}, "the post's own thread is never suggested"


@pytest.mark.parametrize("config", [RETRIEVAL_SETTINGS, ReplySettings()], ids=["retrieval", "ranked"])
def test_every_retrieved_suggestion_on_the_graph_respects_the_exclusions(graph: GraphStore, config: ReplySettings) -> None:
    ids = [r["id"] for r in graph.read("MATCH (p:Post)<-[:POSTED]-(:User) RETURN p.id AS id ORDER BY id LIMIT 60")]
    found = suggest_replies(graph, ids, config)
    assert sum(bool(s) for s in found.values()) >= len(ids) // 2
    if config.method != RETRIEVAL_ONLY:
        assert all(len(s) == 3 for s in found.values()), "every post with text gets three drafts"
        found = {pid: [s for s in suggestions if s.source is not None] for pid, suggestions in found.items()}
    opted = {r["id"] for r in graph.read("MATCH (:User {opt_out: true})-[:POSTED]->(p:Post) RETURN p.id AS id")}
    assert opted, "the synthetic network plants opted-out users"
    for pid, suggestions in found.items():
        for s in suggestions:
            [row] = graph.read(
                "MATCH (q:Post {id: $q}), (r:Post {id: $r})-[:REPLY_TO]->(s:Post {id: $s}) "
                "OPTIONAL MATCH (qa:User)-[:POSTED]->(q) OPTIONAL MATCH (ra:User)-[:POSTED]->(r) "
                "OPTIONAL MATCH (sa:User)-[:POSTED]->(s) "
                "RETURN qa.id AS qa, ra.id AS ra, sa.id AS sa, EXISTS { (r)-[:REPLY_TO*1..]->(q) } AS below",
                {"q": pid, "r": s.source, "s": s.parent},
            )
            assert s.source not in opted and s.parent not in opted
            assert row["ra"] != row["qa"] and row["ra"] != row["sa"] and not row["below"]


def test_a_negative_post_gets_no_negative_suggestion_when_sentiment_is_present(graph: GraphStore) -> None:
    graph.write("MATCH (p:Post {id: $id}) SET p.sentiment = 'negative', p.sentiment_score = -0.8", {"id": QUERY})
    graph.write("MATCH (p:Post {id: $id}) SET p.sentiment = 'negative', p.sentiment_score = -0.9", {"id": ADMISSIBLE})
    graph.write(
        "MATCH (r:Post)-[:REPLY_TO]->(:Post) WHERE r.id <> $id SET r.sentiment = 'positive', r.sentiment_score = 0.6",
        {"id": ADMISSIBLE},
    )
    try:
        suggestions = suggest_replies(graph, [QUERY], RETRIEVAL_SETTINGS)[QUERY]
        assert suggestions and all(s.method == RETRIEVAL_SENTIMENT for s in suggestions)
        assert ADMISSIBLE not in {s.source for s in suggestions}, "the most similar reply is negative"
        tones = graph.read(
            "UNWIND $ids AS id MATCH (p:Post {id: id}) RETURN p.sentiment AS s", {"ids": [s.source for s in suggestions]}
        )
        assert all(t["s"] != "negative" for t in tones)
    finally:
        graph.write("MATCH (p:Post) REMOVE p.sentiment, p.sentiment_score")


def test_batch_writes_ranked_relationships_and_a_rerun_replaces_them(graph: GraphStore) -> None:
    first = write_suggestions(graph, config=ReplySettings(), page=100)
    assert first.posts == graph.read("MATCH (p:Post) WHERE p.embedding IS NOT NULL RETURN count(p) AS n")[0]["n"]
    rels = graph.read(
        "MATCH (p:Post)-[s:SUGGESTED_REPLY]->(r:Post) RETURN p.id AS post, r.id AS source, s.rank AS rank, "
        "s.score AS score, s.method AS method, s.run_id AS run_id, s.text AS text, s.reason AS reason"
    )
    assert len(rels) == first.suggestions > 0
    assert {r["run_id"] for r in rels} == {first.run_id} == {current_run(graph, "reply")["id"]}
    by_post: dict[str, list[dict]] = {}
    for rel in rels:
        by_post.setdefault(rel["post"], []).append(rel)
        assert rel["method"] in ("composed", "retrieved", "help") and rel["text"] and rel["reason"]
        assert isinstance(rel["score"], float)
        assert (rel["source"] == rel["post"]) == (rel["method"] != "retrieved"), "a written draft points at its own post"
    for post_rels in by_post.values():
        post_rels.sort(key=lambda r: r["rank"])
        assert [r["rank"] for r in post_rels] == list(range(1, len(post_rels) + 1)) and len(post_rels) <= 3
        assert [r["score"] for r in post_rels] == sorted((r["score"] for r in post_rels), reverse=True)
    listed = graph.read(load_query("suggested_replies"), {"post": QUERY, "run_id": None})
    assert [r["source"] for r in listed] == [None if r["source"] == QUERY else r["source"] for r in by_post[QUERY]]
    assert [r["text"] for r in listed] == [r["text"] for r in by_post[QUERY]] and listed[0]["run_id"] == first.run_id
    assert first.methods.get("composed", 0) > 0

    def crash(done: int) -> None:
        raise RuntimeError("killed halfway")

    with pytest.raises(RuntimeError):
        write_suggestions(graph, page=100, on_progress=crash)
    assert current_run(graph, "reply")["id"] == first.run_id
    assert graph.read("MATCH ()-[s:SUGGESTED_REPLY]->() RETURN collect(DISTINCT s.run_id) AS r")[0]["r"] == [first.run_id]
    assert graph.relationship_count("SUGGESTED_REPLY") == first.suggestions

    second = write_suggestions(graph, page=100)
    assert second.run_id != first.run_id and second.suggestions == first.suggestions
    kept = graph.read("MATCH ()-[s:SUGGESTED_REPLY]->() RETURN collect(DISTINCT s.run_id) AS r")[0]["r"]
    assert sorted(kept) == sorted([first.run_id, second.run_id]), "the superseded run stays until the next publish"
    assert graph.read(load_query("suggested_replies"), {"post": QUERY, "run_id": None})[0]["run_id"] == second.run_id


def test_a_limited_run_refreshes_its_posts_and_carries_the_others_over(graph: GraphStore) -> None:
    full = write_suggestions(graph, page=100)
    by_run = (
        "MATCH (p:Post)-[s:SUGGESTED_REPLY {run_id: $run}]->(r:Post) "
        "RETURN p.id AS post, r.id AS source, s.rank AS rank ORDER BY post, rank"
    )
    before = graph.read(by_run, {"run": full.run_id})
    limited = write_suggestions(graph, limit=5, page=100)
    assert limited.posts == 5 and current_run(graph, "reply")["id"] == limited.run_id
    after = graph.read(by_run, {"run": limited.run_id})
    assert {r["post"] for r in after} == {r["post"] for r in before}, "no post lost its suggestions"
    refreshed = set(sorted({r["post"] for r in before})[:5])
    kept = [r for r in before if r["post"] not in refreshed]
    assert [r for r in after if r["post"] not in refreshed] == kept
    assert current_run(graph, "reply")["metrics"]["carried_over"] == len(kept) > 0


def test_cli_prints_three_drafts_and_the_retrieval_method_on_request(graph: GraphStore) -> None:
    conn = graph.connection
    env = {**os.environ, "NEO4J_URI": conn.uri, "NEO4J_USER": conn.user, "NEO4J_PASSWORD": conn.password}
    done = subprocess.run(
        [sys.executable, "-m", "jobs", "reply", "--post", QUERY], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(lines) == 3 and all(" composed]" in line or " retrieved, from " in line for line in lines), lines
    retrieval = subprocess.run(
        [sys.executable, "-m", "jobs", "reply", "--post", QUERY, "--method", "retrieval"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    first = next(line for line in retrieval.stdout.splitlines() if line.startswith("1. ["))
    assert f"retrieval, from {ADMISSIBLE}]" in first
    unknown = subprocess.run(
        [sys.executable, "-m", "jobs", "reply", "--post", "no-such-post"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert unknown.returncode == 1 and "no post" in unknown.stdout


def test_ranking_rules() -> None:
    cands = [
        Candidate("a", "pa", "@x Great news, congratulations!", 0.9, 0.8, "positive", 0.9),
        Candidate("b", "pb", "@y great news,   congratulations! https://t.co/z", 0.95, 0.85, "positive", 0.9),
        Candidate("c", "pc", "That is awful.", 0.99, 0.9, "negative", -0.9),
        Candidate("d", "pd", "Okay.", 0.5, 0.4, None, None),
        Candidate("e", "pe", "@only @mentions", 0.2, 0.1, None, None),
        Candidate("f", "pf", "“@news: Great news, a quoted tweet” wow", 0.99, 0.99, None, None),
        Candidate("g", "pg", "RT @news: Great news, a retweet", 0.99, 0.99, None, None),
    ]
    plain = rank_candidates(cands, None)
    assert [s.source for s in plain] == ["c", "b", "d"], "b and a are one draft; f and g only restate another tweet"
    assert plain[1].text == "great news,   congratulations! https://t.co/z"
    sad = rank_candidates(cands, "negative", k=5)
    assert "c" not in {s.source for s in sad} and all(s.method == RETRIEVAL_SENTIMENT for s in sad)
    assert draft_text("@a @b: hello @c") == "hello @c" and dedupe_key(draft_text("@e @f")) == ""
    assert tone_fit("neutral", 0.9) is None and tone_fit("positive", 1.0) == 1.0 and tone_fit("positive", -1.0) == 0.0
    assert tone_fit("negative", None) == 0.5
    post, earlier = np.array([1.0, 0.0], dtype=np.float32), np.array([[0.0, 2.0]], dtype=np.float32)
    np.testing.assert_allclose(context_vector(post, None, 0.5), post)
    np.testing.assert_allclose(context_vector(post, earlier, 0.5), np.array([2.0, 1.0]) / np.sqrt(5.0), rtol=1e-6)


def test_evaluation_scores_hidden_replies_by_cosine_and_stance() -> None:
    unit = np.eye(3, dtype=np.float32)
    corpus = Corpus(
        ids=["a", "a1", "a2", "b", "b1", "b2"],
        stance={"a": "support", "a1": "deny", "a2": "comment", "b": "support", "b1": "deny", "b2": "query"},
        thread={"a": "a", "a1": "a", "a2": "a", "b": "b", "b1": "b", "b2": "b"},
        replies_of={"a": ["a1"], "a1": ["a2"], "b": ["b1", "b2"]},
        post_vectors={},
        reply_ids=["a1", "a2", "b1", "b2"],
        draft_vectors=unit[[0, 1, 0, 2]],
        row={"a1": 0, "a2": 1, "b1": 2, "b2": 3},
    )
    assert query_groups(corpus) == {"sources": ["a", "b"], "replies": ["a1"]}
    scores = score_drafts(corpus, reply_picks(corpus, {"a": ["b1"], "b": ["a2", "a1"]}), ["a", "b"])
    assert scores["top1_best_cosine"] == 0.5, "a's draft equals its reply; b's top draft is orthogonal to b's"
    assert scores["mean_cosine"] == 0.625 and scores["stance_match"] == 0.5
    assert scores["with_suggestions"] == 2
    assert score_drafts(corpus, {}, ["a"])["mean_cosine"] == 0.0
    picks = random_picks(corpus, ["a", "b"], 2, seed=0)
    assert set(picks["a"]) == {"b1", "b2"} and set(picks["b"]) == {"a1", "a2"}, "never from the query's own thread"
    written = Suggestion(1, "a written draft", 0.5, "composed", None, None, 0.5, "why")
    retrieved = Suggestion(2, "b1's text", 0.4, "retrieved", "b1", "b", 0.4, "why")
    mixed = suggestion_picks(corpus, {"a": [written, retrieved]}, lambda texts: unit[[1] * len(texts)])
    assert [p.stance for p in mixed["a"]] == [WRITTEN_STANCE, "deny"]
    np.testing.assert_array_equal(mixed["a"][0].vector, unit[1])
    assert score_drafts(corpus, mixed, ["a"])["top1_cosine"] == 0.0, "the written draft is orthogonal to a's reply"
    assert isinstance(mixed["a"][1], Pick)
