"""The embed job: text vectors of posts and user profiles as Neo4j vector properties, incrementally.

Each node keeps ``embedding`` (a vector property written with
``db.create.setNodeVectorProperty``), ``embedding_model`` and ``embedding_hash``;
the hash covers the model's name and the text, so a rerun embeds only new or
changed texts and a change of model re-embeds everything.  Cosine vector
indexes ``post_embedding`` and ``user_embedding`` serve "similar posts" and
"similar users" through ``db.index.vector.queryNodes``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graph.lock import JobLock
from graph.schema import check_label
from graph.store import GraphStore
from jobs.common.outputs import JobOutputs, NodeOutput
from text.embeddings import Encoder, text_hash
from text.profiles import combine, tags_sentence

log = logging.getLogger(__name__)

VECTOR_INDEXES = {"Post": "post_embedding", "User": "user_embedding"}
OUTPUTS = JobOutputs(
    "embed",
    node_properties=tuple(NodeOutput(label, ("embedding", "embedding_model", "embedding_hash")) for label in VECTOR_INDEXES),
    indexes=tuple(VECTOR_INDEXES.values()),
)
"""What the embed job writes: vector properties of existing posts and users, and their vector indexes."""


@dataclass
class EmbedSummary:
    """What a run of the embed job did."""

    model: str
    posts_embedded: int = 0
    posts_unchanged: int = 0
    posts_without_text: int = 0
    users_embedded: int = 0
    users_unchanged: int = 0
    users_without_text: int = 0


def ensure_vector_indexes(store: GraphStore, dim: int) -> None:
    """Creates the cosine vector indexes for ``dim``-d vectors, replacing ones built for another dimension."""
    existing = {
        row["name"]: row["options"]
        for row in store.read("SHOW VECTOR INDEXES YIELD name, options RETURN name, options")
    }
    for label, name in VECTOR_INDEXES.items():
        options = existing.get(name)
        if options is not None and options.get("indexConfig", {}).get("vector.dimensions") != dim:
            store.write(f"DROP INDEX {name}")
            options = None
        if options is None:
            store.write(
                f"CREATE VECTOR INDEX {name} IF NOT EXISTS FOR (n:{label}) ON n.embedding "
                "OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}}",
                {"dim": dim},
            )
    store.write("CALL db.awaitIndexes(300)")


POSTS_PAGE = (
    "MATCH (p:Post) WHERE p.id > $after WITH p ORDER BY p.id LIMIT $page "
    "RETURN p.id, p.text, p.embedding_hash"
)
USERS_PAGE = (
    "MATCH (u:User) WHERE u.id > $after WITH u ORDER BY u.id LIMIT $page "
    "RETURN u.id, u.bio, u.embedding_hash, "
    "[(u)-[t:TAGGED]->(g:Tag) | [g.name, t.weight]] AS tags, "
    "[(u)-[:POSTED]->(p:Post) WHERE p.embedding_hash IS NOT NULL | [p.id, p.embedding_hash]] AS posts"
)
POST_VECTORS = "UNWIND $ids AS id MATCH (p:Post {id: id}) WHERE p.embedding IS NOT NULL RETURN id, p.embedding"
WRITE_VECTORS = (
    "UNWIND $rows AS row MATCH (n:{label} {{id: row.id}}) "
    "CALL db.create.setNodeVectorProperty(n, 'embedding', row.vector) "
    "SET n.embedding_hash = row.hash, n.embedding_model = $model"
)


class VectorWriter:
    """Writes vector batches on one background thread, so the model keeps encoding meanwhile.

    Batches are written in submission order; :meth:`flush` waits for all of them
    and re-raises the first failure.  At most ``queued`` batches are in flight: each holds its
    vectors as Python floats, so an encoder faster than the writes would otherwise pile every
    page of them up in memory.
    """

    def __init__(self, store: GraphStore, model: str, queued: int = 2) -> None:
        self.store = store
        self.model = model
        self.queued = queued
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vector-writer")
        self._pending: list[Future] = []

    def write(self, label: str, payload: list[dict[str, Any]]) -> None:
        """Queues ``payload`` (``{id, vector, hash}`` rows) for nodes of ``label``, first waiting
        for the oldest batch while ``queued`` are waiting (re-raising its failure)."""
        query = WRITE_VECTORS.format(label=check_label(label))
        while len(self._pending) >= self.queued:
            self._pending.pop(0).result()
        self._pending.append(self._pool.submit(self.store.write, query, {"rows": payload, "model": self.model}))

    def flush(self) -> None:
        """Waits for every queued write."""
        for future in self._pending:
            future.result()
        self._pending.clear()

    def close(self) -> None:
        """Flushes and stops the thread."""
        try:
            self.flush()
        finally:
            self._pool.shutdown(wait=True)


# Post vectors kept in memory for the profiles (384 MB at 384-d), because reading them back
# from Neo4j was a measurable share of the job (docs/history/benchmarks.md).
HELD_VECTORS = 250_000


@dataclass
class EmbedRun:
    """What one run of the job works with: where to read, how to encode, where to write, what to count.

    ``fresh`` holds the post vectors this run computed (up to :data:`HELD_VECTORS`), by post id.
    """

    store: GraphStore
    encoder: Encoder
    writer: VectorWriter
    summary: EmbedSummary
    page_size: int
    on_progress: Callable[[int], None]
    fresh: dict[str, np.ndarray] = field(default_factory=dict)


POSTS_BY_ID = "UNWIND $ids AS id MATCH (p:Post {id: id}) RETURN p.id, p.text, p.embedding_hash"
USERS_BY_ID = (
    "UNWIND $ids AS id MATCH (u:User {id: id}) "
    "RETURN u.id, u.bio, u.embedding_hash, "
    "[(u)-[t:TAGGED]->(g:Tag) | [g.name, t.weight]] AS tags, "
    "[(u)-[:POSTED]->(p:Post) WHERE p.embedding_hash IS NOT NULL | [p.id, p.embedding_hash]] AS posts"
)
"""The rows of :data:`POSTS_PAGE` and :data:`USERS_PAGE` for given ids (``$ids``), for the watch service."""


def embed_post_page(run: EmbedRun, rows: list[list[Any]]) -> None:
    """Embeds the posts of ``rows`` (``[id, text, stored hash]``) whose text or model changed."""
    encoder, writer, summary = run.encoder, run.writer, run.summary
    todo = []
    for post_id, text, stored in rows:
        if text is None or not str(text).strip():
            summary.posts_without_text += 1
            continue
        digest = text_hash(encoder.name, text)
        if digest == stored:
            summary.posts_unchanged += 1
        else:
            todo.append((post_id, text, digest))
    if todo:
        vectors = encoder.encode([t for _, t, _ in todo])
        payload = [{"id": i, "vector": v.tolist(), "hash": h} for (i, _, h), v in zip(todo, vectors)]
        writer.write("Post", payload)
        summary.posts_embedded += len(todo)
        room = HELD_VECTORS - len(run.fresh)
        run.fresh.update((post_id, vector) for (post_id, _, _), vector in zip(todo[:max(room, 0)], vectors))


def embed_posts(run: EmbedRun) -> None:
    """Embeds every post whose text or model changed since its vector was written."""
    for rows in run.store.read_pages(POSTS_PAGE, run.page_size):
        embed_post_page(run, rows)
        run.on_progress(len(rows))


def _post_vectors(run: EmbedRun, posts_by_user: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Returns ``[n, dim]`` post vectors per user: from this run's memory, the rest read from the
    graph (and kept, while :data:`HELD_VECTORS` allows)."""
    missing = sorted({pid for post_ids in posts_by_user.values() for pid in post_ids if pid not in run.fresh})
    read: dict[str, np.ndarray] = {}
    if missing:
        # Values as returned: turning hundreds of floats a row into dicts costs more than the read.
        _, rows = run.store.read_columns(POST_VECTORS, {"ids": missing})
        read = {pid: np.asarray(vector, dtype=np.float32) for pid, vector in rows}
        room = HELD_VECTORS - len(run.fresh)
        run.fresh.update(list(read.items())[: max(room, 0)])
    out: dict[str, np.ndarray] = {}
    for user_id, post_ids in posts_by_user.items():
        vectors = [v for v in (run.fresh.get(pid, read.get(pid)) for pid in post_ids) if v is not None]
        if vectors:
            out[user_id] = np.stack(vectors)
    return out


