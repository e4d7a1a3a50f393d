"""Evaluating friend suggestions: hide a seeded 10% of friendships, then try to find them again.

The model and the baselines (common neighbours, Adamic-Adar) see the same 90%.  The baselines
rank every user who is not already a friend; the model ranks its capped candidates
(:mod:`jobs.friends.candidates`).  ``candidate_recall`` is the share of the hidden friends
those candidates hold, and ``uncapped_candidate_recall`` the share with every friend of a
friend kept, as the job did before its candidates were capped.  Recall@k and Hits@k are averaged over users with at least one hidden
friend.  The model is measured with and without text features, so the text's contribution is
visible.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import torch

from jobs.friends.candidates import CandidateGenerator
from graph.arrays import SortedRows
from jobs.friends.features import Structure
from jobs.friends.model import FriendsConfig, fit_friend_scorer, suggest_friends
from jobs.common.ranking import csr_from_pairs, ragged_top, ranking_metrics
from jobs.common.runtime import seed_everything
from jobs.gnn.social import SocialGraph

log = logging.getLogger(__name__)


def split_friendships(friendships: torch.Tensor, hidden_share: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns ``(visible, hidden)`` ``[2, *]`` pairs, a seeded random split of ``friendships``."""
    order = torch.randperm(friendships.shape[1], generator=torch.Generator().manual_seed(seed))
    n_hidden = int(round(friendships.shape[1] * hidden_share))
    return friendships[:, order[n_hidden:]], friendships[:, order[:n_hidden]]


def _truth(hidden: torch.Tensor, num_users: int) -> tuple[np.ndarray, np.ndarray]:
    src, dst = hidden.numpy()
    return csr_from_pairs(np.concatenate([src, dst]), np.concatenate([dst, src]), num_users)


