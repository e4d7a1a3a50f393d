"""The reply job: reply drafts for posts, printed for one post or written for many.

For a post, :class:`text.replies.ranking.ReplyDrafter` reads its feeling (the
graph's ``Post.emotion`` and ``Post.sentiment`` where the emotion and sentiment
jobs have run) and topic, composes drafts in the post's language from the
phrase tables, and ranks them together with existing replies retrieved from the
graph.  The conversation is the post and its earlier posts through
``REPLY_TO``; retrieved candidates are found two ways through the
``post_embedding`` vector index: the replies to the posts closest to the
conversation, and the replies closest to the post itself.  Only those close to
the post itself may be offered.

What is never suggested (decided here, in the candidate query):

- anything from the post's own thread (its existing replies, their replies, its
  ancestors and their other replies): that conversation already has them;
- a reply written by the post's own author (they would answer themselves);
- a self-reply, whose author also wrote the post it answers (a continuation,
  not an answer to someone else);
- a reply by an opted-out user, or a reply to a post by an opted-out user
  (its id would appear in the suggestion's reason).

Batch results are ``(:Post)-[:SUGGESTED_REPLY {rank, score, method, text,
similarity, reason, run_id}]->(:Post)`` from the answered post to the source
reply, or to the answered post itself for a written draft (``composed``,
``help``), through :class:`graph.writeback.RunWriter` (job ``reply``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from graph.store import GraphStore
from graph.writeback import RunWriter
from jobs.common.outputs import JobOutputs, RelationshipOutput
from text.embeddings import Encoder
from text.replies.feeling import PostTone
from text.replies.ranking import RankWeights, ReplyDrafter
from text.replies.retrieval import Candidate, Suggestion, Weights, context_vector, rank_candidates
from text.replies.signals import ToneReader

log = logging.getLogger(__name__)

JOB = "reply"
REL_TYPE = "SUGGESTED_REPLY"
OUTPUTS = JobOutputs(
    JOB,
    relationships=(
        RelationshipOutput(
            REL_TYPE, "Post", "Post", ("rank", "score", "method", "text", "similarity", "reason", "run_id"), suggestion=True
        ),
    ),
)
"""What the reply job's batch run writes."""

Encode = Callable[[list[str]], np.ndarray]
"""Texts -> ``[n, dim]`` unit vectors from the model that wrote the graph's vectors."""

CONTEXT = """
UNWIND $ids AS id
MATCH (p:Post {id: id})
CALL (p) {
  OPTIONAL MATCH (a:User)-[:POSTED]->(p)
  RETURN min(a.id) AS author
}
CALL (p) {
  OPTIONAL MATCH path = (p)-[:REPLY_TO*1..64]->(anc:Post)
  WITH anc, length(path) AS depth ORDER BY depth
  RETURN collect(anc.id) AS ancestors, collect(anc.embedding) AS ancestor_vectors
}
WITH p, author, ancestors, ancestor_vectors, coalesce(last(ancestors), p.id) AS root_id
MATCH (root:Post {id: root_id})
CALL (root) {
  MATCH (x:Post)-[:REPLY_TO*0..64]->(root)
  RETURN collect(DISTINCT x.id) AS thread
}
RETURN p.id AS id, p.text AS text, p.embedding AS vector, p.sentiment AS sentiment,
       p.sentiment_score AS sentiment_score, p.emotion AS emotion, p.emotion_score AS emotion_score,
       author, ancestor_vectors, thread
"""

CANDIDATES = """
UNWIND $queries AS q
CALL (q) {
  CALL (q) {
    CALL db.index.vector.queryNodes('post_embedding', $neighbours, q.context) YIELD node AS s
    MATCH (r:Post)-[:REPLY_TO]->(s)
    RETURN r, s
    UNION
    CALL db.index.vector.queryNodes('post_embedding', $neighbours, q.vector) YIELD node AS r
    MATCH (r)-[:REPLY_TO]->(s:Post)
    RETURN r, s
  }
  WITH q, r, s
  WHERE NOT s.id IN q.thread AND NOT r.id IN q.thread
    AND r.embedding IS NOT NULL AND s.embedding IS NOT NULL AND trim(coalesce(r.text, '')) <> ''
    AND NOT EXISTS { MATCH (sa:User)-[:POSTED]->(s) WHERE sa.opt_out = true }
    AND NOT EXISTS {
      MATCH (ra:User)-[:POSTED]->(r)
      WHERE ra.opt_out = true OR ra.id = q.author OR (ra)-[:POSTED]->(s)
    }
  // vector.similarity.cosine rescales the cosine to [0, 1] as (1 + cos) / 2.
  WITH s, r, 2 * vector.similarity.cosine(q.context, s.embedding) - 1 AS parent_cos,
       2 * vector.similarity.cosine(q.vector, r.embedding) - 1 AS reply_cos
  WITH s, r, parent_cos, reply_cos ORDER BY $parent * parent_cos + (1 - $parent) * reply_cos DESC, r.id
  LIMIT $per_post
  RETURN collect({reply: r.id, parent: s.id, text: r.text, parent_cos: parent_cos, reply_cos: reply_cos,
                  sentiment: r.sentiment, sentiment_score: r.sentiment_score}) AS candidates
}
RETURN q.id AS id, candidates
"""


