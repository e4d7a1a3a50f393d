"""The watch service's text work: vectors, sentiment and emotion of changed posts, and profile vectors of changed users.

Each uses the batch job's own page function (:func:`jobs.embed.job.embed_post_page`,
:func:`jobs.sentiment.job.classify_page`, :func:`jobs.emotion.job.classify_page`) on the changed
nodes only, under that job's lock (which the service takes briefly), so what
the service writes is exactly what the next batch run would write, and that run finds it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from graph.store import GraphStore
from jobs.embed.job import POSTS_BY_ID, USERS_BY_ID, EmbedRun, EmbedSummary, VectorWriter, embed_post_page, embed_user_page
from jobs.emotion import job as emotion_job
from jobs.sentiment import job as sentiment_job
from text.embeddings import Encoder
from text.emotion import EmotionClassifier
from text.sentiment import SentimentClassifier


class MemoEncoder:
    """An :class:`text.embeddings.Encoder` that remembers the vectors of the texts it encoded.

    A person's profile is embedded again whenever they post or like, and its bio and tag sentence
    are the same texts each time; the service encodes them once.

    Args:
        encoder: the encoder.
        size: the most texts remembered; past it, the memory starts over.
    """

    def __init__(self, encoder: Encoder, size: int = 100_000) -> None:
        self.encoder = encoder
        self.size = size
        self._seen: dict[str, np.ndarray] = {}

    @property
    def name(self) -> str:
        """Returns the model's name."""
        return self.encoder.name

    @property
    def dim(self) -> int:
        """Returns the embedding dimension."""
        return self.encoder.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Returns ``[len(texts), dim]`` float32 unit vectors, as :meth:`text.embeddings.Encoder.encode` does."""
        new = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if new:
            if len(self._seen) + len(new) > self.size:
                self._seen.clear()
            self._seen.update(zip(new, self.encoder.encode(new)))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._seen[t] for t in texts])


@dataclass
class TextModels:
    """The models the service keeps loaded: the embed job's encoder and the two classifiers."""

    encoder: Encoder | MemoEncoder
    sentiment: SentimentClassifier
    emotion: EmotionClassifier


def graph_model(store: GraphStore, default: str) -> str:
    """Returns the text model the graph's post vectors were made with (``default`` when none are),
    so that a new post's vector is comparable with the others."""
    rows = store.read("MATCH (p:Post) WHERE p.embedding_model IS NOT NULL RETURN p.embedding_model AS model LIMIT 1")
    return rows[0]["model"] if rows else default


def _rows(store: GraphStore, query: str, ids: list[str]) -> list[list[object]]:
    return [list(row.values()) for row in store.read(query, {"ids": ids})]


def embed_changed(store: GraphStore, models: TextModels, posts: list[str], users: list[str], held: dict[str, np.ndarray]) -> None:
    """Embeds the changed posts, then the changed users (whose profiles average their posts' vectors);
    the caller holds the ``embed`` lock.

    Args:
        held: post vectors the service keeps (:class:`jobs.watch.profiles.ProfileCache`), which the
            profiles read first and the new vectors join.
    """
    writer = VectorWriter(store, models.encoder.name)
    run = EmbedRun(store, models.encoder, writer, EmbedSummary(models.encoder.name), max(len(posts), 1), lambda n: None, held)
    try:
        if posts:
            embed_post_page(run, _rows(store, POSTS_BY_ID, posts))
        writer.flush()
        if users:
            embed_user_page(run, _rows(store, USERS_BY_ID, users))
    finally:
        writer.close()


def classify_sentiment(store: GraphStore, models: TextModels, posts: list[str]) -> None:
    """Classifies the sentiment of the changed posts, reusing their fresh vectors; the caller holds the ``sentiment`` lock."""
    summary = sentiment_job.SentimentSummary(models.sentiment.name)
    sentiment_job.classify_page(store, models.sentiment, _rows(store, sentiment_job.POSTS_BY_ID, posts), summary)


def classify_emotion(store: GraphStore, models: TextModels, posts: list[str]) -> None:
    """Classifies the emotion of the changed posts; the caller holds the ``emotion`` lock."""
    summary = emotion_job.EmotionSummary(models.emotion.name, labels={label: 0 for label in models.emotion.labels})
    emotion_job.classify_page(store, models.emotion, _rows(store, emotion_job.POSTS_BY_ID, posts), summary)
