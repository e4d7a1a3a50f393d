"""The social graph as the GNN jobs see it: users and posts in one homogeneous node space.

Rows ``0 .. U-1`` are users and rows ``U .. U+P-1`` are posts, so one encoder embeds both.
Friendships are ``FOLLOWS`` read as undirected (a follow either way makes two people
connected); interactions are ``INTERACTED`` and ``POSTED`` (authorship is the strongest
interaction a person has with a post).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from graph.arrays import unique_pairs
from graph.snapshot import IdMap, Projection, RelSpec, read_snapshot
from graph.store import GraphStore

log = logging.getLogger(__name__)

PROJECTION = Projection(
    nodes={"User": "embedding", "Post": "embedding"},
    relationships=(
        RelSpec("User", "FOLLOWS", "User"),
        RelSpec("User", "INTERACTED", "Post", weight="weight"),
        RelSpec("User", "POSTED", "Post"),
    ),
)


@dataclass
class SocialGraph:
    """Users, posts, friendships and interactions, indexed for PyG.

    Attributes:
        users: ids of rows ``0 .. U-1``.
        posts: ids of post rows, locally ``0 .. P-1`` (globally ``U + i``).
        x: ``[U + P, F]`` text embeddings (zeros where missing), or None when no node has one.
        has_x: ``[U + P]`` bool, which rows carry a text embedding.
        friendships: ``[2, M]`` undirected user pairs with ``src < dst``, each once.
        interactions: ``[2, I]`` (user row, post local row) pairs, each once.
        opt_out: ``[U]`` bool, users who opted out of being suggested.
        community: ``[U]`` int64 ground-truth community (``User.community``), ``-1`` where unknown.
        interaction_weight: ``[I]`` float32 strength of each interaction (the largest
            ``INTERACTED.weight`` of the pair, 1 for authorship), or None where unknown (all 1).
    """

    users: IdMap
    posts: IdMap
    x: torch.Tensor | None
    has_x: torch.Tensor
    friendships: torch.Tensor
    interactions: torch.Tensor
    opt_out: np.ndarray
    community: np.ndarray
    interaction_weight: np.ndarray | None = None

    @property
    def num_users(self) -> int:
        """Returns U."""
        return len(self.users)

    @property
    def num_nodes(self) -> int:
        """Returns U + P."""
        return len(self.users) + len(self.posts)

    def message_edges(self, friendships: torch.Tensor | None = None) -> torch.Tensor:
        """Returns the symmetric ``[2, E]`` edge index that messages flow along.

        Args:
            friendships: the friendships to include (default all); training passes a subset
                so that the edges it learns to predict are not visible to the encoder.
        """
        pairs = self.friendships if friendships is None else friendships
        inter = torch.stack([self.interactions[0], self.interactions[1] + self.num_users])
        both = torch.cat([pairs, inter], dim=1)
        return torch.cat([both, both.flip(0)], dim=1)

    def friend_matrix(self, friendships: torch.Tensor | None = None) -> sp.csr_matrix:
        """Returns the symmetric ``U x U`` 0/1 friendship matrix (float32 CSR)."""
        pairs = (self.friendships if friendships is None else friendships).numpy()
        n = self.num_users
        rows = np.concatenate([pairs[0], pairs[1]])
        cols = np.concatenate([pairs[1], pairs[0]])
        return sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(n, n))

    def interaction_matrix(self, weighted: bool = False) -> sp.csr_matrix:
        """Returns the ``U x P`` user-post interaction matrix (float32 CSR): 0/1, or with ``weighted``
        ``log(1 + weight)``, so that a thousand listens count more than one without drowning the rest."""
        u, p = self.interactions.numpy()
        values = np.ones(u.size, dtype=np.float32)
        if weighted and self.interaction_weight is not None:
            values = np.log1p(np.maximum(self.interaction_weight, 0)).astype(np.float32)
        return sp.csr_matrix((values, (u, p)), shape=(self.num_users, len(self.posts)))


def _strongest_pairs(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, width: int) -> tuple[torch.Tensor, np.ndarray]:
    """Returns the unique ``[2, I]`` pairs and ``[I]`` the largest weight each pair was seen with."""
    code = src.astype(np.int64) * width + dst.astype(np.int64)
    unique, inverse = np.unique(code, return_inverse=True)
    strongest = np.zeros(unique.size, dtype=np.float32)
    np.maximum.at(strongest, inverse, weight)
    return torch.from_numpy(np.stack([unique // width, unique % width])), strongest


def undirected_pairs(src: np.ndarray, dst: np.ndarray, num_nodes: int) -> torch.Tensor:
    """Returns ``[2, M]`` unique pairs ``(min, max)`` of the directed edges ``src -> dst``, self-loops dropped."""
    keep = src != dst
    lo, hi = np.minimum(src[keep], dst[keep]), np.maximum(src[keep], dst[keep])
    return torch.from_numpy(np.stack(unique_pairs(lo, hi, num_nodes)))


def read_social_graph(store: GraphStore, page_size: int | None = None) -> SocialGraph:
    """Reads users, posts, friendships and interactions from the graph.

    Returns:
        A :class:`SocialGraph`; text features where ``embedding`` properties exist.
    """
    snap = read_snapshot(store, PROJECTION, page_size)
    data, users, posts = snap.data, snap.id_maps["User"], snap.id_maps["Post"]
    n_users, n_posts = len(users), len(posts)
    follows = data["User", "FOLLOWS", "User"].edge_index.numpy()
    friendships = undirected_pairs(follows[0], follows[1], max(n_users, 1))
    interacted, posted = data["User", "INTERACTED", "Post"], data["User", "POSTED", "Post"]
    inter = np.concatenate([interacted.edge_index.numpy(), posted.edge_index.numpy()], axis=1)
    strength = np.concatenate([
        interacted.edge_weight.numpy() if "edge_weight" in interacted else np.ones(interacted.edge_index.shape[1]),
        np.ones(posted.edge_index.shape[1]),
    ]).astype(np.float32)
    interactions, interaction_weight = _strongest_pairs(inter[0], inter[1], strength, max(n_posts, 1))
    x, has_x = _features(data, n_users, n_posts)
    flags = store.read(
        "MATCH (u:User) WHERE u.opt_out = true OR u.community IS NOT NULL "
        "RETURN collect(CASE WHEN u.opt_out = true THEN u.id END) AS opted, "
        "collect(CASE WHEN u.community IS NOT NULL THEN [u.id, u.community] END) AS labelled"
    )[0]
    opt_out = np.zeros(n_users, dtype=bool)
    opt_out[users.to_index(flags["opted"])] = True
    community = np.full(n_users, -1, dtype=np.int64)
    if flags["labelled"]:
        ids, labels = zip(*flags["labelled"])
        community[users.to_index(list(ids))] = np.asarray(labels, dtype=np.int64)
    log.info(
        "social graph: %d users, %d posts, %d friendships, %d interactions, %d with text, %d opted out",
        n_users, n_posts, friendships.shape[1], interactions.shape[1], int(has_x.sum()), int(opt_out.sum()),
    )
    return SocialGraph(users, posts, x, has_x, friendships, interactions, opt_out, community, interaction_weight)


def read_email_eu_core(folder: Path) -> tuple[SocialGraph, np.ndarray]:
    """Reads SNAP email-Eu-core straight from its files, without Neo4j, for checks against its departments.

    Returns:
        ``(graph, truth)``: a :class:`SocialGraph` of users only (user ``i`` has id ``"i"``, friendships
        undirected with self-loops dropped) and ``[U]`` int64 department labels (-1 where a user has none).
    """
    edges = np.loadtxt(folder / "email-Eu-core.txt", dtype=np.int64)
    labels = np.loadtxt(folder / "email-Eu-core-department-labels.txt", dtype=np.int64)
    n = int(max(edges.max(), labels[:, 0].max())) + 1
    truth = np.full(n, -1, dtype=np.int64)
    truth[labels[:, 0]] = labels[:, 1]
    graph = SocialGraph(
        IdMap([str(i) for i in range(n)]), IdMap([]), None, torch.zeros(n, dtype=torch.bool),
        undirected_pairs(edges[:, 0], edges[:, 1], n), torch.zeros((2, 0), dtype=torch.long),
        np.zeros(n, dtype=bool), truth,
    )
    return graph, truth


def _features(data, n_users: int, n_posts: int) -> tuple[torch.Tensor | None, torch.Tensor]:
    parts = [(data[label], n) for label, n in (("User", n_users), ("Post", n_posts))]
    dims = {store.x.shape[1] for store, _ in parts if "x" in store}
    if not dims:
        return None, torch.zeros(n_users + n_posts, dtype=torch.bool)
    if len(dims) > 1:
        raise ValueError(f"user and post embeddings differ in size {sorted(dims)}; rerun `python -m jobs embed`")
    dim = dims.pop()
    xs, masks = [], []
    for store, n in parts:
        xs.append(store.x if "x" in store else torch.zeros(n, dim))
        masks.append(store.has_x if "x" in store else torch.zeros(n, dtype=torch.bool))
    return torch.cat(xs), torch.cat(masks)
