"""Which recommender the job keeps for the graph it is given, chosen on a validation slice of that graph.

A model tuned on one dataset can fail on another: a graph filter shines on dense check-ins but
can fall below popularity on a sparse rating graph, where LightGCN holds up.  So the job holds
out a seeded 10% of each user's interactions (users with two or more), fits every candidate on
the rest, and keeps the one with the best NDCG@20 on the held-out slice:

1. the collaborative models: the graph filter, and LightGCN when the graph is small enough to
   train it within the job's time (:data:`LIGHTGCN_MAX_PAIRS`) and its catalogue small enough to
   score whole (:class:`jobs.recommend.pool.PoolConfig`), or when it is asked for;
2. the best of them fused with text and the social graph, with the fusion weights fitted on
   the same slice (:func:`jobs.recommend.fusion.fit_weights`).

The figures of every candidate go into the run's metrics, so a run says why it chose its model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
import torch

from jobs.recommend.candidates import CandidateFilter
from jobs.recommend.fusion import FusedScorer, FusionWeights, fit_weights
from jobs.recommend.graph_filter import GraphFilter
from jobs.recommend.lightgcn import Interactions, TrainConfig, train
from jobs.recommend.scoring import K, EmbeddingScorer, Scorer, held_out_metrics, holdout
from graph.arrays import binary_matrix
from jobs.recommend.pool import CandidatePool, PoolConfig
from jobs.recommend.signals import SocialSignal, TextSignal

log = logging.getLogger(__name__)

MODELS = ("auto", "graph_filter", "lightgcn")
"""What ``recommend --model`` accepts: ``auto`` chooses on the validation slice."""
VALIDATION_SHARE = 0.1
VALIDATION_USERS = 5000
"""At most this many validation users are ranked (a seeded sample), which bounds the choice's cost."""
LIGHTGCN_MAX_PAIRS = 200_000
"""Under ``auto``, LightGCN is a candidate only up to this many interactions: its CPU training
grows with the graph while the filter's fit stays a few sparse products and one SVD."""
NDCG = f"ndcg@{K}"


@dataclass
class Choice:
    """The model the job keeps, and the validation figures that chose it.

    Attributes:
        model: ``graph_filter`` or ``lightgcn``, the collaborative part.
        weights: the fusion weights (both 0 when fusion did not help).
        validation: metrics of every candidate on the validation slice, by name.
    """

    model: str
    weights: FusionWeights = FusionWeights()
    validation: dict[str, dict[str, float]] = field(default_factory=dict)

    def metrics(self) -> dict[str, float | str]:
        """Returns the flat ``JobRun`` metrics of the choice (``model``, ``val_<candidate>_<metric>``)."""
        out: dict[str, float | str] = {"model": self.model, "fusion_text": self.weights.text, "fusion_social": self.weights.social}
        for name, figures in self.validation.items():
            for metric in (f"recall@{K}", NDCG):
                out[f"val_{name}_{metric.replace('@', '_at_')}"] = round(figures[metric], 5)
        return out


def fit_collaborative(model: str, data: Interactions, known: sp.csr_matrix, config: TrainConfig, device: torch.device,
                      pool: PoolConfig = PoolConfig()) -> Scorer | CandidateFilter:
    """Fits the collaborative model ``model`` (``graph_filter`` or ``lightgcn``) on ``data``.

    Returns:
        Its scorer over ``[U, I]``, or for the graph filter on a catalogue past ``pool.above_items``
        a :class:`CandidateFilter` (which scores candidates, see :mod:`jobs.recommend.pool`).
    """
    if model == "graph_filter":
        if pool.applies(known.shape[1]):
            return pool.candidate_filter().fit(known)
        return GraphFilter().fit(known)
    if model == "lightgcn":
        return EmbeddingScorer(*train(data, config, device).embeddings())
    raise ValueError(f"unknown recommender {model!r}; choose one of {', '.join(MODELS)}")


