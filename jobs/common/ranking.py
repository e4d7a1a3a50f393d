"""Top-k selection and the ranking, coverage and fairness metrics the jobs report.

Scores are dense ``[num_queries, num_candidates]`` float tensors; sets of items are CSR
pairs ``(indptr [num_queries + 1], indices [nnz])`` of int64 so that nothing loops per user in Python.
"""

from __future__ import annotations

import numpy as np
import torch

from graph.arrays import row_pointers, unique_pairs


def csr_from_pairs(rows: np.ndarray, cols: np.ndarray, num_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(indptr, indices)`` of the sets ``{cols[i] : rows[i] == r}``, duplicates removed."""
    r, c = unique_pairs(rows, cols, int(cols.max(initial=0)) + 1)
    return row_pointers(r, num_rows), c


def mask_known(scores: torch.Tensor, row_start: int, indptr: np.ndarray, indices: np.ndarray) -> None:
    """Sets ``scores[i, j] = -inf`` in place for every known pair of query ``row_start + i``."""
    stop = row_start + scores.shape[0]
    lo, hi = indptr[row_start], indptr[stop]
    if hi == lo:
        return
    counts = np.diff(indptr[row_start : stop + 1])
    local_rows = np.repeat(np.arange(scores.shape[0]), counts)
    scores[torch.from_numpy(local_rows), torch.from_numpy(indices[lo:hi])] = float("-inf")


def top_k(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns ``(values, indices)``, each ``[num_queries, k]``, best first; ties broken by lower index."""
    k = min(k, scores.shape[1])
    return torch.topk(scores, k, dim=1, sorted=True)


def ranking_metrics(
    predicted: np.ndarray, truth_indptr: np.ndarray, truth_indices: np.ndarray, queries: np.ndarray, k: int
) -> dict[str, float]:
    """Returns mean ``recall@k``, ``hits@k``, ``ndcg@k`` and ``precision@k`` over ``queries``.

    Args:
        predicted: ``[len(queries), >= k]`` item indices, best first (``-1`` for none).
        truth_indptr, truth_indices: the held-out items of every query row, as CSR.
        queries: the query row of each line of ``predicted``; rows with no held-out item are skipped.
    """
    predicted = predicted[:, :k]
    recalls, hits, ndcgs, precisions = [], [], [], []
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for line, q in enumerate(queries):
        truth = truth_indices[truth_indptr[q] : truth_indptr[q + 1]]
        if truth.size == 0:
            continue
        hit = np.isin(predicted[line], truth)
        n_hit = int(hit.sum())
        recalls.append(n_hit / truth.size)
        hits.append(float(n_hit > 0))
        precisions.append(n_hit / k)
        ideal = discounts[: min(truth.size, k)].sum()
        ndcgs.append(float((hit * discounts[: hit.size]).sum() / ideal))
    if not recalls:
        return {f"recall@{k}": 0.0, f"hits@{k}": 0.0, f"ndcg@{k}": 0.0, f"precision@{k}": 0.0, "evaluated": 0}
    return {
        f"recall@{k}": float(np.mean(recalls)),
        f"hits@{k}": float(np.mean(hits)),
        f"ndcg@{k}": float(np.mean(ndcgs)),
        f"precision@{k}": float(np.mean(precisions)),
        "evaluated": len(recalls),
    }


def gini(counts: np.ndarray) -> float:
    """Returns the Gini coefficient of ``counts`` (0: equal exposure, towards 1: all on one item)."""
    values = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = values.size, values.sum()
    if n == 0 or total == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * values).sum()) / (n * total) - (n + 1) / n)


def exposure_metrics(recommended: np.ndarray, num_items: int, popularity: np.ndarray) -> dict[str, float]:
    """Returns catalogue ``coverage``, exposure ``gini`` and ``top1pct_share`` of a set of recommendations.

    Args:
        recommended: item indices recommended (any shape; ``-1`` entries ignored).
        num_items: size of the catalogue.
        popularity: ``[num_items]`` interaction counts, which define the 1% most popular items.
    """
    items = recommended[recommended >= 0].ravel()
    if items.size == 0:
        return {"coverage": 0.0, "gini": 0.0, "top1pct_share": 0.0}
    exposure = np.bincount(items, minlength=num_items)
    n_top = max(1, int(np.ceil(0.01 * num_items)))
    top = np.argsort(-popularity, kind="stable")[:n_top]
    return {
        "coverage": float((exposure > 0).sum() / num_items),
        "gini": gini(exposure),
        "top1pct_share": float(np.isin(items, top).mean()),
    }
