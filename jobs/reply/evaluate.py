"""How close suggested replies come to the real ones, on RumourEval 2017 threads with the real replies hidden.

For each query post (a source tweet, or a reply that has replies itself), the
reply job suggests up to three drafts, by each method of
:data:`jobs.reply.job.METHODS`.  Its own thread is never a candidate (see
:mod:`jobs.reply.job`), so the post's real replies are hidden from it.  Each draft
and each real reply is encoded without its leading @-mentions (they name the
tweet's author, which a draft from another thread cannot know) and compared by
cosine.  Stance (support, deny, query, comment) is RumourEval's label of each
tweet toward the thread's rumour; a written draft takes no side on the rumour
and asks nothing about it, so it counts as a ``comment``.

Reported per method and query group:

- ``mean_cosine``: mean cosine over every (draft, real reply) pair of a post;
- ``top1_cosine``: mean cosine between the top draft and the post's real replies;
- ``top1_best_cosine``: cosine between the top draft and its closest real reply;
- ``stance_match``: share of posts whose top draft's stance is one of its real replies' stances;
- ``stance_majority_match``: share whose top draft has the most common stance among its real replies.

Baselines from the same pool (replies outside the post's thread): ``random``
(three uniformly drawn replies) and ``nearest_reply`` (the three replies whose
own text is closest to the post, ignoring what they answered).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from graph.store import GraphStore
from jobs.reply.job import METHODS, ReplySettings, suggest_replies
from text.replies.ranking import ReplyDrafter
from text.replies.retrieval import Suggestion, Weights, draft_text

WRITTEN_STANCE = "comment"
"""RumourEval's stance of a written draft: it neither supports, denies nor questions the rumour."""

log = logging.getLogger(__name__)

POSTS = (
    "MATCH (p:Post) WHERE p.embedding IS NOT NULL "
    "OPTIONAL MATCH (p)-[:REPLY_TO]->(parent:Post) "
    "RETURN p.id AS id, p.text AS text, p.stance AS stance, p.thread AS thread, parent.id AS parent, "
    "p.embedding AS vector ORDER BY id"
)


@dataclass
class Corpus:
    """The dataset as the evaluation sees it: every embedded post, and the re-encoded reply drafts."""

    ids: list[str]
    stance: dict[str, str | None]
    thread: dict[str, str | None]
    replies_of: dict[str, list[str]]
    post_vectors: dict[str, np.ndarray]
    reply_ids: list[str]
    draft_vectors: np.ndarray
    row: dict[str, int]


def read_corpus(store: GraphStore, encode: Callable[[list[str]], np.ndarray]) -> Corpus:
    """Reads every embedded post and encodes each reply's draft text (leading @-mentions removed).

    Returns:
        The corpus; ``draft_vectors`` is ``[num_replies, dim]`` in ``reply_ids`` order.
    """
    rows = store.read(POSTS)
    replies_of: dict[str, list[str]] = {}
    reply_ids, drafts = [], []
    for r in rows:
        if r["parent"] is not None:
            replies_of.setdefault(r["parent"], []).append(r["id"])
            reply_ids.append(r["id"])
            drafts.append(draft_text(r["text"]) or r["text"])
    vectors = encode(drafts)
    return Corpus(
        ids=[r["id"] for r in rows],
        stance={r["id"]: r["stance"] for r in rows},
        thread={r["id"]: r["thread"] for r in rows},
        replies_of=replies_of,
        post_vectors={r["id"]: np.asarray(r["vector"], dtype=np.float32) for r in rows},
        reply_ids=reply_ids,
        draft_vectors=vectors,
        row={rid: i for i, rid in enumerate(reply_ids)},
    )


def query_groups(corpus: Corpus) -> dict[str, list[str]]:
    """Returns the query posts: ``sources`` (thread roots with replies) and ``replies`` (replies with replies)."""
    with_replies = [pid for pid in corpus.ids if corpus.replies_of.get(pid)]
    roots = {pid for pid in corpus.ids if pid not in corpus.row}
    return {
        "sources": [pid for pid in with_replies if pid in roots],
        "replies": [pid for pid in with_replies if pid not in roots],
    }


@dataclass(frozen=True)
class Pick:
    """A draft as the evaluation scores it: its ``[dim]`` vector (the corpus's encoder) and its stance."""

    vector: np.ndarray
    stance: str | None


def reply_picks(corpus: Corpus, ids: dict[str, list[str]]) -> dict[str, list[Pick]]:
    """Returns the picks of existing replies chosen for each query (reply ids, best first)."""
    return {pid: [Pick(corpus.draft_vectors[corpus.row[r]], corpus.stance[r]) for r in chosen] for pid, chosen in ids.items()}


def suggestion_picks(corpus: Corpus, found: dict[str, list[Suggestion]], encode: Callable[[list[str]], np.ndarray]) -> dict[str, list[Pick]]:
    """Returns the picks of the suggestions for each query: retrieved ones as their reply, written ones encoded."""
    written = [s.text for suggestions in found.values() for s in suggestions if s.source is None]
    vectors = iter(encode(written)) if written else iter(())
    return {
        pid: [
            Pick(corpus.draft_vectors[corpus.row[s.source]], corpus.stance[s.source]) if s.source is not None
            else Pick(next(vectors), WRITTEN_STANCE)
            for s in suggestions
        ]
        for pid, suggestions in found.items()
    }


