"""What people care about, as tag weights: the vocabulary of reasons and community keywords.

A user's interest in a tag is the weight of their own ``TAGGED`` relationship to it plus
how often it tags the posts they wrote or interacted with (each post counting once per tag).
The second part is the product of the user-post and post-tag matrices, computed here rather
than aggregated in Cypher: on LastFM the Cypher ``count(DISTINCT p)`` over user-post-tag paths
took many times longer than the two reads and the product (docs/history/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from graph.arrays import binary_matrix
from graph.snapshot import IdMap
from graph.store import GraphStore

USER_TAGS = (
    "MATCH (u:User)-[t:TAGGED]->(g:Tag) "
    "RETURN collect(u.id) AS users, collect(g.name) AS tags, collect(coalesce(t.weight, 1.0)) AS weights"
)
USER_POSTS = "MATCH (u:User)-[:POSTED|INTERACTED]->(p:Post) RETURN collect(u.id) AS users, collect(p.id) AS posts"
POST_TAGS = "MATCH (p:Post)-[:TAGGED]->(g:Tag) RETURN collect(p.id) AS posts, collect(g.name) AS tags"


@dataclass
class Interests:
    """Users' interest in tags.

    Attributes:
        matrix: ``[U, T]`` float32 CSR, row ``i`` for user row ``i`` of the id map.
        tags: the ``T`` tag names, column order.
    """

    matrix: sp.csr_matrix
    tags: np.ndarray

    def shared(self, u: int, v: int, top: int = 3) -> list[str]:
        """Returns up to ``top`` tags both users care about, strongest shared interest first."""
        both = self.matrix[u].minimum(self.matrix[v]).tocoo()
        if both.nnz == 0:
            return []
        order = np.lexsort((both.col, -both.data))[:top]
        return [str(self.tags[c]) for c in both.col[order]]


def read_interests(store: GraphStore, users: IdMap) -> Interests:
    """Reads every user's tag weights.

    Returns:
        :class:`Interests` over the users of ``users`` (rows of unknown users are dropped).
    """
    own = store.read(USER_TAGS)[0]
    touched = store.read(USER_POSTS)[0]
    tagging = store.read(POST_TAGS)[0]
    tag_codes, tags = pd.factorize(pd.Index(list(own["tags"]) + list(tagging["tags"]), dtype=object))
    own_tags, post_tags = tag_codes[: len(own["tags"])], tag_codes[len(own["tags"]) :]
    post_codes, posts = pd.factorize(pd.Index(list(touched["posts"]) + list(tagging["posts"]), dtype=object))
    touched_posts, tagged_posts = post_codes[: len(touched["posts"])], post_codes[len(touched["posts"]) :]
    shape = (len(users), len(tags))
    user_rows = users.to_index(own["users"])
    keep = user_rows >= 0
    matrix = sp.csr_matrix(
        (np.asarray(own["weights"], dtype=np.float32)[keep], (user_rows[keep], own_tags[keep])), shape=shape, dtype=np.float32
    )
    user_rows = users.to_index(touched["users"])
    keep = user_rows >= 0
    user_post = binary_matrix(user_rows[keep], touched_posts[keep], len(users), len(posts))
    post_tag = binary_matrix(tagged_posts, post_tags, len(posts), len(tags))
    matrix = (matrix + user_post @ post_tag).tocsr()
    matrix.sum_duplicates()
    return Interests(matrix.astype(np.float32), np.asarray(tags, dtype=object))
