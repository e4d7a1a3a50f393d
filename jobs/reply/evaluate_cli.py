"""``python -m jobs evaluate reply``: suggested replies on RumourEval 2017 with the real replies hidden, in a throwaway Neo4j."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tqdm import tqdm

from graph.config import Settings
from graph.ingest.datasets import RUMOUREVAL, dataset_steps
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import run_steps
from jobs.embed.job import run_embed
from jobs.reply.evaluate import evaluate_replies, read_corpus
from graph.server.sandbox import throwaway_store
from text.embeddings import Encoder


def run_reply_evaluation(settings: Settings, path: Path, seed: int) -> int:
    """Loads RumourEval into a throwaway Neo4j, embeds it, evaluates, and prints one JSON object on the last line.

    Returns:
        0.
    """
    start = time.perf_counter()
    steps = dataset_steps(RUMOUREVAL, path)
    encoder = Encoder(settings.embedding_model, settings.device, settings.embed_batch_size)
    with throwaway_store(settings) as store:
        loaded = run_steps(Loader(store, RejectLog(None, echo=0)), steps)
        print(f"loaded {loaded.loaded:,d} rows ({loaded.rejected:,d} rejected: replies to tweets missing from the release)")
        with tqdm(total=store.node_count("Post"), unit=" posts", desc="embed", mininterval=0.5) as bar:
            run_embed(store, encoder, on_progress=bar.update)
        corpus = read_corpus(store, encoder.encode)
        result = evaluate_replies(store, corpus, seed)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["embedding_model"] = encoder.name
    print(json.dumps(result, sort_keys=True))
    return 0
