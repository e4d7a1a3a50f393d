"""The recommend job's score: the collaborative filter fused with text and the social graph.

For user :math:`u` and post :math:`p`,

.. math::
    s(u, p) = \\frac{c(u, p)}{\\max_q |c(u, q)|} + w_t \\, t(u, p) + w_s \\, \\log(1 + f(u, p))

where :math:`c` is the collaborative filter's score (divided by the user's largest, so one
weight suits heavy and light users alike), :math:`t` the cosine of the post's text to the
user's profile (:class:`jobs.recommend.signals.TextSignal`) and :math:`f` the number of people
within two follows of the user who interacted with the post (:class:`jobs.recommend.signals.SocialSignal`).
The weights :math:`w_t, w_s` are chosen on a validation slice of the graph being served
(:func:`fit_weights`): on a dataset without text or follows they stay 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from jobs.common.ranking import ranking_metrics
from jobs.recommend.scoring import K, Ranker, Scorer, chunks, mask_seen, rank_scores, top_of
from jobs.recommend.signals import SocialSignal, TextSignal

TEXT_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8)
SOCIAL_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.4)
"""The grids :func:`fit_weights` searches."""
NEW_POST_TEXT_WEIGHT = TEXT_WEIGHTS[1]
"""The least text weight of a post nobody has interacted with: the validation slice is made of
posts with interactions, so it cannot tell how much text a new post needs, and at weight 0 every
new post would tie with the rest at a score of 0, whatever its text."""


@dataclass(frozen=True)
class FusionWeights:
    """The weights of the text and social parts (the filter's is 1)."""

    text: float = 0.0
    social: float = 0.0


@dataclass
class Parts:
    """The three parts of the score of a chunk of users, each ``[n, I]`` float32 (None when absent)."""

    cf: np.ndarray
    text: np.ndarray | None
    social: np.ndarray | None

    def fused(self, weights: FusionWeights) -> np.ndarray:
        """Returns ``[n, I]`` the weighted sum (a new array)."""
        out = self.cf.copy()
        if self.text is not None and weights.text:
            out += weights.text * self.text
        if self.social is not None and weights.social:
            out += weights.social * self.social
        return out


@dataclass
class FusedScorer:
    """A :class:`jobs.recommend.scoring.Scorer` that fuses the filter with text and follows.

    Args:
        cf: the collaborative scorer (graph filter or LightGCN).
        text, social: the signals, or None when the graph has no text or no follows.
        weights: their weights.
        new_posts: ``[I]`` bool, the posts nobody has interacted with (placed by text, at least at
            :data:`NEW_POST_TEXT_WEIGHT`); None: none.
    """

    cf: Scorer
    text: TextSignal | None
    social: SocialSignal | None
    weights: FusionWeights = FusionWeights()
    new_posts: np.ndarray | None = None

    def text_weights(self, items: np.ndarray) -> np.ndarray:
        """Returns ``[len(items)]`` float32, the text weight each of ``items`` is scored with."""
        out = np.full(items.size, self.weights.text, dtype=np.float32)
        if self.new_posts is not None:
            out[self.new_posts[items]] = max(self.weights.text, NEW_POST_TEXT_WEIGHT)
        return out

    def parts(self, users: np.ndarray) -> Parts:
        """Returns the :class:`Parts` of ``users``, the filter's row-normalised."""
        cf = self.cf.score(users).astype(np.float32, copy=False)
        peak = np.abs(cf).max(axis=1, keepdims=True)
        cf = np.divide(cf, peak, out=np.zeros_like(cf), where=peak > 0)
        text = self.text.score(users) if self.text is not None else None
        social = self.social.score(users) if self.social is not None else None
        return Parts(cf, text, social)

    def score(self, users: np.ndarray) -> np.ndarray:
        """Returns ``[len(users), I]`` fused scores; a user the filter knows nothing about (no
        interaction) is ranked by text alone, whatever the weights."""
        return self.combine(self.parts(users))

    def recommend(
        self, users: np.ndarray, k: int = K, exclude_seen: bool = True, known: sp.csr_matrix | None = None,
        item_mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Returns ``(items [n, k] int64, scores [n, k] float32)`` of ``users``, best first, their
        items in ``known`` excluded (``exclude_seen`` must be True: the fusion has no interactions of
        its own to fall back on).

        When the filter alone decides the order (no weighted signal, and every user has
        interactions), the filter ranks, without the fused copy of its scores; the scores are then
        the filter's own rather than the row-normalised ones.
        """
        if not exclude_seen or known is None:
            raise ValueError("FusedScorer.recommend needs known interactions to exclude")
        if isinstance(self.cf, Ranker) and self._filter_alone(users, known):
            return self.cf.recommend(users, k, known=known, item_mask=item_mask)
        values, items = rank_scores(self, users, known, k, item_mask)
        return items, values

    def _filter_alone(self, users: np.ndarray, known: sp.csr_matrix) -> bool:
        """Returns whether the fused order of ``users`` is the filter's: no signal has weight, and
        user and no post is cold (both are placed by text whatever the weights)."""
        cold = (np.diff(known.indptr)[users] == 0).any() or (self.new_posts is not None and self.new_posts.any())
        weighted_text = self.text is not None and (self.weights.text > 0 or cold)
        weighted_social = self.social is not None and self.weights.social > 0
        return not (weighted_text or weighted_social)

    def combine(self, parts: Parts) -> np.ndarray:
        """Returns ``[n, I]`` the fused scores of ``parts`` (see :meth:`score`)."""
        fused = parts.fused(self.weights)
        if parts.text is not None and self.new_posts is not None and self.weights.text < NEW_POST_TEXT_WEIGHT:
            fused[:, self.new_posts] += (NEW_POST_TEXT_WEIGHT - self.weights.text) * parts.text[:, self.new_posts]
        cold = ~parts.cf.any(axis=1)
        if parts.text is not None and cold.any():
            fused[cold] = parts.text[cold]
        return fused


def weight_grid(scorer: FusedScorer) -> list[FusionWeights]:
    """Returns the weights worth trying: only the signals the graph has."""
    texts = TEXT_WEIGHTS if scorer.text is not None else (0.0,)
    socials = SOCIAL_WEIGHTS if scorer.social is not None else (0.0,)
    return [FusionWeights(t, s) for t, s in itertools.product(texts, socials)]


def fit_weights(
    scorer: FusedScorer, users: np.ndarray, known: sp.csr_matrix, truth: sp.csr_matrix,
    item_mask: np.ndarray | None = None, chunk: int = 1024,
) -> tuple[FusionWeights, dict[FusionWeights, dict[str, float]]]:
    """Chooses the weights with the best NDCG@20 on the held-out pairs ``truth`` of ``users``.

    Each chunk's parts are computed once and ranked under every candidate weighting.

    Returns:
        ``(best weights, metrics of every weighting tried)``.
    """
    grid = weight_grid(scorer)
    if users.size == 0:
        return FusionWeights(), {}
    tops: dict[FusionWeights, list[np.ndarray]] = {w: [] for w in grid}
    for part in chunks(users, chunk):
        parts = scorer.parts(part)
        for weights in grid:
            fused = replace(scorer, weights=weights).combine(parts)
            tops[weights].append(top_of(mask_seen(fused, part, known, item_mask), K)[1])
    results = {w: ranking_metrics(np.concatenate(t), truth.indptr, truth.indices, users, K) for w, t in tops.items()}
    best = max(grid, key=lambda w: (results[w][f"ndcg@{K}"], -w.text - w.social))
    return best, results
