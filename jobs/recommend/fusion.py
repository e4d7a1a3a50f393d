"""The recommend job's score: the collaborative filter fused with text and the social graph.

For user :math:`u` and post :math:`p`,

.. math::
    s(u, p) = \\frac{c(u, p)}{\\max_q |c(u, q)|} + w_t \\, t(u, p) + w_s \\, \\log(1 + f(u, p))

where :math:`c` is the collaborative filter's score, divided by the user's largest over the
posts ``q`` they may be recommended (unseen and allowed), so that one weight suits heavy and light
users alike, and so that a pool of candidates (:mod:`jobs.recommend.pool`) scores as the whole
catalogue does; :math:`t` the cosine of the post's text to the
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
from jobs.recommend.scoring import K, Ranker, Scorer, chunks, mask_seen, top_of
from jobs.recommend.pool import CandidatePool
from jobs.recommend.signals import SocialSignal, TextSignal

TEXT_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.4, 0.8)
SOCIAL_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.4)
"""The grids :func:`fit_weights` searches."""
CHUNK = 1024
"""Users ranked at once."""
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
    """The three parts of the score of a chunk of users, each ``[n, W]`` float32 (None when absent).

    Attributes:
        columns: ``[n, W]`` int64, the post each column scores for each user, ``-1`` for none (see
            :mod:`jobs.recommend.pool`); None when the columns are the whole catalogue (``W = I``).
    """

    cf: np.ndarray
    text: np.ndarray | None
    social: np.ndarray | None
    columns: np.ndarray | None = None

    def fused(self, weights: FusionWeights) -> np.ndarray:
        """Returns ``[n, W]`` the weighted sum (a new array)."""
        out = self.cf.copy()
        if self.text is not None and weights.text:
            out += weights.text * self.text
        if self.social is not None and weights.social:
            out += weights.social * self.social
        return out

    def top(self, scores: np.ndarray, users: np.ndarray, known: sp.csr_matrix, item_mask: np.ndarray | None,
            k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ranks ``scores`` (``[n, W]``, these parts' columns; masked in place): seen posts in ``known``
        and posts outside ``item_mask`` are never chosen.

        Returns:
            ``(values [n, k] float32, items [n, k] int64, slots [n, k] int64)``, best first: each
            chosen post and its column in these parts, ``-1`` (value ``-inf``) for none, also where
            there are fewer than ``k`` columns.
        """
        if self.columns is None:
            values, slots = top_of(mask_seen(scores, users, known, item_mask), k)
            items = slots
        else:
            # The pool's columns are unseen and allowed already; padding is all that is left to mask.
            scores[self.columns < 0] = -np.inf
            values, slots = top_of(scores, k)
            items = np.where(slots >= 0, np.take_along_axis(self.columns, np.maximum(slots, 0), axis=1), -1)
        pad = ((0, 0), (0, k - slots.shape[1]))
        return (np.pad(values, pad, constant_values=-np.inf), np.pad(items, pad, constant_values=-1),
                np.pad(slots, pad, constant_values=-1))


