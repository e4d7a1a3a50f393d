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


def ragged_top(indptr: np.ndarray, values: np.ndarray, m: int, budget: int = 2**24) -> np.ndarray:
    """Returns ``[R, min(m, longest row)]`` int64: the positions in ``values`` of the ``m`` largest
    entries of each of the ``R`` rows ``values[indptr[r]:indptr[r + 1]]``, best first, ``-1`` where a
    row has fewer.

    Rows are grouped by length within a factor of two and padded to a dense block of at most
    ``budget`` entries, so that one ``torch.topk`` serves many rows while padding at most doubles
    the work, whether a row holds ten entries or a hundred thousand.

    Args:
        indptr: ``[R + 1]`` row pointers.
        values: ``[nnz]`` float32 scores.
        m: entries kept per row.
        budget: entries of one padded block.
    """
    lengths = np.diff(indptr)
    out = np.full((lengths.size, min(m, int(lengths.max(initial=0)))), -1, dtype=np.int64)
    scores = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    size_class = np.ceil(np.log2(np.maximum(lengths, 1))).astype(np.int64)
    order = np.argsort(size_class, kind="stable")
    bounds = np.searchsorted(size_class[order], np.arange(size_class.max(initial=0) + 2))
    for low, high in zip(bounds[:-1], bounds[1:]):
        width = int(lengths[order[low:high]].max(initial=0))
        if width == 0:
            continue
        step = max(1, budget // width)
        for start in range(low, high, step):
            rows = order[start : min(start + step, high)]
            out[rows, : min(m, width)] = _block_top(indptr[rows], lengths[rows], width, scores, m)
    return out


def _block_top(starts: np.ndarray, lengths: np.ndarray, width: int, scores: torch.Tensor, m: int) -> np.ndarray:
    """Returns ``[n, min(m, width)]`` positions of the top entries of ``n`` rows padded to ``width``, ``-1`` for none."""
    offsets = torch.arange(width)
    valid = offsets[None, :] < torch.from_numpy(lengths)[:, None]
    positions = torch.from_numpy(starts)[:, None] + offsets[None, :]
    padded = torch.where(valid, scores[positions.clamp(max=scores.numel() - 1)], float("-inf"))
    _, best = torch.topk(padded, min(m, width), dim=1)
    chosen = positions.gather(1, best)
    chosen[~valid.gather(1, best)] = -1
    return chosen.numpy()


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
