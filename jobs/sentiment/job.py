"""The sentiment job: sentiment of every post as ``Post`` properties, and per-user aggregates.

Each post with text gets ``sentiment`` (``negative``/``neutral``/``positive``),
``sentiment_score`` (P(positive) - P(negative), in [-1, 1]), ``sentiment_model`` (the
classifier's name, which names its weights) and
``sentiment_hash`` (text and classifier), so a rerun classifies only new or
changed posts.  These are properties, not run-tagged relationships: each value
belongs to one post and is complete on its own, like the post's embedding, so
there is no set of results to swap atomically.  Each run is still recorded as
a ``JobRun`` (``job: 'sentiment'``) with its counts as metrics.  Every user who
posted gets ``sentiment_mean`` (mean score of their classified posts) and
``sentiment_posts`` (how many there are).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from graph.store import GraphStore
from graph.writeback import RunWriter
from jobs.common.incremental import triage
from jobs.common.outputs import JobOutputs, NodeOutput
from text.embeddings import text_hash
from text.sentiment import SentimentClassifier

log = logging.getLogger(__name__)

OUTPUTS = JobOutputs(
    "sentiment",
    node_properties=(
        NodeOutput("Post", ("sentiment", "sentiment_score", "sentiment_model", "sentiment_hash")),
        NodeOutput("User", ("sentiment_mean", "sentiment_posts")),
    ),
)
"""What the sentiment job writes: properties of existing posts and users, no run-tagged results."""

POSTS_PAGE = (
    "MATCH (p:Post) WHERE p.id > $after WITH p ORDER BY p.id LIMIT $page "
    "RETURN p.id, p.text, p.sentiment_hash, p.embedding_model, p.embedding_hash"
)
POSTS_BY_ID = (
    "UNWIND $ids AS id MATCH (p:Post {id: id}) "
    "RETURN p.id, p.text, p.sentiment_hash, p.embedding_model, p.embedding_hash"
)
"""The rows of :data:`POSTS_PAGE` for given ids (``$ids``), for the watch service."""
STORED_VECTORS = "UNWIND $ids AS id MATCH (p:Post {id: id}) RETURN p.id AS id, p.embedding AS vector"
WRITE_SENTIMENT = (
    "UNWIND $rows AS row MATCH (p:Post {id: row.id}) "
    "SET p.sentiment = row.label, p.sentiment_score = row.score, "
    "p.sentiment_model = $model, p.sentiment_hash = row.hash"
)
CLEAR_SENTIMENT = (
    "UNWIND $ids AS id MATCH (p:Post {id: id}) "
    "REMOVE p.sentiment, p.sentiment_score, p.sentiment_model, p.sentiment_hash"
)
USER_AGGREGATES = (
    "MATCH (u:User) WHERE EXISTS { (u)-[:POSTED]->(:Post) } "
    "CALL (u) { MATCH (u)-[:POSTED]->(p:Post) "
    "WITH u, [s IN collect(p.sentiment_score) WHERE s IS NOT NULL] AS scores "
    "SET u.sentiment_posts = size(scores), "
    "u.sentiment_mean = CASE WHEN size(scores) = 0 THEN null ELSE reduce(t = 0.0, s IN scores | t + s) / size(scores) END "
    "} IN TRANSACTIONS OF $batch ROWS"
)


@dataclass
class SentimentSummary:
    """What a run of the sentiment job did."""

    model: str
    posts_classified: int = 0
    posts_unchanged: int = 0
    posts_without_text: int = 0
    vectors_reused: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0


def _stored_vectors(
    store: GraphStore, classifier: SentimentClassifier, todo: list[tuple[str, str, str, Any, Any]]
) -> dict[str, list[np.ndarray | None]]:
    """Returns, per embedding model the classifier reads, each todo post's stored vector where it is current."""
    columns = {}
    for model in classifier.embedding_models:
        current = [pid for pid, text, _, emb_model, emb_hash in todo if emb_model == model and emb_hash == text_hash(model, text)]
        if not current:
            continue
        # Values as returned: turning hundreds of floats a row into dicts costs more than the read.
        found = dict(store.read_columns(STORED_VECTORS, {"ids": current})[1])
        columns[model] = [found.get(pid) for pid, *_ in todo]
    return columns


def classify_page(store: GraphStore, classifier: SentimentClassifier, rows: list[list[Any]], summary: SentimentSummary) -> None:
    """Classifies the page's new or changed posts and writes their properties; clears them from posts now blank."""
    page = triage(rows, classifier.name)
    summary.posts_without_text += page.without_text
    summary.posts_unchanged += page.unchanged
    todo = page.todo
    if page.blank:
        store.write(CLEAR_SENTIMENT, {"ids": page.blank})
    if not todo:
        return
    vectors = _stored_vectors(store, classifier, todo)
    summary.vectors_reused += sum(v is not None for column in vectors.values() for v in column)
    result = classifier.predict([t for _, t, *_ in todo], vectors)
    payload = [
        {"id": pid, "label": label, "score": float(score), "hash": digest}
        for (pid, _, digest, _, _), label, score in zip(todo, result.labels, result.scores)
    ]
    store.write(WRITE_SENTIMENT, {"rows": payload, "model": classifier.name})
    summary.posts_classified += len(todo)
    for label in result.labels:
        setattr(summary, label, getattr(summary, label) + 1)


def run_sentiment(
    store: GraphStore,
    classifier: SentimentClassifier,
    page_size: int = 2_000,
    on_progress: Callable[[int], None] | None = None,
) -> SentimentSummary:
    """Runs the sentiment job: posts page by page, then the per-user aggregates, recorded as one ``JobRun``.

    Returns:
        Counts of classified, unchanged and text-less posts, of reused stored vectors and of each label written.
    """
    progress = on_progress or (lambda n: None)
    summary = SentimentSummary(classifier.name)
    with RunWriter(store, OUTPUTS.job, {"model": classifier.name, "page_size": page_size}) as run:
        for rows in store.read_pages(POSTS_PAGE, page_size):
            classify_page(store, classifier, rows, summary)
            progress(len(rows))
        store.run_autocommit(USER_AGGREGATES, {"batch": store.batch_size})
        run.publish(asdict(summary))
    log.info("sentiment run %s: %s", run.run_id, summary)
    return summary
