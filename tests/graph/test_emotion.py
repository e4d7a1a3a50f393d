"""The emotion job on a real Neo4j: every English post gets the trained model's emotion, reruns skip, the run keeps its labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from graph.store import GraphStore
from jobs.emotion.job import run_emotion
from text.emotion import EMOTIONS, EmotionClassifier


@pytest.fixture(scope="module")
def emotions() -> EmotionClassifier:
    """The shipped emotion classifier on the CPU."""
    return EmotionClassifier(device="cpu")


def _written(store: GraphStore) -> dict[str, dict]:
    rows = store.read(
        "MATCH (p:Post) WHERE p.emotion_hash IS NOT NULL RETURN p.id AS id, p.text AS text, p.emotion AS emotion, "
        "p.emotion_score AS score, p.emotion_model AS model"
    )
    return {r["id"]: r for r in rows}


def test_job_writes_every_post_skips_unchanged_and_stores_its_labels(graph: GraphStore, emotions: EmotionClassifier) -> None:
    graph.write("MATCH (p:Post) WITH p ORDER BY p.id LIMIT 1 SET p.text = '今天的电影太让人失望了'")
    posts = graph.node_count("Post")
    summary = run_emotion(graph, emotions, page_size=250)
    written = _written(graph)
    assert summary.posts_classified == len(written) == posts and summary.posts_not_english == 1
    chinese = [r for r in written.values() if r["text"].startswith("今天")]
    assert len(chinese) == 1 and chinese[0]["emotion"] is None and chinese[0]["score"] is None
    english = [r for r in written.values() if r["emotion"] is not None]
    assert len(english) == posts - 1 and {r["emotion"] for r in english} <= set(EMOTIONS)
    assert len({r["emotion"] for r in english}) >= 3
    assert all(r["model"] == emotions.name and 0.25 <= r["score"] <= 1.0 for r in english)
    assert sum(summary.labels.values()) == posts - 1

    sample = sorted(r["id"] for r in english)[:30]
    fresh = emotions.predict([written[i]["text"] for i in sample])
    assert fresh.labels == [written[i]["emotion"] for i in sample]
    np.testing.assert_allclose(fresh.scores, [written[i]["score"] for i in sample], atol=1e-4)

    run = graph.read("MATCH (r:JobRun {job: 'emotion', current: true}) RETURN r.params AS params, r.metrics AS metrics")
    assert len(run) == 1
    params, metrics = json.loads(run[0]["params"]), json.loads(run[0]["metrics"])
    assert params["labels"] == list(EMOTIONS) and params["model"] == emotions.name
    assert sum(metrics[f"posts_{label}"] for label in EMOTIONS) == posts - 1

    graph.write("MATCH (p:Post) WITH p ORDER BY p.id SKIP 1 LIMIT 1 SET p.text = ''")
    again = run_emotion(graph, emotions)
    assert again.posts_classified == 0 and again.posts_unchanged == posts - 1 and again.posts_without_text == 1
    assert len(_written(graph)) == posts - 1
