"""The friends job's listwise ranker and pair features, on small hand-made inputs (no Neo4j needed)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from graph.arrays import SortedRows
from jobs.friends.features import FEATURES, PAIR_FEATURES, ChunkFeatures, Structure
from jobs.friends.model import FriendsConfig, _combine, fit_ranker


def test_ranker_weights_the_feature_that_ranks_the_targets_first() -> None:
    generator = torch.Generator().manual_seed(0)
    users, candidates = 40, 60
    targets = torch.zeros(users, candidates, dtype=torch.bool)
    targets[torch.arange(users), torch.randint(0, candidates, (users,), generator=generator)] = True
    values = torch.rand(len(PAIR_FEATURES), users, candidates, generator=generator)
    informative = PAIR_FEATURES.index("log_adamic_adar")
    values[informative] += 2.0 * targets
    allowed = torch.ones(users, candidates, dtype=torch.bool)
    features = ChunkFeatures(values, torch.zeros(users), allowed, torch.zeros(users, candidates), torch.arange(candidates).expand(users, -1))
    scale, weights = fit_ranker(features, targets, FriendsConfig())
    assert weights[informative] == max(weights) > 0
    top = torch.topk(_combine(features, scale, weights), 1, dim=1).indices.squeeze(1)
    assert bool((targets[torch.arange(users), top]).all())


def test_ranker_never_ranks_a_forbidden_candidate() -> None:
    values = torch.zeros(len(PAIR_FEATURES), 1, 3)
    values[PAIR_FEATURES.index("log_adamic_adar"), 0] = torch.tensor([5.0, 1.0, 0.0])
    allowed = torch.tensor([[False, True, True]])
    features = ChunkFeatures(values, torch.zeros(1), allowed, torch.zeros(1, 3), torch.tensor([[-1, 1, 2]]))
    scale, weights = fit_ranker(features, torch.tensor([[False, True, False]]), FriendsConfig())
    assert torch.isinf(_combine(features, scale, weights)[0, 0])


def test_scores_fold_the_by_own_degree_features_into_each_users_coefficients() -> None:
    generator = torch.Generator().manual_seed(1)
    users, candidates = 5, 7
    pair = torch.rand(len(PAIR_FEATURES), users, candidates, generator=generator)
    own_degree = torch.rand(users, generator=generator) * 3
    allowed = torch.rand(users, candidates, generator=generator) > 0.3
    features = ChunkFeatures(pair, own_degree, allowed, torch.zeros(users, candidates), torch.arange(candidates).expand(users, -1))
    assert features.values().shape == (len(FEATURES), users, candidates)
    twin = FEATURES.index("log_degree_by_own_degree")
    assert torch.allclose(features.values()[twin], pair[PAIR_FEATURES.index("log_degree")] * own_degree[:, None])
    scale = np.linspace(0.5, 2.0, len(FEATURES)).astype(np.float32)
    weights = np.linspace(-1.0, 1.0, len(FEATURES)).astype(np.float32)
    reference = torch.tensordot(torch.from_numpy(weights / scale), features.values(), dims=1)
    combined = _combine(features, scale, weights)
    assert torch.allclose(combined[allowed], reference[allowed], atol=1e-5)
    assert bool(torch.isinf(combined[~allowed]).all())


def test_structure_counts_paths_allocation_and_taste() -> None:
    # A path 0-1-2-3 plus the chord 1-3: users 0 and 3 share friend 1 (degree 3).
    edges = [(0, 1), (1, 2), (2, 3), (1, 3)]
    rows = [a for a, b in edges] + [b for a, b in edges]
    cols = [b for a, b in edges] + [a for a, b in edges]
    friends = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(4, 4))
    listens = sp.csr_matrix(np.array([[5, 0], [0, 1], [5, 0], [0, 0]], dtype=np.float32))
    structure = Structure(friends, (listens > 0).astype(np.float32), listens)
    src, dst = np.array([0, 0, 0]), np.array([3, 2, 1])
    mutual, _, allocation = structure.mutual(src, dst)
    assert mutual[0] == 1 and abs(float(allocation[0]) - 1 / 3) < 1e-6
    # 3-step walks from 0 to 3: 0-1-2-3 only (0-1-3 is two steps).
    two_steps = SortedRows(friends[[0]] @ friends)
    assert structure.paths3(np.zeros(3, dtype=np.int64), dst, two_steps)[0] == 1
    taste = structure.taste_cosine(src, dst)
    assert abs(float(taste[1]) - 1.0) < 1e-6 and float(taste[2]) == 0.0
