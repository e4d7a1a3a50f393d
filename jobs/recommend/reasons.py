"""Human-readable reasons for recommended posts, computed in bulk over all (user, post) pairs.

In order of preference:

1. ``liked by N people you follow`` -- N followees interacted with the post;
2. ``similar to "<snippet>" you liked`` -- the user's interacted post closest to it by text
   embedding, when the cosine similarity is at least ``SIMILAR_AT``;
3. ``matches your profile`` -- for a user with no interaction (cold start through the profile);
4. ``popular with people like you`` -- otherwise (the collaborative signal alone).
"""

from __future__ import annotations

import numpy as np
import torch

from jobs.recommend.lightgcn import csr_rows

SIMILAR_AT = 0.5
SNIPPET = 40
PAIR_SLICE = 131_072


def pair_counts(users: np.ndarray, items: np.ndarray, follow_indptr: np.ndarray, follow_indices: np.ndarray,
                known_codes: np.ndarray, num_items: int) -> np.ndarray:
    """Returns ``[P]`` int64: for each pair ``(users[p], items[p])``, how many followees of the user know the item.

    ``known_codes`` is the sorted array of ``user * num_items + item`` codes of every interaction.
    """
    indptr, followees = csr_rows(follow_indptr, follow_indices, users)
    per_pair = np.diff(indptr)
    codes = followees * num_items + np.repeat(items, per_pair)
    pos = np.searchsorted(known_codes, codes).clip(max=max(known_codes.size - 1, 0))
    hit = known_codes[pos] == codes if known_codes.size else np.zeros(codes.size, dtype=bool)
    counts = np.zeros(users.size, dtype=np.int64)
    np.add.at(counts, np.repeat(np.arange(users.size), per_pair), hit.astype(np.int64))
    return counts


def nearest_known(users: np.ndarray, items: np.ndarray, known_indptr: np.ndarray, known_indices: np.ndarray,
                  item_x: torch.Tensor, has_text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(nearest [P] int64, similarity [P] float32)``: each pair's closest known item by text cosine.

    ``-1`` and ``-inf`` where the user knows no item with text or the item has none.
    """
    indptr, known = csr_rows(known_indptr, known_indices, users)
    per_pair = np.diff(indptr)
    owner = np.repeat(np.arange(users.size), per_pair)
    valid = has_text[known] & has_text[items[owner]]
    unit = torch.nn.functional.normalize(item_x, dim=1)
    sims = np.full(known.size, -np.inf, dtype=np.float32)
    # Slices bound the gathered vectors: a chunk of 2,048 LastFM users pairs 20 recommendations
    # with ~50 known items each, 2 million rows, 6 GB of 384-d float32 if gathered at once.
    rows = np.flatnonzero(valid)
    for lo in range(0, rows.size, PAIR_SLICE):
        part = rows[lo : lo + PAIR_SLICE]
        left = unit[torch.from_numpy(items[owner[part]])]
        right = unit[torch.from_numpy(known[part])]
        sims[part] = (left * right).sum(1).numpy()
    best = np.full(users.size, -np.inf, dtype=np.float32)
    np.maximum.at(best, owner, sims)
    nearest = np.full(users.size, -1, dtype=np.int64)
    is_best = (sims == best[owner]) & np.isfinite(sims)
    # The first known item reaching the maximum wins: reversed assignment keeps the earliest.
    nearest[owner[is_best][::-1]] = known[is_best][::-1]
    return nearest, best


def snippet(text: str | None, fallback: str) -> str:
    """Returns the first ``SNIPPET`` characters of ``text`` on one line (with an ellipsis), or ``fallback``."""
    if not text or not text.strip():
        return fallback
    flat = " ".join(text.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1].rstrip() + "…"


def reasons(followee_counts: np.ndarray, nearest: np.ndarray, similarity: np.ndarray, user_known: np.ndarray,
            snippets: dict[int, str]) -> list[str]:
    """Returns one reason per pair from the outputs of :func:`pair_counts` and :func:`nearest_known`.

    Args:
        user_known: ``[P]`` bool, whether the pair's user has any interaction.
        snippets: display text of every item index that appears in ``nearest``.
    """
    out = []
    for count, near, sim, known in zip(followee_counts.tolist(), nearest.tolist(), similarity.tolist(), user_known.tolist()):
        if count > 0:
            out.append(f"liked by {count} {'person' if count == 1 else 'people'} you follow")
        elif near >= 0 and sim >= SIMILAR_AT:
            out.append(f'similar to "{snippets[near]}" you liked')
        elif not known:
            out.append("matches your profile")
        else:
            out.append("popular with people like you")
    return out
