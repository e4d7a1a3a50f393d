"""The recommend job's validation slice, fusion and model choice, on small planted interaction matrices."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from jobs.recommend.fusion import FusedScorer, FusionWeights, fit_weights
from jobs.recommend.graph_filter import GraphFilter
from jobs.recommend.lightgcn import Interactions, TrainConfig
from jobs.recommend.reasons import Evidence, reasons
from jobs.recommend.scoring import held_out_metrics, holdout, top_items
from jobs.recommend.selection import choose
from graph.arrays import binary_matrix
from jobs.recommend.signals import SocialSignal, TextSignal

CPU = torch.device("cpu")


def blocks(num_users: int = 120, num_items: int = 60, groups: int = 3, density: float = 0.5, seed: int = 0) -> sp.csr_matrix:
    """Users of group g interact with a random half of group g's items, and nothing else."""
    rng = np.random.default_rng(seed)
    user_group = np.arange(num_users) % groups
    item_group = np.arange(num_items) % groups
    dense = (user_group[:, None] == item_group[None, :]) & (rng.random((num_users, num_items)) < density)
    return sp.csr_matrix(dense.astype(np.float32))


def cold_first_user() -> tuple[sp.csr_matrix, torch.Tensor, torch.Tensor]:
    """Returns ``(known, user_x, item_x)`` of :func:`blocks` with user 0's interactions removed: item
    text vectors carry the planted groups (one axis each) and user 0's profile points at group 1."""
    known = blocks()
    known[0] = 0
    known.eliminate_zeros()
    item_x = torch.eye(3)[np.arange(known.shape[1]) % 3]
    user_x = torch.zeros(known.shape[0], 3)
    user_x[0, 1] = 1.0
    return known, user_x, item_x


class Noise:
    """A collaborative scorer that knows nothing: seeded random scores."""

    def __init__(self, num_items: int) -> None:
        self.num_items = num_items

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.random.default_rng(users.size).random((users.size, self.num_items), dtype=np.float32)


class Cooccurrence:
    """Scores by co-occurrence with the user's items: a working collaborative filter in one product."""

    def __init__(self, known: sp.csr_matrix) -> None:
        self.known = known
        self.gram = (known.T @ known).tocsr()

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.asarray((self.known[users] @ self.gram).todense(), dtype=np.float32)


def test_holdout_splits_each_users_items_and_keeps_every_pair_once() -> None:
    known = blocks()
    kept, held = holdout(known, 0.2, seed=1)
    assert (kept + held != known).nnz == 0 and kept.multiply(held).nnz == 0
    counts, held_counts = np.diff(known.indptr), np.diff(held.indptr)
    assert (held_counts[counts >= 2] == np.maximum(1, np.round(0.2 * counts[counts >= 2]))).all()
    assert (held_counts[counts < 2] == 0).all()
    again, _ = holdout(known, 0.2, seed=1)
    other, _ = holdout(known, 0.2, seed=2)
    assert (again != kept).nnz == 0 and (other != kept).nnz > 0


def test_top_items_never_returns_known_or_masked_items() -> None:
    known = blocks()
    mask = np.ones(known.shape[1], dtype=bool)
    mask[:5] = False
    users = np.arange(known.shape[0])
    _, top = top_items(Cooccurrence(known), users, known, 10, item_mask=mask, chunk=7)
    for user, items in zip(users, top):
        assert not set(items[items >= 0]) & set(known[user].indices)
        assert not set(items.tolist()) & set(range(5))


def test_fusion_weights_find_the_text_signal_when_the_filter_knows_nothing() -> None:
    known = blocks()
    kept, held = holdout(known, 0.3, seed=0)
    groups = 3
    # Text vectors that carry the planted groups: one axis per group.
    item_x = torch.eye(groups)[np.arange(known.shape[1]) % groups]
    text = TextSignal.fit(kept, None, item_x)
    users = np.flatnonzero(np.diff(held.indptr) > 0)
    weights, grid = fit_weights(FusedScorer(Noise(known.shape[1]), text, None), users, kept, held)
    assert weights.text > 0 and weights.social == 0
    assert grid[weights]["recall@20"] > 2 * grid[FusionWeights(0.0, 0.0)]["recall@20"]


def test_a_user_without_interactions_is_ranked_by_text() -> None:
    known, user_x, item_x = cold_first_user()
    scorer = FusedScorer(Cooccurrence(known), TextSignal.fit(known, user_x, item_x), None, FusionWeights(0.0, 0.0))
    _, top = top_items(scorer, np.array([0]), known, 10)
    assert (np.asarray(top[0]) % 3 == 1).all()