RANKED = "ranked"
COMPOSED_ONLY = "composed"
RETRIEVAL_ONLY = "retrieval"
METHODS = (RANKED, COMPOSED_ONLY, RETRIEVAL_ONLY)
"""How drafts are made: composed and retrieved candidates ranked together (the job's way), composed
drafts alone, or retrieved replies ranked by similarity and sentiment alone (the job before drafts)."""

RELEVANCE_MODEL = "use-multilingual-v3"
"""The encoder of relevance and topics: multilingual, and numpy-only, so ``reply --post`` stays fast."""


@dataclass
class ReplySettings:
    """How many neighbours and candidates to read, how many suggestions to keep, how drafts are made and scored."""

    k: int = 3
    neighbours: int = 50
    per_post: int = 50
    weights: Weights = field(default_factory=Weights)
    rank: RankWeights = field(default_factory=RankWeights)
    method: str = RANKED

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown reply method {self.method!r}; known: {', '.join(METHODS)}")


def load_drafter(config: ReplySettings) -> ReplyDrafter:
    """Returns the drafter: the relevance encoder (CPU, numpy) and the tone heads."""
    return ReplyDrafter(Encoder(RELEVANCE_MODEL, device="cpu").encode, ToneReader(), config.rank)


@dataclass(frozen=True)
class PostContext:
    """What the ranking needs about the post being answered."""

    id: str
    text: str
    vector: np.ndarray
    context: np.ndarray
    tone: PostTone
    author: str | None
    thread: list[str]


def embedding_model(store: GraphStore) -> str | None:
    """Returns the name of the model that wrote the posts' vectors, or None when no post has one."""
    rows = store.read("MATCH (p:Post) WHERE p.embedding_model IS NOT NULL RETURN p.embedding_model AS m LIMIT 1")
    return rows[0]["m"] if rows else None


def read_contexts(
    store: GraphStore, ids: Sequence[str], weights: Weights, encode: Encode | None = None
) -> dict[str, PostContext]:
    """Reads the posts ``ids`` with their thread; posts without a vector are encoded with ``encode``.

    Returns:
        A context per post found that has (or, through ``encode``, gets) a vector; unknown ids and
        posts left without a vector are missing from it.
    """
    rows = store.read(CONTEXT, {"ids": list(ids)})
    missing = [r for r in rows if r["vector"] is None and (r["text"] or "").strip()]
    encoded: dict[str, np.ndarray] = {}
    if missing and encode is not None:
        vectors = encode([r["text"] for r in missing])
        encoded = {r["id"]: v for r, v in zip(missing, vectors)}
    out: dict[str, PostContext] = {}
    for row in rows:
        vector = row["vector"] if row["vector"] is not None else encoded.get(row["id"])
        if vector is None:
            continue
        vector = np.asarray(vector, dtype=np.float32)
        thread = np.asarray(row["ancestor_vectors"], dtype=np.float32) if row["ancestor_vectors"] else None
        tone = PostTone(row["emotion"], row["emotion_score"], row["sentiment"], row["sentiment_score"])
        out[row["id"]] = PostContext(
            row["id"], row["text"] or "", vector, context_vector(vector, thread, weights.thread), tone, row["author"], row["thread"]
        )
    return out


def read_candidates(store: GraphStore, contexts: Sequence[PostContext], config: ReplySettings) -> dict[str, list[Candidate]]:
    """Reads the replies that may be suggested for each post (exclusions applied in the query).

    Returns:
        Candidates by post id, at most ``config.per_post`` each, best similarity first.
    """
    queries = [
        {"id": c.id, "vector": c.vector.tolist(), "context": c.context.tolist(), "thread": c.thread, "author": c.author}
        for c in contexts
    ]
    rows = store.read(
        CANDIDATES,
        {"queries": queries, "neighbours": config.neighbours, "per_post": config.per_post, "parent": config.weights.parent},
    )
    return {
        row["id"]: [
            Candidate(c["reply"], c["parent"], c["text"], c["parent_cos"], c["reply_cos"], c["sentiment"], c["sentiment_score"])
            for c in row["candidates"]
        ]
        for row in rows
    }


