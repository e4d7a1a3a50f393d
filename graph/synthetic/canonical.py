"""The generated tables as one value, and the writer of their canonical files (CSV or parquet)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

KINDS: tuple[str, ...] = (
    "users",
    "posts",
    "follows",
    "posted",
    "interacted",
    "reply_to",
    "post_tagged",
    "user_tagged",
)
"""Canonical table kinds written by :func:`write_canonical` (plus ``ground_truth``)."""

GROUND_TRUTH = "ground_truth"
FORMATS: tuple[str, ...] = ("csv", "parquet")


@dataclass(frozen=True)
class SyntheticGraph:
    """Generated tables plus ground truth; every id column holds plain ``str`` values.

    Attributes:
        users: ``id``, ``name``, ``bio``, ``opt_out`` (bool).
        posts: ``id``, ``text``, ``created_at`` (ISO-8601 UTC, ``...Z``), ``lang``.
        follows: ``src`` -> ``dst`` user ids, directed, no self-loops or duplicates.
        posted: ``src`` user id -> ``dst`` post id.
        interacted: ``src`` user id, ``dst`` post id, ``kind`` (like/repost/reply),
            ``weight`` (1, 2, 3) and ``at`` (ISO-8601 UTC, not before the post).
        reply_to: ``src`` reply post id -> ``dst`` the earlier post it answers.
        post_tagged: ``src`` post id -> ``dst`` tag name, ``weight``.
        user_tagged: ``src`` user id -> ``dst`` tag name, ``weight`` in (0, 1].
        communities: ground truth, one row per user: ``user``, ``community`` (int),
            ``topic`` (the community's primary topic) and ``secondary_topic``.
        post_topics: ground truth, one row per post: ``post`` id and the ``topic`` it was
            written on (its text's first sentence and its weight-1 tag).  Kept in memory only:
            the canonical files carry it as that tag already.
    """

    users: pd.DataFrame
    posts: pd.DataFrame
    follows: pd.DataFrame
    posted: pd.DataFrame
    interacted: pd.DataFrame
    reply_to: pd.DataFrame
    post_tagged: pd.DataFrame
    user_tagged: pd.DataFrame
    communities: pd.DataFrame
    post_topics: pd.DataFrame


def write_canonical(graph: SyntheticGraph, out_dir: Path, fmt: str = "csv") -> dict[str, Path]:
    """Write one ``<kind>.<fmt>`` file per table plus ``ground_truth.<fmt>``.

    CSV files have a header line, standard quoting for text and ``opt_out`` as
    ``true``/``false``; parquet keeps native dtypes.  Tag nodes have no file of
    their own: they are the tag names referenced by the tagged tables.

    Returns:
        Mapping from kind (``users`` ... ``user_tagged``, ``ground_truth``) to the written path.

    Raises:
        ValueError: when ``fmt`` is not ``csv`` or ``parquet``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = {kind: getattr(graph, kind) for kind in KINDS}
    tables[GROUND_TRUTH] = graph.communities
    paths: dict[str, Path] = {}
    for kind, frame in tables.items():
        path = out_dir / f"{kind}.{fmt}"
        if fmt == "csv":
            if kind == "users":
                # Neo4j's toBoolean and most loaders expect lowercase literals.
                frame = frame.assign(opt_out=np.where(frame["opt_out"].to_numpy(), "true", "false"))
            frame.to_csv(path, index=False, lineterminator="\n")
        else:
            frame.to_parquet(path, index=False)
        paths[kind] = path
        logger.debug("wrote %d rows to %s", len(frame), path)
    return paths
