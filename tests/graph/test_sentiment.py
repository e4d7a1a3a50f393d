"""Sentiment: the shipped classifier on awkward and mixed-language texts, and the sentiment job on a real Neo4j."""

from __future__ import annotations

import numpy as np
import pytest

from graph.store import GraphStore
from jobs.embed.job import run_embed
from jobs.sentiment.job import run_sentiment
from text.embeddings import Encoder
from text.sentiment import SentimentClassifier, language_of


def test_awkward_texts_are_classified_without_crashing(classifier: SentimentClassifier) -> None:
    texts = ["", "   \n\t", "I love this, best day ever! " * 40_000, "今天去爬山了 and the view was amazing 🏔️", "🙂", "今天真开心，太棒了！"]
    result = classifier.predict(texts)
    assert len(result.labels) == len(texts) and result.probabilities.shape == (len(texts), 3)
    assert result.labels[:2] == ["neutral", "neutral"] and result.scores[:2].tolist() == [0.0, 0.0]
    # Six ideographs against twenty Latin letters: mostly English, so the English head reads it.
    assert result.languages == ["none", "none", "en", "en", "en", "zh"]
    assert result.labels[2] == "positive" and result.labels[5] == "positive"
    assert np.all(np.abs(result.scores) <= 1.0) and np.allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_language_routing() -> None:
    assert language_of("我今天很高兴 ok") == "zh"
    assert language_of("a long English sentence with one 字") == "en"


def _sentiments(store: GraphStore) -> dict[str, dict]:
    rows = store.read(
        "MATCH (p:Post) WHERE p.sentiment IS NOT NULL RETURN p.id AS id, p.sentiment AS label, "
        "p.sentiment_score AS score, p.sentiment_model AS model"
    )
    return {r["id"]: r for r in rows}


def test_job_writes_every_post_reuses_stored_vectors_and_skips_unchanged(graph: GraphStore, classifier: SentimentClassifier) -> None:
    run_embed(graph, Encoder("all-MiniLM-L6-v2", device="cpu"))
    posts = graph.node_count("Post")
    summary = run_sentiment(graph, classifier, page_size=250)
    written = _sentiments(graph)
    assert summary.posts_classified == len(written) == posts
    assert summary.vectors_reused == posts
    assert {r["label"] for r in written.values()} <= {"negative", "neutral", "positive"}
    assert all(-1.0 <= r["score"] <= 1.0 and r["model"] == classifier.name for r in written.values())
    texts = {r["id"]: r["t"] for r in graph.read("MATCH (p:Post) RETURN p.id AS id, p.text AS t")}
    sample = sorted(texts)[:40]
    fresh = classifier.predict([texts[i] for i in sample])
    assert fresh.labels == [written[i]["label"] for i in sample]
    np.testing.assert_allclose(fresh.scores, [written[i]["score"] for i in sample], atol=1e-4)

    again = run_sentiment(graph, classifier)
    assert again.posts_classified == 0 and again.posts_unchanged == posts
    post = sample[0]
    graph.write("MATCH (p:Post {id: $id}) SET p.text = 'This is awful, I hate it, worst day ever'", {"id": post})
    changed = run_sentiment(graph, classifier)
    assert changed.posts_classified == 1 and changed.vectors_reused == 0
    assert _sentiments(graph)[post]["label"] == "negative"
    runs = graph.read("MATCH (r:JobRun {job: 'sentiment'}) RETURN r.current AS current, r.status AS status")
    assert sorted((r["current"], r["status"]) for r in runs) == [(False, "superseded")] * 2 + [(True, "completed")]


def test_job_handles_blank_huge_mixed_posts_and_aggregates_users(store: GraphStore, classifier: SentimentClassifier) -> None:
    store.write(
        "CREATE (a:User {id: 'a'}), (b:User {id: 'b'}) WITH a, b "
        "UNWIND $rows AS r CREATE (p:Post {id: r.id, text: r.text}) "
        "WITH a, b, p, r FOREACH (_ IN CASE WHEN r.author = 'a' THEN [1] ELSE [] END | CREATE (a)-[:POSTED]->(p)) "
        "FOREACH (_ IN CASE WHEN r.author = 'b' THEN [1] ELSE [] END | CREATE (b)-[:POSTED]->(p))",
        {
            "rows": [
                {"id": "blank", "text": "   \n\t ", "author": "a"},
                {"id": "empty", "text": "", "author": "a"},
                {"id": "huge", "text": "terrible awful service " * 50_000, "author": "a"},
                {"id": "mixed", "text": "今天去爬山了，风景太美了 and the view was amazing 🏔️", "author": "b"},
                {"id": "happy", "text": "I love this, what a wonderful day!", "author": "b"},
            ]
        },
    )
    summary = run_sentiment(store, classifier)
    assert summary.posts_classified == 3 and summary.posts_without_text == 2
    written = _sentiments(store)
    assert set(written) == {"huge", "mixed", "happy"}
    assert written["huge"]["label"] == "negative" and written["happy"]["label"] == "positive"
    users = {r["id"]: r for r in store.read("MATCH (u:User) RETURN u.id AS id, u.sentiment_mean AS mean, u.sentiment_posts AS n")}
    assert users["a"]["n"] == 1 and users["a"]["mean"] == pytest.approx(written["huge"]["score"])
    assert users["b"]["n"] == 2
    assert users["b"]["mean"] == pytest.approx((written["mixed"]["score"] + written["happy"]["score"]) / 2)
    store.write("MATCH (p:Post {id: 'happy'}) SET p.text = ' '")
    run_sentiment(store, classifier)
    assert "happy" not in _sentiments(store)
    assert store.read("MATCH (u:User {id: 'b'}) RETURN u.sentiment_posts AS n")[0]["n"] == 1