def test_fusion_ranks_as_the_filter_alone_unless_a_signal_or_a_cold_user_needs_the_fused_order() -> None:
    known, user_x, item_x = cold_first_user()
    cf = GraphFilter(rank=4, oversample=8).fit(known)
    warm = np.arange(1, known.shape[0])
    filter_alone, _ = cf.recommend(warm, 10)
    for scorer in (FusedScorer(cf, None, None), FusedScorer(cf, TextSignal.fit(known, user_x, item_x), None)):
        _, top = top_items(scorer, warm, known, 10)
        np.testing.assert_array_equal(top, filter_alone)
    _, cold = top_items(FusedScorer(cf, TextSignal.fit(known, user_x, item_x), None), np.array([0, 1]), known, 10)
    assert (cold[0] % 3 == 1).all()
    noise = torch.from_numpy(np.random.default_rng(0).standard_normal((known.shape[1], 8)).astype(np.float32))
    _, fused = top_items(FusedScorer(cf, TextSignal.fit(known, None, noise), None, FusionWeights(5.0, 0.0)), warm, known, 10)
    assert (fused != filter_alone).any()


def test_social_signal_counts_followees_who_interacted() -> None:
    known = sp.csr_matrix(np.array([[0, 0, 0], [1, 1, 0], [1, 0, 0]], dtype=np.float32))
    follows = binary_matrix(np.array([0, 0]), np.array([1, 2]), 3, 3)
    signal = SocialSignal(follows, known)
    assert signal.counts(np.array([0])).toarray().tolist() == [[2.0, 1.0, 0.0]]
    np.testing.assert_allclose(signal.score(np.array([0])), np.log1p([[2.0, 1.0, 0.0]]), rtol=1e-6)


def test_choose_keeps_the_candidate_that_ranks_the_validation_slice_better() -> None:
    known = blocks(num_users=150, num_items=90)
    coo = known.tocoo()
    data = Interactions(coo.row.astype(np.int64), coo.col.astype(np.int64), known.shape[0], known.shape[1])
    follows = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    choice = choose("auto", data, follows, TrainConfig(epochs=3, seed=0), CPU)
    assert set(choice.validation) == {"graph_filter", "lightgcn"}
    best = max(choice.validation, key=lambda name: choice.validation[name]["ndcg@20"])
    assert choice.model == best and choice.weights == FusionWeights()
    # The planted blocks are easy for the filter: far above what a random ranking of 60 unseen items finds.
    assert choice.validation["graph_filter"]["recall@20"] > 0.6
    metrics = choice.metrics()
    assert metrics["model"] == best and "val_graph_filter_ndcg_at_20" in metrics


def test_reasons_name_the_part_that_carried_each_pair() -> None:
    evidence = Evidence(
        cf=np.array([0.9, 0.1, 0.1, 0.2, 0.5, 0.1]),
        text=np.array([0.0, 0.8, 0.6, 0.0, 0.0, 0.0]),
        social=np.array([0.0, 0.0, 0.0, 0.9, 0.0, 0.4]),
        followees=np.array([0, 0, 0, 3, 0, 0]),
        network=np.array([0, 0, 0, 5, 0, 2]),
        nearest=np.array([7, -1, -1, -1, -1, -1]),
        similarity=np.array([0.9, -np.inf, -np.inf, -np.inf, -np.inf, -np.inf], dtype=np.float32),
        new_post=np.array([False, True, False, False, False, False]),
        user_known=np.array([True, True, False, True, True, True]),
        topic=[None, "hiking", None, None, None, None],
    )
    assert reasons(evidence, {7: "summit at dawn"}) == [
        'because you liked "summit at dawn"',
        "new post on hiking you write about",
        "matches your profile",
        "liked by 3 people you follow",
        "popular with people like you",
        "liked by 2 people in your network",
    ]


def test_held_out_metrics_of_a_working_filter_beat_a_blind_one() -> None:
    known = blocks()
    kept, held = holdout(known, 0.3, seed=0)
    users = np.flatnonzero(np.diff(held.indptr) > 0)
    good = held_out_metrics(Cooccurrence(kept), users, kept, held)
    blind = held_out_metrics(Noise(known.shape[1]), users, kept, held)
    assert good["recall@20"] > 0.9 and good["recall@20"] > 2 * blind["recall@20"]


def test_a_post_nobody_interacted_with_is_placed_by_its_text_even_at_text_weight_zero() -> None:
    known = blocks()
    new = np.arange(known.shape[1]) >= known.shape[1] - 6
    known = sp.csr_matrix(known.toarray() * ~new)
    item_x = torch.eye(3)[np.arange(known.shape[1]) % 3]
    text = TextSignal.fit(known, None, item_x)
    users = np.arange(known.shape[0])
    mask = new.copy()
    blind = FusedScorer(GraphFilter(rank=4, oversample=8).fit(known), text, None, FusionWeights(0.0, 0.0))
    placed = FusedScorer(blind.cf, text, None, FusionWeights(0.0, 0.0), new_posts=new)
    _, ties = top_items(blind, users, known, 2, item_mask=mask)
    _, top = top_items(placed, users, known, 2, item_mask=mask)
    group = users % 3
    assert (top % 3 == group[:, None]).all(), "each user gets the new posts of their own group"
    assert not (ties % 3 == group[:, None]).all()
    assert placed.text_weights(np.flatnonzero(new)).min() > 0 and placed.text_weights(np.array([0]))[0] == 0