def score_drafts(corpus: Corpus, picks: dict[str, list[Pick]], queries: list[str]) -> dict[str, float]:
    """Scores the drafts picked for each query post (best first) against its hidden replies.

    Returns:
        The metrics named in the module docstring, plus ``posts`` (queries scored) and
        ``with_suggestions`` (queries that got at least one draft); a query without drafts scores 0.
    """
    mean_cos, top1, top1_best, stance, majority = [], [], [], [], []
    with_drafts = 0
    for pid in queries:
        real = corpus.replies_of[pid]
        chosen = picks.get(pid, [])
        if not chosen:
            for values in (mean_cos, top1, top1_best, stance, majority):
                values.append(0.0)
            continue
        with_drafts += 1
        real_vecs = corpus.draft_vectors[[corpus.row[r] for r in real]]
        sims = np.stack([p.vector for p in chosen]) @ real_vecs.T
        mean_cos.append(float(sims.mean()))
        top1.append(float(sims[0].mean()))
        top1_best.append(float(sims[0].max()))
        stances = Counter(corpus.stance[r] for r in real if corpus.stance[r])
        top_stance = chosen[0].stance
        stance.append(float(top_stance in stances))
        majority.append(float(bool(stances) and top_stance == stances.most_common(1)[0][0]))
    return {
        "posts": len(queries),
        "with_suggestions": with_drafts,
        "mean_cosine": round(float(np.mean(mean_cos)), 4),
        "top1_cosine": round(float(np.mean(top1)), 4),
        "top1_best_cosine": round(float(np.mean(top1_best)), 4),
        "stance_match": round(float(np.mean(stance)), 4),
        "stance_majority_match": round(float(np.mean(majority)), 4),
    }


def _outside(corpus: Corpus, pid: str) -> np.ndarray:
    thread = corpus.thread[pid]
    return np.array([corpus.thread[r] != thread for r in corpus.reply_ids])


def random_picks(corpus: Corpus, queries: list[str], k: int, seed: int) -> dict[str, list[str]]:
    """Returns ``k`` replies drawn uniformly (without replacement) from outside each query's thread."""
    rng = np.random.default_rng(seed)
    ids = np.array(corpus.reply_ids, dtype=object)
    return {pid: list(rng.choice(ids[_outside(corpus, pid)], size=k, replace=False)) for pid in queries}


def nearest_picks(corpus: Corpus, queries: list[str], k: int) -> dict[str, list[str]]:
    """Returns the ``k`` replies outside each query's thread whose draft is closest to the query post."""
    out = {}
    for pid in queries:
        sims = corpus.draft_vectors @ corpus.post_vectors[pid]
        sims[~_outside(corpus, pid)] = -np.inf
        out[pid] = [corpus.reply_ids[i] for i in np.argsort(-sims, kind="stable")[:k]]
    return out


def model_suggestions(
    store: GraphStore, queries: list[str], config: ReplySettings, drafter: ReplyDrafter | None, page: int = 100
) -> dict[str, list[Suggestion]]:
    """Returns the reply job's suggestions for each query, best first."""
    out: dict[str, list[Suggestion]] = {}
    for start in range(0, len(queries), page):
        out.update(suggest_replies(store, queries[start : start + page], config, drafter=drafter))
    return out


VARIANTS: dict[str, Weights] = {
    "answered_post_only": Weights(parent=1.0),
    "reply_text_only": Weights(parent=0.0),
    "without_thread_context": Weights(thread=0.0),
}
"""Ablations of the retrieval weights, reported beside the methods (for the ``retrieval`` method)."""


def evaluate_replies(
    store: GraphStore,
    corpus: Corpus,
    seed: int,
    encode: Callable[[list[str]], np.ndarray],
    drafter: ReplyDrafter,
    config: ReplySettings = ReplySettings(),
) -> dict:
    """Runs every method, the retrieval ablations and the baselines on every query group.

    Args:
        encode: the corpus's encoder, for written drafts.
        drafter: the reply job's drafter.

    Returns:
        ``{"methods": {method: {group: metrics}}, "ablations": {name: {group: metrics}},
        "baselines": {name: {group: metrics}}, "config": {...}}``.
    """
    groups = query_groups(corpus)
    result: dict = {
        "methods": {m: {} for m in METHODS}, "ablations": {name: {} for name in VARIANTS},
        "baselines": {"random": {}, "nearest_reply": {}},
    }
    for group, queries in groups.items():
        log.info("scoring %d %s", len(queries), group)
        for method in METHODS:
            found = model_suggestions(store, queries, replace(config, method=method), drafter)
            result["methods"][method][group] = score_drafts(corpus, suggestion_picks(corpus, found, encode), queries)
        for name, weights in VARIANTS.items():
            found = model_suggestions(store, queries, replace(config, method="retrieval", weights=weights), drafter)
            result["ablations"][name][group] = score_drafts(corpus, suggestion_picks(corpus, found, encode), queries)
        random = reply_picks(corpus, random_picks(corpus, queries, config.k, seed))
        result["baselines"]["random"][group] = score_drafts(corpus, random, queries)
        nearest = reply_picks(corpus, nearest_picks(corpus, queries, config.k))
        result["baselines"]["nearest_reply"][group] = score_drafts(corpus, nearest, queries)
    result["config"] = {"k": config.k, "neighbours": config.neighbours, "weights": vars(config.weights), "rank": vars(config.rank)}
    return result