@dataclass
class FusedScorer:
    """A :class:`jobs.recommend.scoring.Ranker` that fuses the filter with text and follows.

    Args:
        cf: the collaborative scorer (graph filter or LightGCN).
        text, social: the signals, or None when the graph has no text or no follows.
        weights: their weights.
        new_posts: ``[I]`` bool, the posts nobody has interacted with (placed by text, at least at
            :data:`NEW_POST_TEXT_WEIGHT`); None: none.
        pool: each user's candidate posts, when the catalogue is too large to score whole; ``cf``
            is then a :class:`jobs.recommend.candidates.CandidateFilter`.  None: every post is scored.
    """

    cf: Scorer
    text: TextSignal | None
    social: SocialSignal | None
    weights: FusionWeights = FusionWeights()
    new_posts: np.ndarray | None = None
    pool: CandidatePool | None = None

    def text_weights(self, items: np.ndarray) -> np.ndarray:
        """Returns ``[len(items)]`` float32, the text weight each of ``items`` is scored with."""
        out = np.full(items.size, self.weights.text, dtype=np.float32)
        if self.new_posts is not None:
            out[self.new_posts[items]] = max(self.weights.text, NEW_POST_TEXT_WEIGHT)
        return out

    def parts(self, users: np.ndarray, known: sp.csr_matrix, item_mask: np.ndarray | None = None) -> Parts:
        """Returns the :class:`Parts` of ``users``: over every post, or over each user's candidates
        when there is a pool.  The filter's part is divided by its largest absolute value among the
        posts the user may be recommended (unseen in ``known``, inside ``item_mask``), so that the
        pool, whose candidates are exactly those posts when its caps are large, scores as the whole
        catalogue does."""
        if self.pool is not None:
            return self._candidate_parts(users)
        cf = self.cf.score(users).astype(np.float32, copy=False)
        peak = mask_seen(np.abs(cf), users, known, item_mask).max(axis=1, keepdims=True, initial=0.0)
        cf = np.divide(cf, peak, out=np.zeros_like(cf), where=peak > 0)
        text = self.text.score(users) if self.text is not None else None
        social = self.social.score(users) if self.social is not None else None
        return Parts(cf, text, social)

    def _candidate_parts(self, users: np.ndarray) -> Parts:
        """Returns the :class:`Parts` of ``users`` over their candidates from the pool."""
        counts = self.social.counts(users) if self.social is not None else None
        columns = self.pool.columns(users, counts)
        cf = self.cf.exact(self.pool.known[users], columns)
        cf[columns < 0] = 0.0
        text = self.text.score_columns(users, columns) if self.text is not None else None
        social = SocialSignal.score_columns(counts, columns) if counts is not None else None
        peak = np.abs(cf).max(axis=1, keepdims=True) if cf.shape[1] else np.zeros((cf.shape[0], 1), np.float32)
        return Parts(np.divide(cf, peak, out=np.zeros_like(cf), where=peak > 0), text, social, columns)

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
        if self.pool is None and isinstance(self.cf, Ranker) and self._filter_alone(users, known):
            return self.cf.recommend(users, k, known=known, item_mask=item_mask)
        ranked = [self._top(part, known, item_mask, k) for part in chunks(users, CHUNK)]
        if not ranked:
            return np.zeros((0, k), np.int64), np.zeros((0, k), np.float32)
        return np.concatenate([items for _, items in ranked]), np.concatenate([values for values, _ in ranked])

    def _top(self, users: np.ndarray, known: sp.csr_matrix, item_mask: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Returns ``(values [n, k], items [n, k])`` of :meth:`Parts.top` for one chunk."""
        parts = self.parts(users, known, item_mask)
        values, items, _ = parts.top(self.combine(parts), users, known, item_mask, k)
        return values, items

    def _filter_alone(self, users: np.ndarray, known: sp.csr_matrix) -> bool:
        """Returns whether the fused order of ``users`` is the filter's: no signal has weight, and
        user and no post is cold (both are placed by text whatever the weights)."""
        cold = (np.diff(known.indptr)[users] == 0).any() or (self.new_posts is not None and self.new_posts.any())
        weighted_text = self.text is not None and (self.weights.text > 0 or cold)
        weighted_social = self.social is not None and self.weights.social > 0
        return not (weighted_text or weighted_social)

    def combine(self, parts: Parts) -> np.ndarray:
        """Returns ``[n, W]`` the fused scores of ``parts``; a user the filter knows nothing about (no
        interaction) is ranked by text alone, whatever the weights."""
        fused = parts.fused(self.weights)
        if parts.text is not None and self.new_posts is not None and self.weights.text < NEW_POST_TEXT_WEIGHT:
            lift = NEW_POST_TEXT_WEIGHT - self.weights.text
            if parts.columns is None:
                fused[:, self.new_posts] += lift * parts.text[:, self.new_posts]
            else:
                new = (parts.columns >= 0) & self.new_posts[np.maximum(parts.columns, 0)]
                fused[new] += lift * parts.text[new]
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
        parts = scorer.parts(part, known, item_mask)
        for weights in grid:
            fused = replace(scorer, weights=weights).combine(parts)
            tops[weights].append(parts.top(fused, part, known, item_mask, K)[1])
    results = {w: ranking_metrics(np.concatenate(t), truth.indptr, truth.indices, users, K) for w, t in tops.items()}
    best = max(grid, key=lambda w: (results[w][f"ndcg@{K}"], -w.text - w.social))
    return best, results