def signals(data: Interactions, known: sp.csr_matrix, follows: tuple[np.ndarray, np.ndarray]) -> tuple[TextSignal | None, SocialSignal | None]:
    """Returns the text and social signals of the graph, each None when the graph has nothing for it."""
    text = TextSignal.fit(known, data.user_x, data.item_x)
    if follows[0].size == 0:
        return text, None
    return text, SocialSignal(binary_matrix(follows[0], follows[1], data.num_users, data.num_users), known)


def fused_scorer(cf: Scorer | CandidateFilter, text: TextSignal | None, social: SocialSignal | None, known: sp.csr_matrix,
                 item_mask: np.ndarray | None, pool: PoolConfig, weights: FusionWeights = FusionWeights()) -> FusedScorer:
    """Returns the :class:`FusedScorer` of a fitted collaborative model and the signals, with a
    candidate pool when the model is a :class:`CandidateFilter`."""
    candidates = CandidatePool(cf, text, social, item_mask, pool) if isinstance(cf, CandidateFilter) else None
    return FusedScorer(cf, text, social, weights, new_posts=np.diff(known.tocsc().indptr) == 0, pool=candidates)


def models_to_compare(requested: str, data: Interactions, pool: PoolConfig = PoolConfig()) -> tuple[str, ...]:
    """Returns the collaborative models to compare: the one asked for, or under ``auto`` the graph
    filter and, on a graph small enough, LightGCN (never on a catalogue ranked through candidates,
    which LightGCN would score whole)."""
    if requested != "auto":
        return (requested,)
    small = data.users.size <= LIGHTGCN_MAX_PAIRS and not pool.applies(data.num_items)
    return ("graph_filter", "lightgcn") if small else ("graph_filter",)


def choose(
    requested: str, data: Interactions, follows: tuple[np.ndarray, np.ndarray], config: TrainConfig,
    device: torch.device, item_mask: np.ndarray | None = None, pool: PoolConfig = PoolConfig(),
) -> Choice:
    """Fits the candidates on all but a validation slice of ``data`` and keeps the best (see the module)."""
    known = binary_matrix(data.users, data.items, data.num_users, data.num_items)
    kept, held = holdout(known, VALIDATION_SHARE, config.seed)
    users = np.flatnonzero(np.diff(held.indptr) > 0)
    if users.size == 0:
        return Choice(models_to_compare(requested, data, pool)[0])
    if users.size > VALIDATION_USERS:
        users = np.sort(np.random.default_rng(config.seed).choice(users, VALIDATION_USERS, replace=False))
    coo = kept.tocoo()
    kept_data = replace(data, users=coo.row.astype(np.int64), items=coo.col.astype(np.int64))
    validation, scorers = {}, {}
    for model in models_to_compare(requested, data, pool):
        scorers[model] = fit_collaborative(model, kept_data, kept, config, device, pool)
        alone = scorers[model]
        if isinstance(alone, CandidateFilter):
            alone = fused_scorer(alone, None, None, kept, item_mask, pool)
        validation[model] = held_out_metrics(alone, users, kept, held, item_mask)
        log.info("validation %s: recall@%d %.4f, ndcg@%d %.4f", model, K, validation[model][f"recall@{K}"], K, validation[model][NDCG])
    best = max(validation, key=lambda name: validation[name][NDCG])
    text, social = signals(kept_data, kept, follows)
    if text is None and social is None:
        return Choice(best, FusionWeights(), validation)
    fused = fused_scorer(scorers[best], text, social, kept, item_mask, pool)
    weights, grid = fit_weights(fused, users, kept, held, item_mask)
    validation["fusion"] = grid[weights]
    log.info("validation fusion %s: ndcg@%d %.4f", weights, K, grid[weights][NDCG])
    if grid[weights][NDCG] <= validation[best][NDCG]:
        weights = FusionWeights()
    return Choice(best, weights, validation)
