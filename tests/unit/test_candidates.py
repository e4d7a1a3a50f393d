"""The candidate path of the graph filter: with caps as large as the catalogue it ranks exactly as
the filter does, it never returns seen items and pads with -1, and small caps still find the
planted structure."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from jobs.common.ranking import ragged_top
from jobs.recommend.candidates import CandidateFilter
from jobs.recommend.graph_filter import GraphFilter


def _random_interactions(users: int, items: int, density: float, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < density).astype(np.float32)
    dense[np.arange(users), rng.integers(0, items, users)] = 1.0
    dense[-1] = 0.0  # a user without interactions
    return sp.csr_matrix(dense)


def _planted(seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray, np.ndarray]:
    """Returns ``(train, held_out, block_of_user, block_of_item)``: eight user groups with their own
    items and some noise; three in-block items of every user held out."""
    rng = np.random.default_rng(seed)
    user_block = np.repeat(np.arange(8), 40)
    item_block = np.repeat(np.arange(8), 40)
    same = user_block[:, None] == item_block[None, :]
    dense = np.where(same, rng.random(same.shape) < 0.4, rng.random(same.shape) < 0.02).astype(np.float32)
    held = np.zeros_like(dense)
    for user in range(dense.shape[0]):
        held[user, rng.choice(np.flatnonzero(dense[user] * same[user]), 3, replace=False)] = 1.0
    return sp.csr_matrix(dense - held), sp.csr_matrix(held), user_block, item_block


def _recall(top: np.ndarray, held: sp.csr_matrix) -> float:
    return float(np.mean([np.isin(held[u].indices, top[u]).mean() for u in range(held.shape[0])]))


@pytest.mark.parametrize(
    "settings",
    [dict(), dict(user_power=0.5, item_power=0.5, equaliser=0.0, ideal_equaliser=0.5, response="linear"), dict(rank=0)],
    ids=["plateau", "gf-cf", "linear-only"],
)
def test_uncapped_candidates_rank_as_the_exact_filter(settings: dict) -> None:
    known = _random_interactions(200, 90, 0.06, seed=3)
    model = CandidateFilter(GraphFilter(**{"rank": 12, "oversample": 16, **settings}),
                            neighbours=10**6, candidates=10**6, popular=90).fit(known)
    users = np.arange(200)
    items, scores = model.recommend(users, 15)
    exact_items, exact_scores = model.model.recommend(users, 15)
    full = model.model.score(users)
    tolerance = 1e-5 * np.abs(exact_scores[np.isfinite(exact_scores)]).max()
    # Ties may order two items either way: the scores, and each item's exact score, must agree.
    np.testing.assert_allclose(scores, exact_scores, rtol=0, atol=tolerance)
    np.testing.assert_allclose(np.take_along_axis(full, items, axis=1), scores, rtol=0, atol=tolerance)
    assert (items == exact_items).mean() > 0.98


def test_never_seen_and_padded_with_minus_one() -> None:
    known = _random_interactions(60, 40, 0.2, seed=4).tolil()
    known[0, :32] = 1.0  # user 0 has 8 unseen items left
    known = known.tocsr()
    items, scores = CandidateFilter(GraphFilter(rank=8, oversample=8), neighbours=10**6, candidates=10**6, popular=40).fit(known).recommend(np.arange(60), 20)
    for user in range(60):
        returned = items[user][items[user] >= 0]
        assert not np.isin(returned, known[user].indices).any()
        assert returned.size == len(set(returned.tolist()))
    assert (items[0, :8] >= 0).all() and (items[0, 8:] == -1).all() and np.isinf(scores[0, 8:]).all()
    capped, capped_scores = CandidateFilter(GraphFilter(rank=8, oversample=8), neighbours=2, candidates=3, popular=0).fit(known).recommend(np.arange(60), 5)
    assert (capped[:, 3:] == -1).all() and np.isinf(capped_scores[:, 3:]).all()
    assert (capped[-1] == -1).all()  # no interactions, no popular items: no candidate at all


def test_small_caps_recover_the_planted_blocks() -> None:
    train, held, user_block, item_block = _planted()
    model = CandidateFilter(GraphFilter(rank=16, oversample=16), neighbours=8, candidates=12, popular=0).fit(train)
    users = np.arange(train.shape[0])
    items, _ = model.recommend(users, 10)
    exact, _ = model.model.recommend(users, 10)
    assert (items >= 0).all()
    in_block = item_block[items] == user_block[:, None]
    assert in_block.mean() > 0.95
    assert _recall(items, held) > 0.95 * _recall(exact, held)
    popular = np.argsort(-np.asarray(train.sum(axis=0)).ravel(), kind="stable")
    by_popularity = np.stack([popular[~np.isin(popular, train[u].indices)][:10] for u in users])
    assert _recall(items, held) > 2 * _recall(by_popularity, held)


def test_ragged_top_matches_a_sort_per_row() -> None:
    rng = np.random.default_rng(5)
    lengths = rng.integers(0, 60, 300)
    lengths[7] = 1000  # one long row in its own size class
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    values = rng.standard_normal(indptr[-1]).astype(np.float32)
    top = ragged_top(indptr, values, 5, budget=256)
    for row in range(lengths.size):
        expected = indptr[row] + np.argsort(-values[indptr[row] : indptr[row + 1]], kind="stable")[:5]
        assert top[row, : expected.size].tolist() == expected.tolist()
        assert (top[row, expected.size :] == -1).all()


def test_a_higher_order_tail_is_refused() -> None:
    with pytest.raises(ValueError, match="sharpen"):
        CandidateFilter(GraphFilter(response="sharpen"))
