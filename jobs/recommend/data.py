"""What the recommend job reads from the graph: interactions, follows, text vectors, opted-out authors."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from graph.arrays import VectorPages, binary_matrix
from graph.schema import NODE_KEYS, check_label
from graph.snapshot import IdMap, Projection, RelSpec, read_snapshot
from graph.store import GraphStore
from jobs.common.interests import POST_TAGS, read_interests
from jobs.recommend.lightgcn import Interactions

log = logging.getLogger(__name__)

PROJECTION = Projection(
    nodes={"User": None, "Post": None},
    relationships=[RelSpec("User", "INTERACTED", "Post"), RelSpec("User", "FOLLOWS", "User")],
)


@dataclass
class RecommendGraph:
    """The recommend job's view of the graph.

    Attributes:
        interactions: unique user-post pairs with the text features of both sides.
        users, posts: id maps (row index <-> id).
        follows: ``(src [F], dst [F])`` user indices.
        user_has_text, post_has_text: ``[num_users]`` / ``[num_posts]`` bool.
        blocked_posts: ``[num_posts]`` bool, posts authored by an opted-out user (never recommended).
    """

    interactions: Interactions
    users: IdMap
    posts: IdMap
    follows: tuple[np.ndarray, np.ndarray]
    user_has_text: np.ndarray
    post_has_text: np.ndarray
    blocked_posts: np.ndarray


def read_vectors(store: GraphStore, label: str, ids: IdMap, page_size: int = 20_000) -> tuple[torch.Tensor | None, np.ndarray]:
    """Reads the ``embedding`` vectors of ``label`` nodes, tolerating nodes without one.

    Returns:
        ``(x [len(ids), F] float32 with zero rows where absent, or None when no node has one;
        present [len(ids)] bool)``.
    """
    label = check_label(label)
    key = NODE_KEYS[label]
    query = (
        f"MATCH (n:{label}) WHERE n.{key} > $after AND n.embedding IS NOT NULL "
        f"WITH n ORDER BY n.{key} LIMIT $page RETURN collect(n.{key}) AS ids, collect(n.embedding) AS vectors"
    )
    found_ids: list[str] = []
    pages = VectorPages(f"{label}.embedding")
    for page_ids, vectors in store.collected_pages(query, page_size, 2):
        found_ids.extend(page_ids)
        pages.add(vectors)
    present = np.zeros(len(ids), dtype=bool)
    matrix, _ = pages.matrix()
    if matrix is None:
        return None, present
    rows_of = ids.to_index(found_ids)
    keep = rows_of >= 0
    matrix = matrix[keep]
    x = np.zeros((len(ids), matrix.shape[1]), dtype=np.float32)
    x[rows_of[keep]] = matrix
    present[rows_of[keep]] = True
    return torch.from_numpy(x), present


def read_recommend_graph(store: GraphStore, use_text: bool = True) -> RecommendGraph:
    """Snapshots users, posts, INTERACTED and FOLLOWS, plus text vectors and opted-out authors.

    Returns:
        A :class:`RecommendGraph`.
    """
    # The snapshot reads a relationship type only when the graph holds one: an aggregation over a
    # type the database has never seen returns no row at all.
    present = {r["type"] for r in store.read("CALL db.relationshipTypes() YIELD relationshipType AS type RETURN type")}
    projection = Projection(PROJECTION.nodes, [spec for spec in PROJECTION.relationships if spec.type in present])
    snap = read_snapshot(store, projection)
    users, posts = snap.id_maps["User"], snap.id_maps["Post"]
    inter, follows = (
        snap.data[spec.edge_type].edge_index.numpy() if spec in projection.relationships else np.zeros((2, 0), np.int64)
        for spec in PROJECTION.relationships
    )
    user_x, user_has_text = read_vectors(store, "User", users) if use_text else (None, np.zeros(len(users), bool))
    post_x, post_has_text = read_vectors(store, "Post", posts) if use_text else (None, np.zeros(len(posts), bool))
    blocked = np.zeros(len(posts), dtype=bool)
    rows = store.read("MATCH (u:User {opt_out: true})-[:POSTED]->(p:Post) RETURN collect(p.id) AS ids")
    authored = posts.to_index(rows[0]["ids"]) if rows else np.zeros(0, dtype=np.int64)
    blocked[authored[authored >= 0]] = True
    data = Interactions.unique(inter[0], inter[1], len(users), len(posts), user_x=user_x, item_x=post_x)
    log.info(
        "recommend graph: %d users (%d with text), %d posts (%d with text, %d by opted-out authors), "
        "%d interacting pairs, %d follows",
        len(users), int(user_has_text.sum()), len(posts), int(post_has_text.sum()), int(blocked.sum()),
        data.users.size, follows.shape[1],
    )
    return RecommendGraph(data, users, posts, (follows[0], follows[1]), user_has_text, post_has_text, blocked)


@dataclass
class Topics:
    """What users write about and what posts are on, over one tag vocabulary.

    Attributes:
        users: ``[U, T]`` float32 CSR, each user's interest in each tag (:mod:`jobs.common.interests`).
        posts: ``[P, T]`` binary CSR, each post's tags.
        names: the ``T`` tag names.
    """

    users: sp.csr_matrix
    posts: sp.csr_matrix
    names: np.ndarray

    def shared(self, users: np.ndarray, posts: np.ndarray) -> list[str | None]:
        """Returns, per pair ``(users[p], posts[p])``, the post's tag the user cares about most, or None."""
        both = self.users[users].multiply(self.posts[posts]).tocsr()
        best = np.asarray(both.argmax(axis=1)).ravel()
        has = np.diff(both.indptr) > 0
        return [str(self.names[t]) if h else None for t, h in zip(best.tolist(), has.tolist())]


def read_topics(store: GraphStore, graph: RecommendGraph) -> Topics:
    """Reads users' tag interests and posts' tags.

    Returns:
        :class:`Topics` over the rows of ``graph.users`` and ``graph.posts``.
    """
    interests = read_interests(store, graph.users)
    column = {name: i for i, name in enumerate(interests.tags.tolist())}
    tagging = store.read(POST_TAGS)[0]
    rows = graph.posts.to_index(tagging["posts"])
    cols = np.asarray([column.get(tag, -1) for tag in tagging["tags"]], dtype=np.int64)
    keep = (rows >= 0) & (cols >= 0)
    posts = binary_matrix(rows[keep], cols[keep], len(graph.posts), len(interests.tags))
    return Topics(interests.matrix, posts, interests.tags)
