"""The graph-filter recommender: its chunked scores are the documented filter, it finds planted
structure that popularity misses, it never returns seen items, and it is deterministic."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from jobs.recommend.graph_filter import GraphFilter


def _random_interactions(users: int, items: int, density: float, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < density).astype(np.float32)
    dense[np.arange(users), rng.integers(0, items, users)] = 1.0  # every user has an item
    dense[rng.integers(0, users, items), np.arange(items)] = 1.0  # every item has a user
    dense[-1] = 0.0  # and one user has none
    return sp.csr_matrix(dense)


def _planted(seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Returns ``(train, held_out, block_of_user)``: three user groups, each with its own items,
    the largest group's items the most popular; two in-block items of every user are held out."""
    rng = np.random.default_rng(seed)
    user_blocks, item_blocks = [60, 30, 20], [30, 25, 20]
    user_block = np.repeat(np.arange(3), user_blocks)
    item_block = np.repeat(np.arange(3), item_blocks)
    same = user_block[:, None] == item_block[None, :]
    dense = np.where(same, rng.random(same.shape) < 0.45, rng.random(same.shape) < 0.03).astype(np.float32)
    held = np.zeros_like(dense)
    for user in range(dense.shape[0]):
        inside = np.flatnonzero(dense[user] * same[user])
        held[user, rng.choice(inside, 2, replace=False)] = 1.0
    return sp.csr_matrix(dense - held), sp.csr_matrix(held), user_block


def _recall(top: np.ndarray, held: sp.csr_matrix) -> float:
    hits = [np.isin(top[u], held[u].indices).sum() / held[u].nnz for u in range(held.shape[0])]
    return float(np.mean(hits))


def _degree_power(degree: np.ndarray, power: float) -> np.ndarray:
    return np.where(degree > 0, np.where(degree > 0, degree, 1.0) ** -power, 0.0)


def _dense_reference(model: GraphFilter, known: sp.csr_matrix) -> np.ndarray:
    """Returns ``[U, I]`` the documented filter computed densely from an exact eigendecomposition."""
    r = known.toarray().astype(np.float64)
    du, di = r.sum(1), r.sum(0)
    normalised = _degree_power(du, model.user_power)[:, None] * r * _degree_power(di, model.item_power)[None, :]
    gram = normalised.T @ normalised
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(-values)
    values, vectors = values[order] / values[order][0], vectors[:, order]
    operator = gram / np.linalg.eigvalsh(gram).max()
    k = model.vectors.shape[1]
    lam = torch.from_numpy(values[:k])
    tail_coefficients = model.tail
    head = model.response_at(lam, ideal=True).double().numpy() - sum(
        c * values[:k] ** (j + 1) for j, c in enumerate(tail_coefficients))
    tail = sum(c * np.linalg.matrix_power(operator, j + 1) for j, c in enumerate(tail_coefficients))
    beta, beta_h = model.equaliser, model.ideal_equaliser
    tail_part = (r * _degree_power(di, beta)) @ tail * _degree_power(di, -beta)
    share = np.where(du > 0, (np.maximum(du, 1e-12) / du[du > 0].mean()) ** model.head_user_power, 1.0)[:, None]
    head_part = share * (r * _degree_power(di, beta_h)) @ (vectors[:, :k] * head) @ vectors[:, :k].T * _degree_power(di, -beta_h)
    return tail_part + head_part


@pytest.mark.parametrize(
    "settings",
    [
        dict(),  # the tuned defaults: plateau response, equaliser, user power 0.35
        dict(user_power=0.5, item_power=0.5, equaliser=0.0, ideal_equaliser=0.5, response="linear", ideal_weight=0.3),
        dict(response="sharpen", equaliser=0.2, ideal_weight=0.2),  # a second-order tail
    ],
    ids=["plateau", "gf-cf", "sharpen"],
)
def test_chunked_scores_equal_the_dense_filter(settings: dict) -> None:
    known = _random_interactions(40, 20, 0.15, seed=1)
    # rank 5 of 20 items: a real tail below the head; the subspace spans every item, so it is exact.
    model = GraphFilter(rank=5, oversample=64, chunk_bytes=1, **settings).fit(known)
    assert model.chunk_size < known.shape[0], "the check needs several chunks"
    expected = _dense_reference(model, known)
    actual = model.score(np.arange(known.shape[0]))
    assert actual.shape == (40, 20) and actual.dtype == np.float32
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5)
    assert not actual[-1].any(), "a user with no interaction scores nothing"
    # the dense reference itself must not be trivial: the tail and the head both move the ranking
    assert np.abs(expected).max() > 0.05


