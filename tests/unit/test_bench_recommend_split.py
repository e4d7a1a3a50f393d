"""bench.recommend's --interactions split must hold out what `evaluate recommend --interactions` holds out."""

from pathlib import Path

import numpy as np

from bench.recommend import evaluate, read_split
from jobs.recommend.evaluate import split_pairs


def test_the_split_matches_the_evaluation_and_counts_unseen_items_as_misses(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    rows = sorted({(f"u{rng.integers(40)}", f"i{rng.integers(60)}") for _ in range(400)})
    # Items and users seen once: some land only in the held-out fifth.
    rows += [(f"u{n % 40}", f"rare{n}") for n in range(40)] + [(f"new{n}", f"i{n}") for n in range(40)]
    path = tmp_path / "pairs.tsv"
    path.write_text("user\titem\tweight\n" + "".join(f"{u}\t{i}\t1\n" for u, i in rows))
    users = np.asarray([u for u, _ in rows], dtype=object)
    items = np.asarray([i for _, i in rows], dtype=object)
    held = split_pairs(users, items, seed=0)

    data, test_users, test_items = read_split(path, seed=0)

    assert data.users.size == int((~held).sum())
    train_items = set(items[~held])
    train_users = set(users[~held])
    kept = np.asarray([u in train_users for u in users[held]])
    assert test_users.size == int(kept.sum()) and not kept.all()
    unseen = np.asarray([i not in train_items for i in items[held][kept]])
    assert unseen.any(), "the fixture should hold out some items that training never sees"
    assert (test_items[unseen] >= data.num_items).all() and (test_items[~unseen] < data.num_items).all()
    # A held-out pair maps back to its own user and item ids.
    user_ids, item_ids = np.unique(users[~held]), np.unique(items[~held])
    seen_pairs = set(zip(users[held][kept][~unseen], items[held][kept][~unseen]))
    assert set(zip(user_ids[test_users[~unseen]], item_ids[test_items[~unseen]])) == seen_pairs
    popularity = evaluate(None, data, test_users, test_items)
    assert 0 < popularity["recall@20"] < 1
