"""The emotion job: the emotion of every English post as ``Post`` properties.

Each post with text gets ``emotion`` (one of :data:`text.emotion.EMOTIONS`),
``emotion_score`` (the classifier's probability of it), ``emotion_model`` (the
classifier's name, which names its weights) and ``emotion_hash`` (text and
classifier), so a rerun classifies only new or changed posts.  Chinese posts get the
model and hash but no emotion: the model is English, and there are no Chinese emotion
labels to train or check one on.  Like sentiment these are properties of one post
each, complete on their own, so there is no set of results to swap; each run is still
a ``JobRun`` (``job: 'emotion'``) whose parameters hold the model and its label set,
and whose metrics count each label written.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from graph.store import GraphStore
from graph.writeback import RunWriter
from jobs.common.incremental import triage
from jobs.common.outputs import JobOutputs, NodeOutput
from text.emotion import EmotionClassifier

log = logging.getLogger(__name__)

OUTPUTS = JobOutputs(
    "emotion",
    node_properties=(NodeOutput("Post", ("emotion", "emotion_score", "emotion_model", "emotion_hash")),),
)
"""What the emotion job writes: properties of existing posts, no run-tagged results."""

POSTS_PAGE = "MATCH (p:Post) WHERE p.id > $after WITH p ORDER BY p.id LIMIT $page RETURN p.id, p.text, p.emotion_hash"
POSTS_BY_ID = "UNWIND $ids AS id MATCH (p:Post {id: id}) RETURN p.id, p.text, p.emotion_hash"
"""The rows of :data:`POSTS_PAGE` for given ids (``$ids``), for the watch service."""
WRITE_EMOTION = (
    "UNWIND $rows AS row MATCH (p:Post {id: row.id}) "
    "SET p.emotion = row.emotion, p.emotion_score = row.score, p.emotion_model = $model, p.emotion_hash = row.hash"
)
CLEAR_EMOTION = "UNWIND $ids AS id MATCH (p:Post {id: id}) REMOVE p.emotion, p.emotion_score, p.emotion_model, p.emotion_hash"


@dataclass
class EmotionSummary:
    """What a run of the emotion job did; ``labels`` counts each emotion written this run."""

    model: str
    posts_classified: int = 0
    posts_unchanged: int = 0
    posts_without_text: int = 0
    posts_not_english: int = 0
    labels: dict[str, int] = field(default_factory=dict)


def classify_page(store: GraphStore, classifier: EmotionClassifier, rows: list[list[Any]], summary: EmotionSummary) -> None:
    """Classifies the page's new or changed posts and writes their properties; clears them from posts now blank."""
    page = triage(rows, classifier.name)
    summary.posts_without_text += page.without_text
    summary.posts_unchanged += page.unchanged
    todo = page.todo
    if page.blank:
        store.write(CLEAR_EMOTION, {"ids": page.blank})
    if not todo:
        return
    result = classifier.predict([text for _, text, _ in todo])
    payload = [
        {"id": pid, "emotion": label, "score": None if label is None else float(score), "hash": digest}
        for (pid, _, digest), label, score in zip(todo, result.labels, result.scores)
    ]
    store.write(WRITE_EMOTION, {"rows": payload, "model": classifier.name})
    summary.posts_classified += len(todo)
    summary.posts_not_english += sum(label is None for label in result.labels)
    counts = Counter(label for label in result.labels if label is not None)
    summary.labels = {label: summary.labels.get(label, 0) + counts.get(label, 0) for label in classifier.labels}


def run_emotion(
    store: GraphStore, classifier: EmotionClassifier, page_size: int = 2_000, on_progress: Callable[[int], None] | None = None
) -> EmotionSummary:
    """Runs the emotion job page by page, recorded as one ``JobRun`` whose parameters name the model and its labels.

    Returns:
        Counts of classified, unchanged, text-less and non-English posts, and of each emotion written.
    """
    progress = on_progress or (lambda n: None)
    summary = EmotionSummary(classifier.name, labels={label: 0 for label in classifier.labels})
    params = {"model": classifier.name, "labels": list(classifier.labels), "page_size": page_size}
    with RunWriter(store, OUTPUTS.job, params) as run:
        for rows in store.read_pages(POSTS_PAGE, page_size):
            classify_page(store, classifier, rows, summary)
            progress(len(rows))
        metrics = asdict(summary)
        metrics.update({f"posts_{label}": n for label, n in metrics.pop("labels").items()})
        run.publish(metrics)
    log.info("emotion run %s: %s", run.run_id, summary)
    return summary
