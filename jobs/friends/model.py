"""Friend suggestions: candidates from the network and from embedding space, scored by a GNN link predictor.

Each user's candidates, a few hundred at most (:mod:`jobs.friends.candidates`), are friends of
friends plus the nearest users in the GNN's embedding space and, when profiles carry text, in
text-embedding space, so that strangers with shared interests can be found; so are the users
who interacted with the same posts.  Features are computed for those pairs only, so the cost
grows with the number of users times the cap.  A candidate's score is a weighted sum of sixteen standardised features (:data:`FEATURES`).
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

from jobs.common.interests import Interests
from jobs.friends.candidates import CandidateConfig, CandidateGenerator
from graph.arrays import SortedRows
from jobs.friends.features import FEATURES, PAIR_FEATURES, TEXT_COSINE, ChunkFeatures, Structure, candidate_features, unit_text
from jobs.gnn.encoder import EncoderConfig, LinkValidation, train_encoder
from jobs.gnn.social import SocialGraph
from jobs.gnn.sparse import mean_propagation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FriendsConfig:
    """Parameters of the friends job."""

    k: int = 20
    candidates: CandidateConfig = field(default_factory=CandidateConfig)
    calibration_share: float = 0.1
    calibration_users: int = 2000
    ranker_steps: int = 150
    ranker_lr: float = 0.05
    ranker_weight_decay: float = 1e-3
    # Link prediction needs longer training than clustering (on LastFM the GNN's dot product alone
    # keeps improving for hundreds of epochs), so the ceiling is high; the held-out recall stops
    # training once it stalls (jobs.gnn.encoder.LinkValidation).
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
        calibration: figures on the held-out friendships the weights were fitted on:
            ``recall@k`` of the ranking and ``candidate_recall``, the share of them the candidates hold.
    """

    z: torch.Tensor
    text: torch.Tensor | None
    has_text: torch.Tensor
    scale: np.ndarray
    weights: np.ndarray
    calibration: dict[str, float] = field(default_factory=dict)


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
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    src, dst = held_out.numpy()
    truth = sp.csr_matrix(
        (np.ones(2 * len(src), dtype=np.float32), (np.concatenate([src, dst]), np.concatenate([dst, src]))), shape=(num_users, num_users)
    )
    queries = np.flatnonzero(np.diff(truth.indptr) > 0)
    if len(queries) > config.calibration_users:
        queries = np.sort(rng.choice(queries, config.calibration_users, replace=False))
    generator = CandidateGenerator(
        structure, z, text, has_text, np.zeros(num_users, dtype=bool), config.candidates, int(rng.integers(2**31)), users=queries
    )
    candidates, two_steps = generator.for_users(queries)
    features = candidate_features(z, text, has_text, structure, queries, candidates, two_steps)
    hidden = torch.from_numpy(_held_out_slots(SortedRows(truth), queries, candidates))
    scale, weights = fit_ranker(features, hidden, config)
    k = min(config.k, candidates.shape[1])
    top = torch.topk(_combine(features, scale, weights), k, dim=1)
    hit = hidden.gather(1, top.indices) & torch.isfinite(top.values)
    recall = float((hit.sum(dim=1) / torch.from_numpy(np.diff(truth.indptr)[queries]).clamp(min=1)).mean())
    held = int(np.diff(truth.indptr)[queries].sum())
    return scale, weights, {f"recall@{config.k}": recall, "candidate_recall": float(hidden.sum()) / max(held, 1)}


def _held_out_slots(truth: SortedRows, queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Returns ``[c, C]`` bool, which candidates of each query are among its held-out friends."""
    lines, slots = np.nonzero(candidates >= 0)
    out = np.zeros(candidates.shape, dtype=bool)
    out[lines, slots] = truth.lookup(queries[lines], candidates[lines, slots]) > 0
    return out


def fit_friend_scorer(
    graph: SocialGraph,
    friendships: torch.Tensor,
    config: FriendsConfig,
    generator: torch.Generator,
    device: torch.device,
    on_epoch: Callable[[int, float], None] | None = None,
    hard_negatives: torch.Tensor | None = None,
) -> FriendScorer:
    """Trains the GNN on most of ``friendships`` (``[2, M]``) and chooses the feature weights on the
    rest; the rest also stops the training (:class:`jobs.gnn.encoder.LinkValidation`).

    ``hard_negatives`` (``[2, H]``): earlier suggestions that people ignored, learnt as non-friends.

    Returns:
        A :class:`FriendScorer` whose embeddings see every friendship in ``friendships``.
    """
    m = friendships.shape[1]
    order = torch.randperm(m, generator=generator)
    n_cal = max(1, int(m * config.calibration_share))
    calibration, fit = friendships[:, order[:n_cal]], friendships[:, order[n_cal:]]
    rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    # The encoder's own use is the embedding-candidate list, so training stops on how many held-out
    # friends that list holds; on a large graph recall@k of the final k counts too few hits to compare checks.
    validation = LinkValidation(calibration, fit, graph.num_users, config.candidates.embedding, config.calibration_users,
                                int(rng.integers(2**31)))
    model, z_fit = train_encoder(graph, fit, config.encoder, generator, device, on_epoch, hard_negatives, validation)
    text, has_text = unit_text(graph)
    text = text if config.encoder.use_text else None
    structure = Structure.of(graph, fit)
    scale, weights, figures = _calibrate(z_fit[: graph.num_users], text, has_text, structure, calibration, graph.num_users, config, rng)
    if validation.kept is not None:
        figures["encoder_steps"], figures[f"encoder_recall@{validation.k}"] = validation.kept
    log.info("friend scorer weights %s (held out: %s)", dict(zip(FEATURES, weights.tolist())), figures)
    with torch.no_grad():
        x = graph.x.to(device) if config.encoder.use_text and graph.x is not None else None
        z = model(mean_propagation(graph.message_edges(friendships), graph.num_nodes, device), x).cpu()
    return FriendScorer(z[: graph.num_users], text, has_text, scale, weights, figures)


def _chunks(rows: np.ndarray, per_user: int, budget: int = 2**18) -> Iterator[np.ndarray]:
    size = max(1, budget // max(per_user, 1))
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

    Each user's candidates are capped (:class:`jobs.friends.candidates.CandidateGenerator`), and
    features are computed for those pairs only, a chunk of users at a time: time and memory grow
    with the number of users times the cap, not with its square.

    Returns:
        :class:`Suggestions`, best first within each user.
    """
    structure = Structure.of(graph, friendships)
    rows = np.flatnonzero(~graph.opt_out) if users is None else np.asarray(users, dtype=np.int64)
    generator = CandidateGenerator(structure, scorer.z, scorer.text, scorer.has_text, graph.opt_out, config.candidates, users=rows)
    out: list[tuple[np.ndarray, ...]] = []
    for chunk in _chunks(rows, config.candidates.most):
        candidates, two_steps = generator.for_users(chunk)
        features = candidate_features(scorer.z, scorer.text, scorer.has_text, structure, chunk, candidates, two_steps)
        values, slot = torch.topk(_combine(features, scorer.scale, scorer.weights), min(config.k, candidates.shape[1]), dim=1)
        line, rank = torch.nonzero(torch.isfinite(values), as_tuple=True)
        chosen = slot[line, rank]
        out.append(
            (
                chunk[line.numpy()],
                features.candidates[line, chosen].numpy(),
                rank.numpy() + 1,
                values[line, rank].numpy(),
                features.mutual[line, chosen].numpy().astype(np.int64),
                features.pair[TEXT_COSINE][line, chosen].numpy(),
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
