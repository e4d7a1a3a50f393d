"""What people care about, as tag weights: the vocabulary of reasons and community keywords.

A user's interest in a tag is the weight of their own ``TAGGED`` relationship to it plus
how often it tags the posts they wrote or interacted with (each post counting once per tag).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from graph.snapshot import IdMap
from graph.store import GraphStore

USER_TAGS = (
    "MATCH (u:User)-[t:TAGGED]->(g:Tag) "
    "RETURN collect(u.id) AS users, collect(g.name) AS tags, collect(coalesce(t.weight, 1.0)) AS weights"
)
CONTENT_TAGS = (
    "MATCH (u:User)-[:POSTED|INTERACTED]->(p:Post)-[:TAGGED]->(g:Tag) "
    "WITH u, g, count(DISTINCT p) AS n "
    "RETURN collect(u.id) AS users, collect(g.name) AS tags, collect(toFloat(n)) AS weights"
)


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
    rows, cols, vals, names = [], [], [], {}
    for query in (USER_TAGS, CONTENT_TAGS):
        record = store.read(query)[0]
        user_index = users.to_index(record["users"])
        tag_index = np.fromiter((names.setdefault(t, len(names)) for t in record["tags"]), dtype=np.int64, count=len(record["tags"]))
        keep = user_index >= 0
        rows.append(user_index[keep])
        cols.append(tag_index[keep])
        vals.append(np.asarray(record["weights"], dtype=np.float32)[keep])
    tags = np.empty(len(names), dtype=object)
    for name, column in names.items():
        tags[column] = name
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(len(users), len(names)), dtype=np.float32
    )
    matrix.sum_duplicates()
    return Interests(matrix, tags)
