"""A new post's audience: the people whose recommendation lists it enters, with no retraining.

The candidates are the :attr:`graph.config.WatchSettings.audience` people whose profile vectors are
nearest the post's, from the ``user_embedding`` vector index.  Each is scored with the recommend
job's own score of a post nobody has interacted with (:mod:`jobs.watch.profiles`), and the post
enters the current list of everyone whose list is not full or whose lowest score it beats; their
lists keep the ``k`` best (:func:`jobs.watch.lists.merge_rows`).  The author, people who already
interacted with it, and posts whose author opted out are left out, as the batch job leaves them out.
"""

from __future__ import annotations

import logging

import numpy as np

from graph.store import GraphStore
from jobs.watch.lists import PublishedRun, listed, merge_rows
from jobs.watch.profiles import ProfileCache, unit

log = logging.getLogger(__name__)

CANDIDATES = (
    "UNWIND $ids AS id MATCH (p:Post {id: id}) WHERE p.embedding IS NOT NULL "
    "AND NOT EXISTS { (:User {opt_out: true})-[:POSTED]->(p) } "
    "CALL db.index.vector.queryNodes('user_embedding', $audience, p.embedding) YIELD node AS u "
    "WHERE NOT (u)-[:POSTED]->(p) AND NOT (u)-[:INTERACTED]->(p) "
    "RETURN id, p.embedding AS vector, [(p)-[:TAGGED]->(g:Tag) | g.name] AS tags, collect(u.id) AS users"
)


def place_posts(store: GraphStore, posts: list[str], audience: int, cache: ProfileCache) -> int:
    """Puts each of ``posts`` (with vectors) into the recommendation lists it earns in the recommend job's current run.

    Returns:
        How many list entries were written (0 when the job has no current run).
    """
    run = PublishedRun.read(store, "recommend")
    if run is None or not posts:
        return 0
    keys, values = store.read_columns(CANDIDATES, {"ids": posts, "audience": audience})
    found = [dict(zip(keys, row)) for row in values]
    people = sorted({u for row in found for u in row["users"]})
    profiles = cache.of(store, people)
    lists = listed(store, "RECOMMENDED", run, people)
    text_weight = float(run.metrics.get("fusion_text", 0.0))
    rows = []
    for row in found:
        post = unit(np.asarray(row["vector"], dtype=np.float32))
        for person in row["users"]:
            profile = profiles.get(person)
            if profile is None or profile.vector is None:
                continue
            score = profile.score(post, text_weight)
            current = lists.get(person)
            if current is None or current["n"] < run.k or score > current["lowest"]:
                rows.append({"src": person, "dst": row["id"], "props": {"score": score, "reason": profile.reason(post, row["tags"])}})
    merge_rows(store, "RECOMMENDED", run, rows)
    log.debug("placed %d new posts in %d lists", len(posts), len(rows))
    return len(rows)
