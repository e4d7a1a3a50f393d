"""The recommender the job serves: the chosen model fitted on the whole graph, and the evidence for its reasons.

:func:`fit_recommender` chooses the model on a validation slice
(:func:`jobs.recommend.selection.choose`), refits it on every interaction and fuses it with the
text and social signals.  For each recommended pair, :meth:`Recommender.evidence` says which part
of the score carried it and what backs it up, so that the reason names what actually scored:
a liked post close to it in the collaborative model's item space, the followees who interacted
with it, or the topic of a new post.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from jobs.recommend.data import RecommendGraph, Topics
from jobs.recommend.fusion import FusedScorer, Parts
from jobs.recommend.lightgcn import TrainConfig
from jobs.recommend.reasons import Evidence, nearest_known, pair_counts
from jobs.recommend.scoring import EmbeddingScorer
from jobs.recommend.pool import PoolConfig
from jobs.recommend.selection import Choice, choose, fit_collaborative, fused_scorer, signals
from graph.arrays import binary_matrix


@dataclass
class Recommender:
    """A fitted recommender.

    Attributes:
        choice: the model and weights chosen, with their validation figures.
        scorer: the fused scorer over the whole graph.
        known: ``[U, I]`` binary CSR of every interaction (never recommended again).
        item_vectors: ``[I, D]`` the collaborative model's item vectors, which place a recommended
            post near the posts a user liked.
        topics: tags of users and posts, or None when the graph has none.
    """

    choice: Choice
    scorer: FusedScorer
    known: sp.csr_matrix
    item_vectors: torch.Tensor
    topics: Topics | None

    def __post_init__(self) -> None:
        # Computed once, not per chunk of users: each is a pass over every interaction.
        self.popularity = np.diff(self.known.tocsc().indptr)
        rows = np.repeat(np.arange(self.known.shape[0], dtype=np.int64), np.diff(self.known.indptr))
        self.known_codes = np.sort(rows * self.known.shape[1] + self.known.indices)

    def evidence(self, parts: Parts, lines: np.ndarray, slots: np.ndarray, users: np.ndarray, items: np.ndarray) -> Evidence:
        """Returns the :class:`Evidence` of pairs ``(users[p], items[p])``, at row ``lines[p]`` and column
        ``slots[p]`` of ``parts``."""
        weights = self.scorer.weights
        cf = parts.cf[lines, slots]
        text = parts.text[lines, slots] if parts.text is not None else np.zeros(items.size, np.float32)
        cold = ~parts.cf.any(axis=1)[lines]
        followees = np.zeros(items.size, np.int64)
        network = np.zeros(items.size, np.int64)
        if self.scorer.social is not None:
            follows = self.scorer.social.follows
            followees = pair_counts(users, items, follows.indptr, follows.indices, self.known_codes, self.known.shape[1])
            # The social part is log(1 + n) of the people within two follows: n is what it scored.
            network = np.rint(np.expm1(parts.social[lines, slots])).astype(np.int64)
        nearest, similarity = nearest_known(
            users, items, self.known.indptr, self.known.indices, self.item_vectors, np.ones(self.known.shape[1], dtype=bool)
        )
        return Evidence(
            cf=np.where(cold, 0.0, cf), text=np.where(cold, text, self.scorer.text_weights(items) * text),
            social=weights.social * np.log1p(network), followees=followees, network=network, nearest=nearest, similarity=similarity,
            new_post=self.popularity[items] == 0, user_known=np.diff(self.known.indptr)[users] > 0,
            topic=self.topics.shared(users, items) if self.topics is not None else [None] * items.size,
        )


def item_vectors(scorer: object) -> torch.Tensor:
    """Returns ``[I, D]`` the item vectors of a collaborative scorer (LightGCN's embeddings, or the
    graph filter's item factors)."""
    if isinstance(scorer, EmbeddingScorer):
        return scorer.items.float().cpu()
    return torch.from_numpy(np.ascontiguousarray(scorer.item_factors(), dtype=np.float32))


def fit_recommender(
    graph: RecommendGraph, topics: Topics | None, model: str, config: TrainConfig, device: torch.device, allowed: np.ndarray,
    pool: PoolConfig = PoolConfig(),
) -> Recommender:
    """Chooses the model for ``graph`` (``model``: ``auto``, ``graph_filter`` or ``lightgcn``) and fits it on all of it.

    Args:
        pool: when and how a large catalogue is ranked through candidates.

    Returns:
        The :class:`Recommender`.
    """
    data = graph.interactions
    choice = choose(model, data, graph.follows, config, device, item_mask=allowed, pool=pool)
    known = binary_matrix(data.users, data.items, data.num_users, data.num_items)
    cf = fit_collaborative(choice.model, data, known, config, device, pool)
    text, social = signals(data, known, graph.follows)
    scorer = fused_scorer(cf, text, social, known, allowed, pool, choice.weights)
    return Recommender(choice, scorer, known, item_vectors(cf), topics)
