"""Community detection: Leiden on the friendship graph re-weighted by GNN embedding similarity.

Users are embedded from structure and text, by default with a GNN whose weights are fixed
(:func:`propagated_embeddings`: random node vectors and text embeddings, mean-aggregated over
several hops), or with the trained GraphSAGE encoder of :mod:`jobs.gnn.encoder`.  The fixed
propagation matched the trained encoder's NMI on email-Eu-core and the synthetic network and
runs in milliseconds instead of seconds (``bench/RESULTS.md``).  Every friendship is then
weighted by the cosine of its two ends' embeddings (floored, so no edge vanishes), users without
friendships get edges to their nearest neighbours in embedding space (so they join the people
they resemble instead of forming communities of one), and Leiden (igraph, modularity objective)
partitions that graph.  This beat plain Louvain on NMI in the measurements recorded in
``bench/RESULTS.md`` (Communities); nearest-neighbour edges for everyone lowered NMI and
modularity (``docs/history/benchmarks.md``).

Keywords are class-based TF-IDF over the members' tags and the words of their posts; the label
is the top three keywords.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import igraph
import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.feature_extraction.text import CountVectorizer

from jobs.common.interests import Interests
from jobs.gnn.encoder import EncoderConfig, train_encoder
from jobs.gnn.social import SocialGraph
from jobs.gnn.sparse import mean_propagation

log = logging.getLogger(__name__)

# F.normalize's floor on a norm, so that a zero row stays zero.
_EPS = 1e-12


EMBEDDINGS: tuple[str, ...] = ("propagation", "sage")


@dataclass(frozen=True)
class CommunityConfig:
    """Parameters of the embedding and clustering steps.

    Attributes:
        embedding: ``propagation`` (a GNN with fixed weights, :func:`propagated_embeddings`) or
            ``sage`` (the GraphSAGE encoder of :mod:`jobs.gnn.encoder`, trained on friendships).
        hops: message-passing layers of the propagation.
        random_dim: width of the random node vectors the propagation starts from.
        neighbours: nearest neighbours in embedding space given to users with too few friendships.
        attach_below: users with fewer friendships than this get those neighbours.
        min_weight: floor of an edge's cosine before the power.
        sharpness: power applied to the floored cosine.
        resolution: Leiden's modularity resolution.
        keywords: keywords kept per community.
    """

    embedding: str = "propagation"
    hops: int = 3
    random_dim: int = 128
    neighbours: int = 5
    attach_below: int = 1
    min_weight: float = 0.05
    sharpness: float = 4.0
    resolution: float = 1.0
    keywords: int = 5

    def __post_init__(self) -> None:
        if self.embedding not in EMBEDDINGS:
            raise ValueError(f"embedding must be one of {', '.join(EMBEDDINGS)}, not {self.embedding!r}")


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

    def ranks(self) -> np.ndarray:
        """Returns ``[U]`` int64 each user's rank within their community, 1 the highest score (ties: the lower row)."""
        order = np.lexsort((np.arange(len(self.labels)), -self.score, self.labels))
        first = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))
        rank = np.empty(len(self.labels), dtype=np.int64)
        rank[order] = np.arange(len(self.labels)) - first[self.labels[order]] + 1
        return rank


def membership_reasons(graph: SocialGraph, labels: np.ndarray) -> list[str]:
    """Returns one reason per user (``[U]`` strings) for the community ``labels`` gives them, e.g.
    ``"your friends in this community: 7 of 9"``; a user without friendships was placed by what they
    write and interact with."""
    src, dst = graph.friendships.numpy()
    n = graph.num_users
    same = labels[src] == labels[dst]
    inside = np.bincount(src[same], minlength=n) + np.bincount(dst[same], minlength=n)
    degree = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    return [
        f"your friends in this community: {k} of {d}" if d
        else "no friendships yet: close to its members in what you write and like"
        for k, d in zip(inside.tolist(), degree.tolist())
    ]


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


