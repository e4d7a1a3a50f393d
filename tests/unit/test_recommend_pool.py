"""The recommend job's candidate pool: with caps as large as the catalogue the fused ranking is the
whole catalogue's, and with small caps it still never returns a seen or blocked post, and the text
candidates bring new posts to the users whose profile they match."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from graph.arrays import binary_matrix
from jobs.recommend.fusion import FusionWeights
from jobs.recommend.graph_filter import GraphFilter
from jobs.recommend.pool import PoolConfig
from jobs.recommend.scoring import top_items
from jobs.recommend.selection import fused_scorer
from jobs.recommend.signals import SocialSignal, TextSignal

USERS, ITEMS, GROUPS = 150, 90, 3


def _graph(seed: int = 0) -> tuple[sp.csr_matrix, TextSignal, SocialSignal, np.ndarray]:
    """Returns ``(known, text, social, new)``: planted groups of users and posts with noise, text vectors
    that carry the groups, random follows, and six posts nobody has interacted with."""
    rng = np.random.default_rng(seed)
    user_group, item_group = np.arange(USERS) % GROUPS, np.arange(ITEMS) % GROUPS
    dense = np.where(user_group[:, None] == item_group[None, :], rng.random((USERS, ITEMS)) < 0.3, rng.random((USERS, ITEMS)) < 0.03)
    new = np.arange(ITEMS) >= ITEMS - 6
    dense[:, new] = False
    dense[-1] = False  # a user without interactions, placed by their bio alone
    known = sp.csr_matrix(dense.astype(np.float32))
    item_x = torch.eye(GROUPS)[item_group] + 0.1 * torch.from_numpy(rng.standard_normal((ITEMS, GROUPS)).astype(np.float32))
    user_x = torch.eye(GROUPS)[user_group]
    follows = binary_matrix(rng.integers(0, USERS, 600), rng.integers(0, USERS, 600), USERS, USERS)
    return known, TextSignal.fit(known, user_x, item_x), SocialSignal(follows, known), new


def _uncapped() -> PoolConfig:
    return PoolConfig(above_items=0, neighbours=10**6, walk=10**6, popular=ITEMS, text=ITEMS, social=ITEMS, rank=8, oversample=8)


def test_an_uncapped_pool_ranks_as_the_whole_catalogue() -> None:
    known, text, social, _ = _graph()
    allowed = np.ones(ITEMS, dtype=bool)
    allowed[::7] = False
    users = np.arange(USERS)
    for weights in (FusionWeights(0.2, 0.1), FusionWeights(0.0, 0.4)):
        whole = fused_scorer(GraphFilter(rank=8, oversample=8).fit(known), text, social, known, allowed, PoolConfig(), weights)
        pooled = fused_scorer(_uncapped().candidate_filter().fit(known), text, social, known, allowed, _uncapped(), weights)
        assert whole.pool is None and pooled.pool is not None
        scores, items = top_items(whole, users, known, 10, item_mask=allowed)
        pool_scores, pool_items = top_items(pooled, users, known, 10, item_mask=allowed)
        np.testing.assert_allclose(pool_scores, scores, rtol=0, atol=1e-5)
        # Ties may fall either way; nearly every slot holds the same post.
        assert (pool_items == items).mean() > 0.97


def test_a_capped_pool_returns_only_unseen_allowed_posts_and_reaches_new_ones_by_text() -> None:
    known, text, social, new = _graph(seed=1)
    allowed = np.ones(ITEMS, dtype=bool)
    allowed[1::9] = False
    caps = PoolConfig(above_items=0, neighbours=4, walk=6, popular=2, text=4, social=3, rank=8, oversample=8)
    pooled = fused_scorer(caps.candidate_filter().fit(known), text, social, known, allowed,
                          caps, FusionWeights(0.1, 0.0))
    users = np.arange(USERS)
    columns = pooled.pool.columns(users)
    assert columns.shape[1] <= 6 + 2 + 4 + 3
    for user in users:
        chosen = columns[user][columns[user] >= 0]
        assert chosen.size == np.unique(chosen).size
        assert not np.isin(chosen, known[user].indices).any() and allowed[chosen].all()
    _, items = top_items(pooled, users, known, 5, item_mask=allowed)
    group = users % GROUPS
    # New posts only reach anyone through the text candidates; they go to users of their own group.
    reached = [(user, item) for user in users for item in items[user] if item >= 0 and new[item]]
    assert reached and all(item % GROUPS == group[user] for user, item in reached)
    assert (items[-1] >= 0).all(), "the user without interactions is served by their profile"
    assert all(item % GROUPS == group[-1] for item in items[-1])
