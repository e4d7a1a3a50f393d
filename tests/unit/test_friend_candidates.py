"""Friend candidates and their pair features: sparse lookups against dense references on random
graphs, the caps of every source, and the nearest-neighbour search (no Neo4j needed)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from jobs.common.nearest import nearest_rows
from jobs.friends.candidates import CandidateConfig, CandidateGenerator, sample_rows
from jobs.friends.features import PAIR_FEATURES, Structure, candidate_features

pytestmark = pytest.mark.unit


def _graph(users: int = 300, edges: int = 2000, posts: int = 100, seed: int = 0) -> Structure:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, users, edges), rng.integers(0, users, edges)
    keep = a != b
    one_way = sp.csr_matrix((np.ones(keep.sum(), dtype=np.float32), (a[keep], b[keep])), shape=(users, users))
    friends = ((one_way + one_way.T) > 0).astype(np.float32).tocsr()
    listens = sp.random(users, posts, density=0.05, format="csr", random_state=seed, dtype=np.float32)
    return Structure(friends, (listens > 0).astype(np.float32), listens)


def _vectors(users: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(users, 16, generator=generator)
    text = F.normalize(torch.randn(users, 8, generator=generator), dim=1)
    has_text = torch.rand(users, generator=generator) > 0.2
    return z, text, has_text


def test_pair_features_equal_the_dense_products() -> None:
    structure = _graph()
    users = structure.friends.shape[0]
    z, text, has_text = _vectors(users)
    generator = CandidateGenerator(structure, z, text, has_text, np.zeros(users, dtype=bool), CandidateConfig())
    chunk = np.arange(40, 90)
    candidates, two_steps = generator.for_users(chunk)
    features = candidate_features(z, text, has_text, structure, chunk, candidates, two_steps)
    lines, slots = np.nonzero(candidates >= 0)
    u, v = chunk[lines], candidates[lines, slots]
    friends = structure.friends.toarray()
    degree = friends.sum(axis=1)
    inverse_log = np.where(degree > 1, 1 / np.log(np.maximum(degree, 2)), 0.0)
    content = (structure.content.matrix.toarray() > 0).astype(np.float64)
    popularity = content.sum(axis=0)
    taste = structure.taste.matrix.toarray()
    expected = {
        "gnn_dot": (z[u] * z[v]).sum(dim=1).numpy(),
        "log_adamic_adar": np.log1p((friends * inverse_log) @ friends)[u, v],
        "log_resource_allocation": np.log1p((friends / np.maximum(degree, 1)) @ friends)[u, v],
        "text_cosine": ((text[u] * text[v]).sum(dim=1) * (has_text[u] & has_text[v])).numpy(),
        "log_shared_content": np.log1p((content * np.where(popularity > 1, 1 / np.log(np.maximum(popularity, 2)), 0.0)) @ content.T)[u, v],
        "taste_cosine": (taste @ taste.T)[u, v],
        "log_degree": np.log1p(degree[v]),
        "log_paths3": np.log1p(friends @ friends @ friends)[u, v],
    }
    for index, name in enumerate(PAIR_FEATURES):
        assert np.allclose(features.pair[index].numpy()[lines, slots], expected[name], atol=1e-4), name
    assert np.array_equal(features.mutual.numpy()[lines, slots], (friends @ friends)[u, v])


def test_candidates_are_capped_and_never_self_friends_or_blocked() -> None:
    structure = _graph(users=400, edges=6000)
    users = structure.friends.shape[0]
    z, text, has_text = _vectors(users, seed=1)
    blocked = np.zeros(users, dtype=bool)
    blocked[::7] = True
    config = CandidateConfig(friends_of_friends=30, embedding=10, text=10, content=10)
    chunk = np.arange(users)
    candidates, _ = CandidateGenerator(structure, z, text, has_text, blocked, config).for_users(chunk)
    lines, slots = np.nonzero(candidates >= 0)
    u, v = chunk[lines], candidates[lines, slots]
    assert candidates.shape[1] <= config.most
    assert not np.any(u == v) and not blocked[v].any() and not structure.friends[u, v].any()
    codes = u * users + v
    assert np.unique(codes).size == codes.size
    # The 30 friends of friends with the highest resource allocation are there (the walk is exact below its caps).
    two_steps = structure.friends @ sp.diags(1 / np.maximum(structure.degree, 1)) @ structure.friends
    strongest = np.asarray(two_steps[7].todense()).ravel()
    strongest[[7, *structure.friends[7].indices, *np.flatnonzero(blocked)]] = 0
    threshold = np.sort(strongest)[-30]
    assert set(np.flatnonzero(strongest > threshold)) <= set(candidates[7][candidates[7] >= 0])


def test_sampled_rows_are_capped_and_unbiased() -> None:
    rng = np.random.default_rng(2)
    dense = (rng.random((50, 400)) < 0.5).astype(np.float32)
    matrix = sp.csr_matrix(dense)
    sampled = sample_rows(matrix, 20, np.random.default_rng(3))
    assert np.diff(sampled.indptr).max() == 20
    assert set(zip(*sampled.nonzero())) <= set(zip(*matrix.nonzero()))
    # Each kept entry stands for length / 20 entries, so row sums are preserved exactly ...
    assert np.allclose(np.asarray(sampled.sum(axis=1)).ravel(), dense.sum(axis=1))
    # ... and a product through the sample estimates the full one without bias.
    vector = rng.random(400)
    estimates = np.mean([sample_rows(matrix, 20, np.random.default_rng(seed)) @ vector for seed in range(200)], axis=0)
    assert np.allclose(estimates, dense @ vector, rtol=0.05)


def test_nearest_rows_exact_and_hnsw_agree() -> None:
    generator = torch.Generator().manual_seed(4)
    centres = torch.randn(40, 24, generator=generator)
    vectors = F.normalize(centres[torch.randint(0, 40, (3000,), generator=generator)] + 0.3 * torch.randn(3000, 24, generator=generator), dim=1)
    exact = nearest_rows(vectors, 10)
    scores = vectors @ vectors.T
    scores.fill_diagonal_(float("-inf"))
    assert np.array_equal(exact, torch.topk(scores, 10, dim=1).indices.numpy())
    approximate = nearest_rows(vectors, 10, exact_below=0)
    assert not np.any(approximate == np.arange(3000)[:, None])
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approximate)])
    assert overlap >= 0.9


def test_hnsw_on_wide_vectors_finds_the_exact_neighbours_through_their_top_directions() -> None:
    # Text embeddings are close to low-rank: 384 dimensions driven by a few dozen latent ones.
    generator = torch.Generator().manual_seed(5)
    latent = torch.randn(3000, 24, generator=generator)
    vectors = F.normalize(latent @ torch.randn(24, 384, generator=generator) + 0.05 * torch.randn(3000, 384, generator=generator), dim=1)
    exact = nearest_rows(vectors, 10)
    approximate = nearest_rows(vectors, 10, exact_below=0)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, approximate)])
    assert overlap >= 0.8


def test_a_generator_built_for_some_users_serves_them_alone() -> None:
    structure = _graph()
    users = structure.friends.shape[0]
    z, text, has_text = _vectors(users, seed=2)
    everyone = CandidateGenerator(structure, z, text, has_text, np.zeros(users, dtype=bool), CandidateConfig())
    some = np.array([3, 50, 120])
    few = CandidateGenerator(structure, z, text, has_text, np.zeros(users, dtype=bool), CandidateConfig(), users=some)
    assert np.array_equal(few.for_users(some)[0], everyone.for_users(some)[0])
    with pytest.raises(ValueError, match="not built for"):
        few.for_users(np.array([4]))
