"""Friend suggestions: candidates from the network and from embedding space, scored by a GNN link predictor.

For each user the candidates are friends of friends plus the nearest users in the GNN's
embedding space and, when profiles carry text, in text-embedding space, so that strangers
with shared interests can be found; so are the users who interacted with the same posts.
A candidate's score is a weighted sum of sixteen standardised features (:data:`FEATURES`).
Eight describe the pair: the GNN's dot product, Adamic-Adar and resource allocation over
friendships (log), profile-text cosine, shared content (Adamic-Adar over the posts both
interacted with, log), taste cosine (TF-IDF-weighted interaction strengths, e.g. listen counts),
the candidate's degree (log) and the number of 3-step paths between the two (log).  The other
eight are the same times the log degree of the user the suggestion is for, so the weights can
differ between well-connected people and newcomers.  The GNN is trained on 90% of the
friendships; the weights are fitted on the other 10% by a listwise ranking loss (softmax
over each user's candidates, the held-out friends as targets), which optimises the ranking
the suggestions are judged by.  (A logistic regression fitted as a classifier on sampled
negatives ranked worse than Adamic-Adar alone on email-Eu-core; on LastFM the listwise fit
ranked better than a grid search over five of the pair features, and these sixteen features
better than the eight raw ones: see ``bench/RESULTS.md``, Friend suggestions, and its history.)
Existing friends, the user themself and opted-out users are never suggested; opted-out
users receive no suggestions either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from jobs.common.interests import Interests
from jobs.gnn.encoder import EncoderConfig, train_encoder
from jobs.gnn.social import SocialGraph
from jobs.gnn.sparse import mean_propagation

log = logging.getLogger(__name__)

PAIR_FEATURES = (
    "gnn_dot", "log_adamic_adar", "log_resource_allocation", "text_cosine", "log_shared_content", "taste_cosine",
    "log_degree", "log_paths3",
)
FEATURES = PAIR_FEATURES + tuple(f"{name}_by_own_degree" for name in PAIR_FEATURES)
"""Each pair feature, and the same times the log degree of the user the suggestion is for."""
TEXT_COSINE = PAIR_FEATURES.index("text_cosine")


@dataclass(frozen=True)
class FriendsConfig:
    """Parameters of the friends job."""

    k: int = 20
    candidates: int = 50
    calibration_share: float = 0.1
    calibration_users: int = 2000
    ranker_steps: int = 150
    ranker_lr: float = 0.05
    ranker_weight_decay: float = 1e-3
    # Link prediction needs longer training than clustering: on LastFM the GNN's dot product
    # alone found 0.08 of the hidden friends after 150 epochs and 0.18 after 500.
    encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(epochs=500))


@dataclass
class FriendScorer:
    """A trained scorer of user pairs.

    Attributes:
        z: ``[U, D]`` GNN embeddings of the users.
        text: ``[U, F]`` unit text embeddings of the users, or None.
        has_text: ``[U]`` bool.
        scale: ``[F]`` divisors that standardise :data:`FEATURES`.
        weights: ``[F]`` weights of the standardised features.
    """

    z: torch.Tensor
    text: torch.Tensor | None
    has_text: torch.Tensor
    scale: np.ndarray
    weights: np.ndarray


@dataclass
class Suggestions:
    """The top suggestions, ``n`` pairs, flattened row-major (user, rank).

    Attributes:
        src, dst: ``[n]`` user rows; ``rank``: ``[n]`` 1-based; ``score``: ``[n]`` the weighted sum of
            standardised features (higher is better; comparable within a run);
        mutual: ``[n]`` mutual friends; ``text_cosine``: ``[n]`` profile similarity (0 without text).
    """

    src: np.ndarray
    dst: np.ndarray
    rank: np.ndarray
    score: np.ndarray
    mutual: np.ndarray
    text_cosine: np.ndarray


def _inverse_log_degree(degree: np.ndarray) -> sp.dia_matrix:
    return sp.diags(np.where(degree > 1, 1.0 / np.log(np.maximum(degree, 2)), 0.0).astype(np.float32))


def _unit_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    # Not sklearn's normalize: it refuses a matrix with no columns, a graph without posts.
    norm = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return (sp.diags(np.where(norm > 0, 1.0 / np.maximum(norm, 1e-12), 0.0).astype(np.float32)) @ matrix).tocsr()


def _rows_product(left_rows: sp.csr_matrix, right_t: sp.csr_matrix, budget: int = 8_000_000) -> torch.Tensor:
    """Returns ``left_rows @ right_t.T`` as a dense ``[c, U]`` float32 tensor.

    It is computed as ``right_t @ dense(left_rows).T``, a sparse-times-dense product, a block of
    rows at a time so that the dense block stays within ``budget`` cells.  A sparse-times-sparse
    product of the same rows spent most of its time on fill-in bookkeeping; this way gives equal
    values in a fraction of the time (see ``bench/RESULTS.md``, Scaling, and its history).
    """
    c, k = left_rows.shape
    out = np.empty((c, right_t.shape[0]), dtype=np.float32)
    step = max(1, budget // max(k, 1))
    for start in range(0, c, step):
        block = left_rows[start : start + step].toarray()
        out[start : start + step] = (right_t @ block.T).T
    return torch.from_numpy(out)


class Structure:
    """Pair scores from the network, per chunk of users: common neighbours, Adamic-Adar, resource
    allocation and 3-step paths over friendships; over content, Adamic-Adar over the posts both
    interacted with (rarer posts counting more) and the cosine of TF-IDF-weighted interaction strengths.

    Each score is a product ``left[rows] @ right`` of sparse matrices; ``right`` is kept transposed
    (as ``*_t`` attributes, the symmetric friendship matrix being its own) for :func:`_rows_product`.
    """

    def __init__(self, friends: sp.csr_matrix, interactions: sp.csr_matrix | None = None,
                 strengths: sp.csr_matrix | None = None) -> None:
        self.friends = friends
        self.degree = np.asarray(friends.sum(axis=1)).ravel().astype(np.float32)
        self.weighted = (friends @ _inverse_log_degree(self.degree)).tocsr()
        self.allocated = (friends @ sp.diags(np.where(self.degree > 0, 1.0 / np.maximum(self.degree, 1), 0.0).astype(np.float32))).tocsr()
        if interactions is None:
            interactions = sp.csr_matrix((friends.shape[0], 0), dtype=np.float32)
        self.content = interactions.tocsr()
        self.content_t = (self.content @ _inverse_log_degree(np.asarray(interactions.sum(axis=0)).ravel())).tocsr()
        strengths = self.content if strengths is None else strengths.tocsr()
        users = max(friends.shape[0], 1)
        idf = np.log((users + 1) / (np.bincount(strengths.indices, minlength=strengths.shape[1]) + 1)).astype(np.float32)
        self.taste = _unit_rows((strengths @ sp.diags(idf)).tocsr())

    @classmethod
    def of(cls, graph: SocialGraph, friendships: torch.Tensor) -> "Structure":
        """Returns the structure of ``graph`` with only ``friendships`` (``[2, M]``) as its friendships."""
        return cls(graph.friend_matrix(friendships), graph.interaction_matrix(), graph.interaction_matrix(weighted=True))

    def shared_content(self, rows: np.ndarray) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 Adamic-Adar scores over shared posts."""
        return _rows_product(self.content[rows], self.content_t)

    def taste_cosine(self, rows: np.ndarray) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 cosines of the users' TF-IDF-weighted interaction strengths."""
        return _rows_product(self.taste[rows], self.taste)

    def common_neighbours(self, rows: np.ndarray) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 mutual-friend counts."""
        return _rows_product(self.friends[rows], self.friends)

    def adamic_adar(self, rows: np.ndarray) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 Adamic-Adar scores."""
        return _rows_product(self.weighted[rows], self.friends)

    def resource_allocation(self, rows: np.ndarray) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 resource-allocation scores (mutual friends weighted by 1/degree)."""
        return _rows_product(self.allocated[rows], self.friends)

    def paths3(self, rows: np.ndarray, mutual: torch.Tensor | None = None) -> torch.Tensor:
        """Returns ``[len(rows), U]`` float32 counts of 3-step friendship paths (``mutual``: the rows'
        :meth:`common_neighbours`, when already computed)."""
        two_steps = self.common_neighbours(rows) if mutual is None else mutual
        return torch.from_numpy(np.ascontiguousarray((self.friends @ two_steps.numpy().T).T, dtype=np.float32))


@dataclass
class ChunkFeatures:
    """Dense features of every pair (chunk user, any user).

    The second half of :data:`FEATURES` (each pair feature times the chunk user's log degree)
    is not stored: :func:`_combine` folds it into per-user coefficients, which halves the
    memory of a chunk and skips a ``[16, c, U]`` stack.

    Attributes:
        pair: ``[P, c, U]`` raw :data:`PAIR_FEATURES`.
        own_degree: ``[c]`` log degree of each chunk user.
        allowed: ``[c, U]`` bool, candidate and not forbidden (self, friend, opted out).
        mutual: ``[c, U]`` mutual-friend counts.
    """

    pair: torch.Tensor
    own_degree: torch.Tensor
    allowed: torch.Tensor
    mutual: torch.Tensor

    def values(self) -> torch.Tensor:
        """Returns ``[F, c, U]``, every raw feature of :data:`FEATURES`."""
        return torch.cat([self.pair, self.pair * self.own_degree[None, :, None]])


def _unit_text(graph: SocialGraph) -> tuple[torch.Tensor | None, torch.Tensor]:
    has = graph.has_x[: graph.num_users]
    if graph.x is None or not bool(has.any()):
        return None, has
    return F.normalize(graph.x[: graph.num_users], dim=1), has


def chunk_features(
    z: torch.Tensor, text: torch.Tensor | None, has_text: torch.Tensor, structure: Structure,
    blocked: torch.Tensor, chunk: np.ndarray, candidates: int,
) -> ChunkFeatures:
    """Returns the :class:`ChunkFeatures` of the users ``chunk`` against everyone."""
    c = torch.from_numpy(chunk)
    n = z.shape[0]
    dot = z[c] @ z.T
    mutual = structure.common_neighbours(chunk)
    aa = structure.adamic_adar(chunk)
    cosine = torch.zeros_like(dot)
    candidate = mutual > 0
    m = min(candidates, n)
    candidate.scatter_(1, torch.topk(dot, m, dim=1).indices, True)
    if text is not None:
        cosine = (text[c] @ text.T) * (has_text[c, None] & has_text[None, :])
        candidate.scatter_(1, torch.topk(cosine, m, dim=1).indices, True)
    content = structure.shared_content(chunk)
    top_content = torch.topk(content, m, dim=1)
    candidate |= torch.zeros_like(candidate).scatter_(1, top_content.indices, top_content.values > 0)
    forbidden = torch.from_numpy(structure.friends[chunk].toarray() > 0) | blocked[None, :]
    forbidden[torch.arange(len(chunk)), c] = True
    log_degree = torch.log1p(torch.from_numpy(structure.degree))[None, :].expand(len(chunk), n)
    pair = [
        dot, torch.log1p(aa), torch.log1p(structure.resource_allocation(chunk)), cosine, torch.log1p(content),
        structure.taste_cosine(chunk), log_degree, torch.log1p(structure.paths3(chunk, mutual)),
    ]
    own_degree = torch.log1p(torch.from_numpy(structure.degree[chunk]))
    return ChunkFeatures(torch.stack(pair), own_degree, candidate & ~forbidden, mutual)


def _combine(features: ChunkFeatures, scale: np.ndarray, weights: np.ndarray) -> torch.Tensor:
    """Returns ``[c, U]`` scores, ``sum(weights * values / scale)`` over :data:`FEATURES`, ``-inf`` where not allowed.

    A pair feature and its by-own-degree twin share one coefficient per chunk user,
    ``w_f + w_f' * own_degree``, so the twins are never materialised.
    """
    w = torch.from_numpy((weights / scale).astype(np.float32))
    half = len(PAIR_FEATURES)
    coefficients = w[None, :half] + features.own_degree[:, None] * w[None, half:]
    logit = torch.einsum("fcu,cf->cu", features.pair, coefficients)
    return logit.masked_fill(~features.allowed, float("-inf"))


def fit_ranker(features: ChunkFeatures, targets: torch.Tensor, config: FriendsConfig) -> tuple[np.ndarray, np.ndarray]:
    """Fits linear weights of the standardised features by a listwise loss: for each user, the
    softmax over their allowed candidates should put its mass on ``targets`` (``[c, U]`` bool).

    Returns:
        ``(scale [F], weights [F])``: ``score = sum(weights * values / scale)``.
    """
    every = features.values()
    pool = every[:, features.allowed]
    scale = pool.std(dim=1).clamp(min=1e-6)
    mean = pool.mean(dim=1)
    positives = targets & features.allowed
    rows = positives.any(dim=1)
    weights = torch.zeros(len(FEATURES), requires_grad=True)
    if bool(rows.any()):
        values = (every[:, rows] - mean[:, None, None]) / scale[:, None, None]
        allowed, positives = features.allowed[rows], positives[rows]
        optimizer = torch.optim.Adam([weights], lr=config.ranker_lr, weight_decay=config.ranker_weight_decay)
        for _ in range(config.ranker_steps):
            logit = torch.tensordot(weights, values, dims=1).masked_fill(~allowed, float("-inf"))
            log_p = torch.log_softmax(logit, dim=1).masked_fill(~positives, 0.0)
            loss = -(log_p.sum(dim=1) / positives.sum(dim=1)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return scale.numpy().astype(np.float32), weights.detach().numpy().astype(np.float32)


def _calibrate(
    z: torch.Tensor, text: torch.Tensor | None, has_text: torch.Tensor, structure: Structure,
    held_out: torch.Tensor, num_users: int, config: FriendsConfig, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, float]:
    src, dst = held_out.numpy()
    truth = sp.csr_matrix(
        (np.ones(2 * len(src), dtype=np.float32), (np.concatenate([src, dst]), np.concatenate([dst, src]))), shape=(num_users, num_users)
    )
    queries = np.flatnonzero(np.diff(truth.indptr) > 0)
    budget = max(1, min(config.calibration_users, 10_000_000 // max(num_users, 1)))
    if len(queries) > budget:
        queries = np.sort(rng.choice(queries, budget, replace=False))
    features = chunk_features(z, text, has_text, structure, torch.zeros(num_users, dtype=torch.bool), queries, config.candidates)
    hidden = torch.from_numpy(truth[queries].toarray() > 0)
    scale, weights = fit_ranker(features, hidden, config)
    k = min(config.k, num_users)
    top = torch.topk(_combine(features, scale, weights), k, dim=1)
    hit = hidden.gather(1, top.indices) & torch.isfinite(top.values)
    recall = float((hit.sum(dim=1) / hidden.sum(dim=1).clamp(min=1)).mean())
    return scale, weights, recall


def fit_friend_scorer(
    graph: SocialGraph,
    friendships: torch.Tensor,
    config: FriendsConfig,
    generator: torch.Generator,
    device: torch.device,
    on_epoch: Callable[[int, float], None] | None = None,
    hard_negatives: torch.Tensor | None = None,
) -> FriendScorer:
    """Trains the GNN on most of ``friendships`` (``[2, M]``) and chooses the feature weights on the rest.

    ``hard_negatives`` (``[2, H]``): earlier suggestions that people ignored, learnt as non-friends.

    Returns:
        A :class:`FriendScorer` whose embeddings see every friendship in ``friendships``.
    """
    m = friendships.shape[1]
    order = torch.randperm(m, generator=generator)
    n_cal = max(1, int(m * config.calibration_share))
    calibration, fit = friendships[:, order[:n_cal]], friendships[:, order[n_cal:]]
    model, z_fit = train_encoder(graph, fit, config.encoder, generator, device, on_epoch, hard_negatives)
    text, has_text = _unit_text(graph)
    text = text if config.encoder.use_text else None
    rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    structure = Structure.of(graph, fit)
    scale, weights, recall = _calibrate(z_fit[: graph.num_users], text, has_text, structure, calibration, graph.num_users, config, rng)
    log.info("friend scorer weights %s (held-out recall@%d %.4f)", dict(zip(FEATURES, weights.tolist())), config.k, recall)
    with torch.no_grad():
        x = graph.x.to(device) if config.encoder.use_text and graph.x is not None else None
        z = model(mean_propagation(graph.message_edges(friendships), graph.num_nodes, device), x).cpu()
    return FriendScorer(z[: graph.num_users], text, has_text, scale, weights)


def _chunks(rows: np.ndarray, num_users: int, budget: int = 8_000_000) -> Iterator[np.ndarray]:
    size = max(1, budget // max(num_users, 1))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def suggest_friends(
    graph: SocialGraph,
    friendships: torch.Tensor,
    scorer: FriendScorer,
    config: FriendsConfig,
    users: np.ndarray | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> Suggestions:
    """Ranks candidates for ``users`` (default: everyone who has not opted out), ``k`` each at most.

    Memory is bounded: features are dense only for a chunk of users at a time.

    Returns:
        :class:`Suggestions`, best first within each user.
    """
    n = graph.num_users
    structure = Structure.of(graph, friendships)
    rows = np.flatnonzero(~graph.opt_out) if users is None else np.asarray(users, dtype=np.int64)
    blocked = torch.from_numpy(graph.opt_out)
    out: list[tuple[np.ndarray, ...]] = []
    for chunk in _chunks(rows, n):
        features = chunk_features(scorer.z, scorer.text, scorer.has_text, structure, blocked, chunk, config.candidates)
        values, index = torch.topk(_combine(features, scorer.scale, scorer.weights), min(config.k, n), dim=1)
        line, rank = torch.nonzero(torch.isfinite(values), as_tuple=True)
        dst = index[line, rank]
        out.append(
            (
                chunk[line.numpy()],
                dst.numpy(),
                rank.numpy() + 1,
                values[line, rank].numpy(),
                features.mutual[line, dst].numpy().astype(np.int64),
                features.pair[TEXT_COSINE][line, dst].numpy(),
            )
        )
        if on_chunk is not None:
            on_chunk(len(chunk))
    if not out:
        empty = np.zeros(0, dtype=np.int64)
        return Suggestions(empty, empty, empty, empty.astype(np.float32), empty, empty.astype(np.float32))
    return Suggestions(*(np.concatenate(parts) for parts in zip(*out)))


def reasons(suggestions: Suggestions, interests: Interests | None) -> list[str]:
    """Returns one human-readable reason per suggestion, e.g. ``"8 mutual friends · shared interests: jazz, vinyl"``."""
    out = []
    for u, v, mutual, cosine in zip(suggestions.src, suggestions.dst, suggestions.mutual, suggestions.text_cosine):
        parts = []
        if mutual:
            parts.append(f"{mutual} mutual friend{'s' if mutual != 1 else ''}")
        shared = interests.shared(int(u), int(v)) if interests is not None else []
        if shared:
            parts.append("shared interests: " + ", ".join(shared))
        elif cosine >= 0.5:
            parts.append(f"profiles alike (similarity {cosine:.2f})")
        out.append(" · ".join(parts) or "close to you in the network")
    return out