def _pair_dots(vectors: torch.Tensor, src: np.ndarray, dst: np.ndarray, budget: int = 2**24) -> np.ndarray:
    """Returns ``[E]`` float32 ``vectors[src[e]] . vectors[dst[e]]``, gathering at most ``budget`` cells at once."""
    out = np.empty(len(src), dtype=np.float32)
    step = max(1, budget // max(vectors.shape[1], 1))
    for start in range(0, len(src), step):
        end = start + step
        left, right = vectors[torch.from_numpy(src[start:end])], vectors[torch.from_numpy(dst[start:end])]
        out[start:end] = torch.einsum("ed,ed->e", left, right).numpy()
    return out


def propagated_embeddings(
    graph: SocialGraph, hops: int, random_dim: int, generator: torch.Generator, block: int = 64
) -> torch.Tensor:
    """Embeds every user with a GNN whose weights are fixed: no training.

    Each node starts from a random unit vector (``random_dim`` wide) beside its unit text
    embedding (zeros without text), as in random-feature GNNs and FastRP; ``hops`` mean
    aggregations over friendships and interactions follow, and the node's own text plus the
    unit-normalised output of every hop are summed (a jumping-knowledge readout), so one's own
    words, near and far neighbourhoods all count.  Random vectors of connected nodes grow alike
    with every hop, which carries the structure; the text part carries what people write about,
    also for someone with no friendships or interactions yet.

    Mean aggregation acts on each column alone, so the hops run over ``block`` columns at a time:
    a first pass sums each hop's squared row norms over the blocks, a second repeats the hops and
    adds the normalised user rows.  Memory is ``[N, block]`` per hop plus the ``[U, D]`` result
    instead of several ``[N, D]`` tensors, for twice the sparse products.

    Returns:
        ``[U, random_dim + F]`` float32 embeddings of the users (``F`` = 0 without text).
    """
    n, users = graph.num_nodes, graph.num_users
    propagation = mean_propagation(graph.message_edges(), n, torch.device("cpu"))
    random_part = F.normalize(torch.randn(n, random_dim, generator=generator), dim=1)
    text_norm = graph.x.float().norm(dim=1, keepdim=True).clamp_min(_EPS) if graph.x is not None else None
    width = random_dim + (graph.x.shape[1] if graph.x is not None else 0)

    def start(columns: slice) -> torch.Tensor:
        if columns.stop <= random_dim:
            return random_part[:, columns].contiguous()
        return graph.x[:, columns.start - random_dim : columns.stop - random_dim].float() / text_norm

    # Blocks never straddle the random and text parts, so each one starts from a plain slice.
    bounds = list(range(0, random_dim, block)) + list(range(random_dim, width, block))
    blocks = [slice(a, min(b, width)) for a, b in zip(bounds, bounds[1:] + [width])]
    with torch.no_grad():
        squares = torch.zeros(hops, n)
        for columns in blocks:
            h = start(columns)
            for hop in range(hops):
                h = propagation(h)
                squares[hop] += h.square().sum(dim=1)
        norms = squares.sqrt_().clamp_min_(_EPS)[:, :users, None]
        z = torch.zeros(users, width)
        for columns in blocks:
            h = start(columns)
            if columns.start >= random_dim:
                z[:, columns] = h[:users]
            for hop in range(hops):
                h = propagation(h)
                z[:, columns] += h[:users] / norms[hop]
    return z


def community_embeddings(
    graph: SocialGraph,
    config: CommunityConfig,
    encoder: EncoderConfig,
    generator: torch.Generator,
    device: torch.device,
    on_epoch: Callable[[int, float], None] | None = None,
) -> torch.Tensor:
    """Returns ``[U, D]`` user embeddings as ``config.embedding`` says (``encoder`` and ``on_epoch`` serve ``sage``)."""
    if config.embedding == "sage":
        return train_encoder(graph, graph.friendships, encoder, generator, device, on_epoch)[1][: graph.num_users]
    return propagated_embeddings(graph, config.hops, config.random_dim, generator)


def weighted_edges(graph: SocialGraph, z: torch.Tensor, config: CommunityConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns the users' graph as ``(src, dst, weight)`` arrays, each undirected edge once (``src < dst``):
    friendships weighted by embedding cosine, plus edges to the nearest neighbours in embedding
    space for users with fewer than ``config.attach_below`` friendships.

    A weight is ``max(cosine, config.min_weight) ** config.sharpness``: the power widens the gap
    between ties inside a group and ties across groups, so the clustering cuts the latter; the
    power was chosen on email-Eu-core (``docs/history/benchmarks.md``, Communities).
    """
    n = graph.num_users
    zn = F.normalize(z[:n], dim=1)
    src, dst = graph.friendships.numpy()
    friend_sim = _pair_dots(zn, src, dst)
    degree = np.bincount(np.concatenate([src, dst]), minlength=n)
    k_src, k_dst, k_sim = _knn_edges(zn, np.flatnonzero(degree < config.attach_below), config.neighbours)
    # Friendships come first, so a pair that is also a nearest-neighbour pair keeps its friendship weight.
    low = np.concatenate([src, np.minimum(k_src, k_dst)])
    high = np.concatenate([dst, np.maximum(k_src, k_dst)])
    sim = np.concatenate([friend_sim, k_sim])
    _, first = np.unique(low * n + high, return_index=True)
    return low[first], high[first], np.maximum(sim[first], config.min_weight) ** config.sharpness


def _ordered(membership: np.ndarray) -> np.ndarray:
    """Relabels communities so that 0 is the largest (ties: the one holding the lowest node)."""
    sizes = np.bincount(membership)
    lowest = np.full(len(sizes), len(membership))
    np.minimum.at(lowest, membership, np.arange(len(membership)))
    rank = np.empty(len(sizes), dtype=np.int64)
    rank[np.lexsort((lowest, -sizes))] = np.arange(len(sizes))
    return rank[membership]


def leiden(num_nodes: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, seed: int, resolution: float = 1.0) -> np.ndarray:
    """Returns ``[N]`` community labels (0 = largest) of igraph's Leiden, maximising weighted modularity
    until no move improves it, on the undirected graph of the given edges over nodes ``0..N-1``."""
    g = igraph.Graph(n=num_nodes, edges=np.stack([src, dst], axis=1).tolist())
    igraph.set_random_number_generator(random.Random(seed))
    try:
        membership = g.community_leiden("modularity", weights=weight.tolist(), resolution=resolution, n_iterations=-1).membership
    finally:
        igraph.set_random_number_generator(random)
    return _ordered(np.asarray(membership, dtype=np.int64))


def louvain(g: nx.Graph, seed: int, resolution: float = 1.0, weight: str | None = "weight") -> np.ndarray:
    """Returns ``[N]`` community labels (0 = largest) of networkx Louvain on ``g`` (nodes ``0..N-1``)."""
    membership = np.empty(g.number_of_nodes(), dtype=np.int64)
    for index, members in enumerate(nx.community.louvain_communities(g, weight=weight, resolution=resolution, seed=seed)):
        membership[list(members)] = index
    return _ordered(membership)


def detect(graph: SocialGraph, z: torch.Tensor, config: CommunityConfig, seed: int) -> Partition:
    """Partitions the users of ``graph`` given user embeddings ``z`` ``[U, D]`` (further rows are ignored).

    Returns:
        A :class:`Partition`.
    """
    labels = leiden(graph.num_users, *weighted_edges(graph, z, config), seed, config.resolution)
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


def modularity(graph: SocialGraph, labels: np.ndarray) -> float:
    """Returns the modularity of ``labels`` (``[U]``) on the unweighted friendship graph (0 without friendships)."""
    if graph.friendships.shape[1] == 0:
        return 0.0
    g = igraph.Graph(n=graph.num_users, edges=graph.friendships.t().tolist())
    return float(g.modularity(labels.tolist()))


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
