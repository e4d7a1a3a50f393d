"""``python -m jobs evaluate reply``: reply drafts on RumourEval 2017 (real replies hidden) and on the project's reply set, in a throwaway Neo4j."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from graph.config import Settings
from graph.ingest.datasets import RUMOUREVAL, dataset_steps
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import run_steps
from graph.server.sandbox import throwaway_store
from graph.store import GraphStore
from jobs.embed.job import run_embed
from jobs.emotion.job import run_emotion
from jobs.reply.evaluate import evaluate_replies, read_corpus
from jobs.reply.job import METHODS, ReplySettings, load_drafter, suggest_replies
from jobs.reply.reply_set import SetPost, read_set, score_set
from jobs.sentiment.job import run_sentiment
from text.embeddings import Encoder
from text.emotion import EmotionClassifier
from text.sentiment import SentimentClassifier

SET_AUTHOR = "reply-set"


def _add_set(store: GraphStore, posts: list[SetPost]) -> None:
    # The set's posts join the RumourEval graph, so retrieval has other people's replies to offer them.
    store.write("MERGE (:User {id: $id})", {"id": SET_AUTHOR})
    store.write(
        "MATCH (u:User {id: $author}) UNWIND $posts AS p CREATE (u)-[:POSTED]->(:Post {id: p.id, text: p.text})",
        {"author": SET_AUTHOR, "posts": [{"id": p.id, "text": p.text} for p in posts]},
    )


def run_reply_evaluation(settings: Settings, path: Path, seed: int, set_path: Path) -> int:
    """Loads RumourEval and the reply set into a throwaway Neo4j, runs the embed, sentiment and emotion
    jobs, evaluates every method, and prints one JSON object on the last line.

    Returns:
        0.
    """
    start = time.perf_counter()
    posts = read_set(set_path)
    steps = dataset_steps(RUMOUREVAL, path)
    encoder = Encoder(settings.embedding_model, settings.device, settings.embed_batch_size)
    config = ReplySettings()
    drafter = load_drafter(config)
    with throwaway_store(settings) as store:
        loaded = run_steps(Loader(store, RejectLog(None, echo=0)), steps)
        print(f"loaded {loaded.loaded:,d} rows ({loaded.rejected:,d} rejected: replies to tweets missing from the release)")
        _add_set(store, posts)
        total = store.node_count("Post")
        with tqdm(total=total, unit=" posts", desc="embed", mininterval=0.5) as bar:
            run_embed(store, encoder, on_progress=bar.update)
        sentiment = SentimentClassifier(device=settings.device)
        with tqdm(total=total, unit=" posts", desc="sentiment", mininterval=0.5) as bar:
            run_sentiment(store, sentiment, on_progress=bar.update)
        emotion = EmotionClassifier(device=settings.device)
        with tqdm(total=total, unit=" posts", desc="emotion", mininterval=0.5) as bar:
            run_emotion(store, emotion, on_progress=bar.update)
        corpus = read_corpus(store, encoder.encode)
        result = {"rumoureval": evaluate_replies(store, corpus, seed, encoder.encode, drafter, config)}
        ids = [p.id for p in posts]
        result["reply_set"] = {
            method: score_set(
                posts, suggest_replies(store, ids, replace(config, method=method), drafter=drafter), drafter.encode,
                emotion.probabilities, lambda texts: sentiment.predict(texts).probabilities,
            )
            for method in METHODS
        }
    result["reply_set_size"] = len(posts)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["embedding_model"] = encoder.name
    print(json.dumps(result, sort_keys=True))
    return 0