def test_full_rank_applies_the_response_on_the_whole_spectrum() -> None:
    known = _random_interactions(8, 20, 0.3, seed=2)  # at most 8 nonzero eigenvalues
    # Without the per-user share of the top-k term, which the dense reference test covers.
    model = GraphFilter(rank=8, oversample=64, head_user_power=0.0).fit(known)
    r = known.toarray().astype(np.float64)
    di = r.sum(0)
    normalised = _degree_power(r.sum(1), model.user_power)[:, None] * r * _degree_power(di, model.item_power)[None, :]
    values, vectors = np.linalg.eigh(normalised.T @ normalised)
    keep = values > 1e-9 * values.max()
    lam = values[keep] / values.max()
    response = model.response_at(torch.from_numpy(lam), ideal=True).numpy()
    filtered = (vectors[:, keep] * response) @ vectors[:, keep].T
    expected = (r * _degree_power(di, model.equaliser)) @ filtered * _degree_power(di, -model.equaliser)
    np.testing.assert_allclose(model.score(np.arange(8)), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model", [GraphFilter(), GraphFilter(rank=3), GraphFilter.gf_cf(rank=3), GraphFilter(rank=0)],
                         ids=["defaults", "tuned-rank-3", "gf-cf", "linear-only"])
def test_filters_recover_planted_blocks_that_popularity_misses(model: GraphFilter) -> None:
    train, held, user_block = _planted()
    item_block = np.repeat(np.arange(3), [30, 25, 20])
    model.fit(train)
    top, _ = model.recommend(np.arange(train.shape[0]), 10)
    popularity = np.asarray(train.sum(0)).ravel()
    popular = np.argsort(-popularity, kind="stable")
    popular_top = np.stack([[i for i in popular if train[u, i] == 0][:10] for u in range(train.shape[0])])
    # popularity serves the largest group's items to everyone: recall 0.32, 55% in the user's block
    assert _recall(popular_top, held) < 0.4
    assert (item_block[popular_top] == user_block[:, None]).mean() < 0.6
    # a filter stays in the user's block (a perfect one, recall about 0.6 within it)
    assert _recall(top, held) > 0.55
    assert (item_block[top] == user_block[:, None]).mean() > 0.9


def test_recommend_never_returns_seen_items_and_pads_when_too_few_remain() -> None:
    known = _random_interactions(30, 12, 0.5, seed=3)
    model = GraphFilter(rank=4).fit(known)
    users = np.arange(30)
    indices, scores = model.recommend(users, k=12)
    assert indices.shape == scores.shape == (30, 12)
    assert indices.dtype == np.int64 and scores.dtype == np.float32
    full = model.score(users)
    for u in users:
        seen = set(known[u].indices)
        valid = indices[u][indices[u] >= 0]
        assert not seen & set(valid.tolist())
        assert valid.size == 12 - len(seen)  # every unseen item, then padding
        assert np.all(np.isneginf(scores[u][valid.size:]))
        np.testing.assert_allclose(scores[u][: valid.size], full[u][valid], rtol=1e-6)
        assert np.all(np.diff(scores[u][: valid.size]) <= 0)
    top_with_seen, with_seen = model.recommend(users, k=3, exclude_seen=False)
    np.testing.assert_allclose(with_seen, -np.sort(-full, axis=1)[:, :3], rtol=1e-6)
    assert any(set(known[u].indices) & set(top_with_seen[u]) for u in users)


def test_fit_and_recommend_are_deterministic() -> None:
    train, _, _ = _planted(seed=4)
    first = GraphFilter(rank=6, oversample=4, power_iterations=2).fit(train).recommend(np.arange(50), 10)
    second = GraphFilter(rank=6, oversample=4, power_iterations=2).fit(train).recommend(np.arange(50), 10)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_equaliser_trades_towards_popular_items() -> None:
    train, _, _ = _planted(seed=5)
    popularity = np.asarray(train.sum(0)).ravel()
    mean_popularity = []
    for equaliser in (0.0, 0.3, 0.6):
        top, _ = GraphFilter(rank=3, equaliser=equaliser).fit(train).recommend(np.arange(train.shape[0]), 5)
        mean_popularity.append(popularity[top].mean())
    assert mean_popularity[0] < mean_popularity[1] < mean_popularity[2]


def test_item_factors_approximate_the_item_operator() -> None:
    known = _random_interactions(8, 20, 0.3, seed=6)
    model = GraphFilter(rank=8, oversample=64).fit(known)
    factors = model.item_factors()
    assert factors.shape == (20, 7) and factors.dtype == np.float32  # 7 users with interactions: rank 7
    normalised = model.normalised.toarray().astype(np.float64)
    gram = normalised.T @ normalised
    np.testing.assert_allclose(factors @ factors.T, gram / model.top_eigenvalue, atol=1e-5)


def test_unknown_response_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown response"):
        GraphFilter(response="cosine")


def test_a_new_response_on_shared_eigenvectors_scores_as_a_new_fit() -> None:
    known = _random_interactions(40, 30, 0.15, seed=7)
    fitted = GraphFilter(rank=10, oversample=16).fit(known)
    changed = dict(response="sharpen", equaliser=0.1, ideal_weight=0.5)
    reused = fitted.with_response(**changed)
    refitted = GraphFilter(**{**fitted.get_params(), **changed}).fit(known)
    users = np.arange(40)
    np.testing.assert_allclose(reused.score(users), refitted.score(users), rtol=1e-5, atol=1e-6)
    assert not np.allclose(fitted.score(users), reused.score(users))
    with pytest.raises(ValueError, match="rank"):
        fitted.with_response(rank=5)