def embed_user_page(run: EmbedRun, rows: list[list[Any]]) -> None:
    """Embeds the users of ``rows`` (``[id, bio, stored hash, tags, posts]``) whose bio, tags, own
    posts or model changed (see :mod:`text.profiles`)."""
    encoder, writer, summary = run.encoder, run.writer, run.summary
    todo = []
    posts_by_user: dict[str, list[str]] = {}
    for user_id, bio, stored, tags, posts in rows:
        bio_text = bio if bio and str(bio).strip() else ""
        tag_text = tags_sentence([(name, weight) for name, weight in tags])
        if not bio_text and not tag_text and not posts:
            summary.users_without_text += 1
            continue
        digest = text_hash(encoder.name, "\x1f".join([bio_text, tag_text, *sorted(h for _, h in posts)]))
        if digest == stored:
            summary.users_unchanged += 1
        else:
            todo.append((user_id, bio_text, tag_text, digest))
            if posts:
                posts_by_user[user_id] = [pid for pid, _ in posts]
    if not todo:
        return
    post_vectors = _post_vectors(run, posts_by_user)
    both = encoder.encode([b for _, b, _, _ in todo] + [t for _, _, t, _ in todo])
    bios, tag_vectors = both[: len(todo)], both[len(todo) :]
    payload = []
    for (user_id, bio_text, tag_text, digest), bio_vec, tag_vec in zip(todo, bios, tag_vectors):
        vector = combine(bio_vec if bio_text else None, post_vectors.get(user_id), tag_vec if tag_text else None)
        if vector is not None:
            payload.append({"id": user_id, "vector": vector.tolist(), "hash": digest})
    writer.write("User", payload)
    summary.users_embedded += len(payload)


def embed_users(run: EmbedRun) -> None:
    """Embeds every user whose bio, tags, own posts or model changed (see :mod:`text.profiles`)."""
    for rows in run.store.read_pages(USERS_PAGE, run.page_size):
        embed_user_page(run, rows)
        run.on_progress(len(rows))


def run_embed(
    store: GraphStore, encoder: Encoder, page_size: int = 5_000, on_progress: Callable[[int], None] | None = None
) -> EmbedSummary:
    """Runs the embed job: vector indexes, then posts, then users (whose profiles use the post vectors),
    under the job's lock (:class:`graph.lock.LockBusy` when another run holds it).

    Returns:
        Counts of embedded, unchanged and text-less posts and users.
    """
    progress = on_progress or (lambda n: None)
    summary = EmbedSummary(encoder.name)
    with JobLock(store, OUTPUTS.job).hold():
        ensure_vector_indexes(store, encoder.dim)
        writer = VectorWriter(store, encoder.name)
        run = EmbedRun(store, encoder, writer, summary, page_size, progress)
        try:
            embed_posts(run)
            # Profiles average the post vectors, so every post write must land first.
            writer.flush()
            embed_users(run)
        finally:
            writer.close()
    return summary