def suggest_replies(
    store: GraphStore,
    ids: Sequence[str],
    config: ReplySettings = ReplySettings(),
    encode: Encode | None = None,
    drafter: ReplyDrafter | None = None,
) -> dict[str, list[Suggestion]]:
    """Suggests up to ``config.k`` reply drafts to each post of ``ids``.

    Args:
        encode: encodes a post the embed job has not reached (with the model of the graph's vectors).
        drafter: the drafter to use (loaded here when None and ``config.method`` needs one).

    Returns:
        Suggestions by post id, best first; a post that is unknown or has no vector (and no
        ``encode``) is missing; one with no admissible draft maps to an empty list.
    """
    contexts = read_contexts(store, ids, config.weights, encode)
    wants_retrieved = config.method in (RANKED, RETRIEVAL_ONLY)
    candidates = read_candidates(store, list(contexts.values()), config) if contexts and wants_retrieved else {}
    if config.method == RETRIEVAL_ONLY:
        return {
            pid: rank_candidates(candidates.get(pid, []), ctx.tone.sentiment, config.k, config.weights)
            for pid, ctx in contexts.items()
        }
    drafter = drafter or (load_drafter(config) if contexts else None)
    return {
        pid: drafter.draft(ctx.text, ctx.tone, candidates.get(pid, []), config.k) if ctx.text.strip() else []
        for pid, ctx in contexts.items()
    }


def _embedded_posts(store: GraphStore, limit: int | None, page: int) -> Iterator[list[str]]:
    query = "MATCH (p:Post) WHERE p.id > $after AND p.embedding IS NOT NULL WITH p ORDER BY p.id LIMIT $page RETURN p.id AS id"
    for rows in store.read_pages(query, page, limit):
        yield [row[0] for row in rows]


@dataclass
class ReplyBatchSummary:
    """What a batch run wrote."""

    run_id: str
    posts: int = 0
    posts_with_suggestions: int = 0
    suggestions: int = 0
    methods: dict[str, int] = field(default_factory=dict)


def write_suggestions(
    store: GraphStore,
    limit: int | None = None,
    config: ReplySettings = ReplySettings(),
    page: int = 200,
    on_progress: Callable[[int], None] | None = None,
) -> ReplyBatchSummary:
    """Suggests replies to every embedded post (or the first ``limit`` by id) and publishes them as one run.

    A run with a ``limit`` recomputes those posts only and carries the current run's suggestions
    for every other post over, so it never replaces a complete result with a partial one.

    Returns:
        Counts of posts, posts with at least one suggestion, suggestions and suggestions per method.
    """
    progress = on_progress or (lambda n: None)
    params = {
        "limit": limit, "k": config.k, "neighbours": config.neighbours, "method": config.method,
        "weights": vars(config.weights), "rank": vars(config.rank), "relevance_model": RELEVANCE_MODEL,
    }
    drafter = load_drafter(config) if config.method != RETRIEVAL_ONLY else None
    with RunWriter(store, JOB, params, relationships=OUTPUTS.relationship_types) as writer:
        summary = ReplyBatchSummary(writer.run_id)
        refreshed: list[str] = []
        for ids in _embedded_posts(store, limit, page):
            refreshed += ids
            rows = []
            for pid, suggestions in suggest_replies(store, ids, config, drafter=drafter).items():
                summary.posts_with_suggestions += bool(suggestions)
                for s in suggestions:
                    summary.methods[s.method] = summary.methods.get(s.method, 0) + 1
                    rows.append(
                        {
                            "src": pid,
                            "dst": s.source or pid,
                            "props": {
                                "rank": s.rank,
                                "score": s.score,
                                "method": s.method,
                                "text": s.text,
                                "similarity": s.similarity,
                                "reason": s.reason,
                            },
                        }
                    )
            summary.suggestions += writer.write_relationships(REL_TYPE, "Post", "Post", rows)
            summary.posts += len(ids)
            progress(len(ids))
        carried = writer.carry_over(REL_TYPE, "Post", refreshed) if limit is not None else 0
        writer.publish(
            {
                "carried_over": carried,
                "posts": summary.posts,
                "posts_with_suggestions": summary.posts_with_suggestions,
                "suggestions": summary.suggestions,
                "methods": summary.methods,
            }
        )
    log.info("reply run %s: %d suggestions for %d posts", summary.run_id, summary.suggestions, summary.posts)
    return summary
