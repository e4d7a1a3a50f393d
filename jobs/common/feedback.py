"""The feedback loop: how the published suggestions fared, and what the next training learns from it.

A suggestion is *accepted* when its pair is connected afterwards: a suggested friend is now
followed (``FOLLOWS`` from the user to the suggestion), a recommended post now has the user's
``INTERACTED``.  Because the jobs never suggest pairs that were already connected, every such
connection appeared after the run.  ``python -m jobs evaluate --online`` measures the current
run of each job and stores the figures in that run's ``metrics.online`` (and, for Cypher, which
cannot parse JSON, as ``online_shown`` and ``online_accepted`` on the ``JobRun``); each job also measures
the run it is about to supersede before publishing, so the figures survive as run history
after the superseded results are deleted.

Suggestions that were shown and not accepted become *hard negatives* of the next friends
training (:func:`ignored_friend_suggestions`): pairs the model ranked high that people passed on.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import torch

from graph.config import Settings
from graph.snapshot import IdMap
from graph.store import GraphStore

log = logging.getLogger(__name__)

ACCEPTANCE = {
    "friends": (
        "MATCH (run:JobRun {job: 'friends', current: true}) "
        "MATCH (a:User)-[s:SUGGESTED_FRIEND {run_id: run.id}]->(b:User) "
        "RETURN run.id AS run_id, count(s) AS shown, count(CASE WHEN exists((a)-[:FOLLOWS]->(b)) THEN 1 END) AS accepted"
    ),
    "recommend": (
        "MATCH (run:JobRun {job: 'recommend', current: true}) "
        "MATCH (u:User)-[r:RECOMMENDED {run_id: run.id}]->(p:Post) "
        "RETURN run.id AS run_id, count(r) AS shown, count(CASE WHEN exists((u)-[:INTERACTED]->(p)) THEN 1 END) AS accepted"
    ),
}
CURRENT_FRIEND_SUGGESTIONS = (
    "MATCH (run:JobRun {job: 'friends', current: true}) "
    "MATCH (a:User)-[s:SUGGESTED_FRIEND {run_id: run.id}]->(b:User) "
    "RETURN collect(a.id) AS src, collect(b.id) AS dst, collect(exists((a)-[:FOLLOWS]-(b))) AS accepted"
)


def record_acceptance(store: GraphStore, job: str) -> dict[str, Any] | None:
    """Measures the current run of ``job`` and stores ``{shown, accepted, rate}`` in its ``metrics.online``
    (also as the ``online_shown`` and ``online_accepted`` properties of the ``JobRun``).

    Returns:
        The figures with the run id, or None when the job has no current run with suggestions.
    """
    rows = store.read(ACCEPTANCE[job])
    if not rows or not rows[0]["shown"]:
        return None
    row = rows[0]
    online = {"shown": row["shown"], "accepted": row["accepted"], "rate": round(row["accepted"] / row["shown"], 6)}
    stored = store.read("MATCH (r:JobRun {id: $id}) RETURN r.metrics AS m", {"id": row["run_id"]})[0]["m"]
    metrics = json.loads(stored) if stored else {}
    metrics["online"] = online
    store.write(
        "MATCH (r:JobRun {id: $id}) SET r.metrics = $metrics, r.online_shown = $shown, "
        "r.online_accepted = $accepted, r.online_measured_at = datetime()",
        {"id": row["run_id"], "metrics": json.dumps(metrics, sort_keys=True), "shown": row["shown"], "accepted": row["accepted"]},
    )
    log.info("%s run %s: %d of %d suggestions accepted", job, row["run_id"], row["accepted"], row["shown"])
    return {"job": job, "run_id": row["run_id"], **online}


def ignored_friend_suggestions(store: GraphStore, users: IdMap) -> torch.Tensor:
    """Returns ``[2, H]`` user rows of current friend suggestions that did not become a friendship,
    or none (``[2, 0]``) when not one of them did.

    Without a single acceptance there is no sign that the suggestions reached anyone, and taking
    them all as rejections would teach every rerun to avoid the previous run's best guesses: a
    plain rerun of the friends job on LastFM took all 37,840 earlier suggestions as negatives and
    its exposure Gini rose from 0.516 to 0.623.
    """
    record = store.read(CURRENT_FRIEND_SUGGESTIONS)[0]
    accepted = np.asarray(record["accepted"], dtype=bool)
    if not accepted.any():
        return torch.zeros((2, 0), dtype=torch.long)
    src, dst = users.to_index(record["src"]), users.to_index(record["dst"])
    keep = (src >= 0) & (dst >= 0) & ~accepted
    return torch.from_numpy(np.stack([src[keep], dst[keep]]))


def run_online_evaluation(settings: Settings, online: bool) -> int:
    """Measures every job's current run and prints one JSON object as the last line.

    Returns:
        0, or 2 when neither ``--online`` nor a target was given.
    """
    if not online:
        log.error("give --online, or a target: evaluate {communities,friends,recommend,sentiment,emotion,reply} …")
        return 2
    with GraphStore.from_settings(settings) as store:
        results = {job: record_acceptance(store, job) for job in ACCEPTANCE}
    for job, figures in results.items():
        if figures is None:
            print(f"{job}: no published run with suggestions")
        else:
            print(f"{job}: run {figures['run_id']}: {figures['accepted']:,d} of {figures['shown']:,d} accepted ({figures['rate']:.2%})")
    print(json.dumps(results, sort_keys=True))
    return 0
