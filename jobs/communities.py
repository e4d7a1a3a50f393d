"""Community detection: Louvain on the friendship graph re-weighted by GNN embedding similarity.

The encoder of :mod:`jobs.linkpred` embeds users from structure and text.  Every friendship
is then weighted by the cosine of its two ends' embeddings (floored, so no edge vanishes),
users without friendships get edges to their nearest neighbours in embedding space (so they
join the people they resemble instead of forming communities of one), and Louvain partitions
that graph.  This beat plain Louvain on NMI in the measurements recorded in
``bench/RESULTS.md``; nearest-neighbour edges for everyone lowered NMI and modularity there.

Keywords are class-based TF-IDF over the members' tags and the words of their posts; the label
is the top three keywords.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.feature_extraction.text import CountVectorizer

from jobs.interests import Interests
from jobs.social import SocialGraph

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommunityConfig:
    """Parameters of the clustering step."""

    neighbours: int = 5
    attach_below: int = 1
    min_weight: float = 0.05
    sharpness: float = 4.0
    resolution: float = 1.0
    keywords: int = 5


@dataclass
class Partition:
    """A partition of the users.

    Attributes:
        labels: ``[U]`` community index per user, ``0`` the largest community.
        score: ``[U]`` cosine of each user's embedding to its community's mean embedding.
    """

    labels: np.ndarray
    score: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        """Returns ``[C]`` member counts."""
        return np.bincount(self.labels)


def _knn_edges(z: torch.Tensor, rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = z.shape[0]
    k = min(k, n - 1)
    if k <= 0 or len(rows) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    src, dst, sim = [], [], []
    step = max(1, 8_000_000 // n)
    for start in range(0, len(rows), step):
        chunk = torch.from_numpy(rows[start : start + step])
        block = z[chunk] @ z.T
        block[torch.arange(len(chunk)), chunk] = float("-inf")
        values, index = torch.topk(block, k, dim=1)
        src.append(np.repeat(chunk.numpy(), k))
        dst.append(index.reshape(-1).numpy())
        sim.append(values.reshape(-1).numpy())
    return np.concatenate(src), np.concatenate(dst), np.concatenate(sim)


def weighted_graph(graph: SocialGraph, z: torch.Tensor, config: CommunityConfig) -> nx.Graph:
    """Returns the users' graph: friendships weighted by embedding cosine, plus edges to the nearest
    neighbours in embedding space for users with fewer than ``config.attach_below`` friendships.

    A weight is ``max(cosine, config.min_weight) ** config.sharpness``: the power widens the gap
    between ties inside a group and ties across groups, so Louvain cuts the latter.  On
    email-Eu-core (5 seeds) powers 1, 2 and 4 gave NMI 0.581, 0.609 and 0.623 against the
    departments at modularity 0.412, 0.408 and 0.402.
    """
    zn = F.normalize(z[: graph.num_users], dim=1)
    src, dst = graph.friendships.numpy()
    friend_sim = (zn[src] * zn[dst]).sum(-1).numpy()
    degree = np.bincount(np.concatenate([src, dst]), minlength=graph.num_users)
    k_src, k_dst, k_sim = _knn_edges(zn, np.flatnonzero(degree < config.attach_below), config.neighbours)
    g = nx.Graph()
    g.add_nodes_from(range(graph.num_users))
    g.add_weighted_edges_from(zip(k_src.tolist(), k_dst.tolist(), (np.maximum(k_sim, config.min_weight) ** config.sharpness).tolist()))
    g.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), (np.maximum(friend_sim, config.min_weight) ** config.sharpness).tolist()))
    return g


def _ordered_labels(communities: list[set[int]], n: int) -> np.ndarray:
    ordered = sorted(communities, key=lambda c: (-len(c), min(c)))
    labels = np.empty(n, dtype=np.int64)
    for index, members in enumerate(ordered):
        labels[list(members)] = index
    return labels


def louvain(g: nx.Graph, seed: int, resolution: float = 1.0, weight: str | None = "weight") -> np.ndarray:
    """Returns ``[N]`` community labels (0 = largest) of networkx Louvain on ``g`` (nodes ``0..N-1``)."""
    return _ordered_labels(nx.community.louvain_communities(g, weight=weight, resolution=resolution, seed=seed), g.number_of_nodes())


def detect(graph: SocialGraph, z: torch.Tensor, config: CommunityConfig, seed: int) -> Partition:
    """Partitions the users of ``graph`` given node embeddings ``z`` ``[N, D]``.

    Returns:
        A :class:`Partition`.
    """
    labels = louvain(weighted_graph(graph, z, config), seed, config.resolution)
    zn = F.normalize(z[: graph.num_users], dim=1)
    centroids = torch.zeros(int(labels.max()) + 1 if len(labels) else 0, zn.shape[1]).index_add_(0, torch.from_numpy(labels), zn)
    centroids = F.normalize(centroids, dim=1)
    score = (zn * centroids[torch.from_numpy(labels)]).sum(-1).numpy()
    return Partition(labels, score)


def friendship_graph(graph: SocialGraph) -> nx.Graph:
    """Returns the unweighted undirected friendship graph over user rows ``0..U-1``."""
    g = nx.Graph()
    g.add_nodes_from(range(graph.num_users))
    g.add_edges_from(graph.friendships.t().tolist())
    return g


def modularity(g: nx.Graph, labels: np.ndarray) -> float:
    """Returns the modularity of ``labels`` on the unweighted graph ``g`` (0 for an edgeless graph)."""
    if g.number_of_edges() == 0:
        return 0.0
    groups: dict[int, set[int]] = {}
    for node, label in enumerate(labels.tolist()):
        groups.setdefault(label, set()).add(node)
    return float(nx.community.modularity(g, groups.values(), weight=None))


def keywords(
    labels: np.ndarray, interests: Interests | None, texts: dict[int, list[str]], top: int = 5
) -> list[list[str]]:
    """Returns the top ``top`` keywords of each community, by class-based TF-IDF over tags and post words.

    Args:
        labels: ``[U]`` community per user row.
        interests: users' tag weights (tags count as terms with their weight).
        texts: post texts by user row.
    """
    n_comm = int(labels.max()) + 1 if len(labels) else 0
    membership = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(n_comm, len(labels)))
    blocks, vocab = [], []
    if interests is not None and interests.matrix.shape[1]:
        blocks.append(membership @ (interests.matrix > 0).astype(np.float64))
        vocab.extend(str(t) for t in interests.tags)
    documents = [" ".join(texts.get(row, [])) for row in range(len(labels))]
    if any(documents):
        vectorizer = CountVectorizer(stop_words="english", min_df=2, token_pattern=r"(?u)\b[^\W\d_]{3,}\b", max_features=20_000)
        try:
            words = vectorizer.fit_transform(documents)
            blocks.append(membership @ (words > 0).astype(np.float64))
            vocab.extend(vectorizer.get_feature_names_out().tolist())
        except ValueError:
            log.info("no words frequent enough for keywords")
    if not blocks:
        return [[] for _ in range(n_comm)]
    counts = sp.hstack(blocks).tocsr()
    totals = np.asarray(counts.sum(axis=0)).ravel()
    per_class = np.asarray(counts.sum(axis=1)).ravel()
    average = per_class.mean() if n_comm else 1.0
    idf = np.log1p(average / np.maximum(totals, 1e-9))
    tf = sp.diags(1.0 / np.maximum(per_class, 1e-9)) @ counts
    scores = (tf @ sp.diags(idf)).tocsr()
    out = []
    for c in range(n_comm):
        row = scores[c].tocoo()
        seen: Counter[str] = Counter()
        picked = []
        for index in row.col[np.lexsort((row.col, -row.data))]:
            term = vocab[index]
            if not seen[term]:
                seen[term] += 1
                picked.append(term)
            if len(picked) == top:
                break
        out.append(picked)
    return out


def label(words: list[str], index: int) -> str:
    """Returns a readable community label: its top three keywords, or its number when it has none."""
    return " · ".join(words[:3]) if words else f"community {index}"