def _baseline_top_k(structure: Structure, queries: np.ndarray, k: int, score: str, budget: int = 2**22) -> np.ndarray:
    """Returns ``[q, k]`` the top ``k`` users of each query by common neighbours or Adamic-Adar over
    everyone (only friends of friends score above 0), friends and the query excluded, ``-1`` padded."""
    friends = structure.friends
    middle = friends if score == "common_neighbours" else friends @ sp.diags(structure.inverse_log_degree)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    step = max(1, budget // max(int(structure.degree.max(initial=1)) ** 2, 1))
    for start in range(0, len(queries), step):
        rows = queries[start : start + step]
        scores = (middle[rows] @ friends).tocoo()
        line, user = scores.row, scores.col
        keep = (user != rows[line]) & (structure.friend_rows.lookup(rows[line], user) == 0)
        kept = sp.csr_matrix((scores.data[keep], (line[keep], user[keep])), shape=scores.shape)
        position = ragged_top(kept.indptr, kept.data, k)
        out[start : start + len(rows), : position.shape[1]] = np.where(position >= 0, kept.indices[np.maximum(position, 0)], -1)
    return out


def _model_top_k(graph: SocialGraph, visible: torch.Tensor, queries: np.ndarray, config: FriendsConfig, seed: int,
                 on_epoch: Callable[[int, float], None] | None) -> tuple[np.ndarray, dict[str, CandidateGenerator], dict[str, float]]:
    """Returns ``([q, k]`` the model's top ``k`` of each query, its candidate generators by name, the
    scorer's figures on its own calibration split``): ``capped`` is the job's generator,
    ``uncapped`` keeps every friend of a friend."""
    generator = seed_everything(seed)
    scorer = fit_friend_scorer(graph, visible, config, generator, torch.device("cpu"), on_epoch)
    found = suggest_friends(graph, visible, scorer, config, users=queries)
    predicted = np.full((len(queries), config.k), -1, dtype=np.int64)
    line = np.searchsorted(queries, found.src)
    predicted[line, found.rank - 1] = found.dst
    structure = Structure.of(graph, visible)
    everyone = graph.num_users
    uncapped = dataclasses.replace(config.candidates, friends_of_friends=everyone, walk_friends=everyone, walk_fanout=everyone)
    generators = {
        name: CandidateGenerator(structure, scorer.z, scorer.text, scorer.has_text, graph.opt_out, caps, users=queries)
        for name, caps in (("capped", config.candidates), ("uncapped", uncapped))
    }
    return predicted, generators, scorer.calibration


def _candidate_recall(generator: CandidateGenerator, queries: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                      budget: int = 2**22) -> tuple[float, float]:
    """Returns ``(share of the queries' hidden friends among their candidates, mean candidates per query)``."""
    hidden = SortedRows(sp.csr_matrix((np.ones(indices.size, dtype=np.float32), indices, indptr), shape=(indptr.size - 1, indptr.size - 1)))
    found = listed = 0
    step = max(1, budget // max(int(generator.structure.degree.max(initial=1)) ** 2, generator.config.most, 1))
    for start in range(0, len(queries), step):
        rows = queries[start : start + step]
        candidates, _ = generator.for_users(rows)
        lines, slots = np.nonzero(candidates >= 0)
        found += int((hidden.lookup(rows[lines], candidates[lines, slots]) > 0).sum())
        listed += lines.size
    return found / max(int(np.diff(indptr)[queries].sum()), 1), listed / max(len(queries), 1)


def _measured(model: tuple[np.ndarray, dict[str, CandidateGenerator], dict[str, float]], indptr: np.ndarray,
              indices: np.ndarray, queries: np.ndarray, k: int) -> dict:
    predicted, generators, calibration = model
    metrics: dict = ranking_metrics(predicted, indptr, indices, queries, k)
    metrics["calibration"] = calibration
    for name, generator in generators.items():
        prefix = "" if name == "capped" else f"{name}_"
        metrics[f"{prefix}candidate_recall"], metrics[f"{prefix}candidates_per_user"] = _candidate_recall(generator, queries, indptr, indices)
    return metrics


def evaluate_friends(
    graph: SocialGraph,
    seed: int = 0,
    config: FriendsConfig | None = None,
    hidden_share: float = 0.1,
    on_epoch: Callable[[int, float], None] | None = None,
) -> dict[str, dict]:
    """Runs the hide-and-find evaluation.

    Returns:
        ``{"model": {metric: value}, "model_without_text": {…}, "baselines": {"adamic_adar": {…},
        "common_neighbours": {…}}}`` with ``recall@k``, ``hits@k``, ``ndcg@k`` (graph opt-outs are ignored
        here: every user may be found).  Each model's ``calibration`` holds its figures on the
        calibration split it carved from the visible friendships, the split that designs are
        chosen on, so that the hidden share is read once per design.
    """
    config = config or FriendsConfig()
    graph = dataclasses.replace(graph, opt_out=np.zeros(graph.num_users, dtype=bool))
    visible, hidden = split_friendships(graph.friendships, hidden_share, seed)
    indptr, indices = _truth(hidden, graph.num_users)
    queries = np.flatnonzero(np.diff(indptr) > 0)
    k = config.k
    structure = Structure(graph.friend_matrix(visible))
    result: dict[str, dict] = {"baselines": {}}
    for name in ("adamic_adar", "common_neighbours"):
        result["baselines"][name] = ranking_metrics(_baseline_top_k(structure, queries, k, name), indptr, indices, queries, k)
    result["model"] = _measured(_model_top_k(graph, visible, queries, config, seed, on_epoch), indptr, indices, queries, k)
    if graph.x is not None:
        plain = dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, use_text=False))
        result["model_without_text"] = _measured(_model_top_k(graph, visible, queries, plain, seed, on_epoch), indptr, indices, queries, k)
    best = max(result["baselines"].values(), key=lambda m: m[f"recall@{k}"])[f"recall@{k}"]
    result["model"][f"recall@{k}_vs_best_baseline"] = result["model"][f"recall@{k}"] / best if best else float("inf")
    log.info("friends evaluation: %s", result)
    return result
