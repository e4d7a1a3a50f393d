"""The friends job: train the link predictor, rank candidates, publish ``SUGGESTED_FRIEND`` with reasons.

Writes ``(:User)-[:SUGGESTED_FRIEND {score, rank, reason, mutual_friends, run_id}]->(:User)``
for the top ``k`` of every user who has not opted out.  Metrics report the scorer's
weights, how many users got suggestions (coverage of users), the share of suggested
people in the 1% most-followed (popularity bias) and the Gini coefficient of how often
each person is suggested.  Before publishing, the run it supersedes gets its acceptance
figures (:mod:`jobs.common.feedback`); that run's ignored suggestions were this run's hard negatives.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from graph.store import GraphStore
from graph.writeback import RunWriter
from jobs.friends.features import FEATURES
from jobs.friends.model import FriendsConfig, fit_friend_scorer, reasons, suggest_friends
from jobs.common.feedback import ignored_friend_suggestions, record_acceptance
from jobs.common.interests import read_interests
from jobs.common.outputs import JobOutputs, RelationshipOutput
from jobs.common.ranking import exposure_metrics
from jobs.common.runtime import seed_everything
from jobs.gnn.social import SocialGraph

log = logging.getLogger(__name__)

OUTPUTS = JobOutputs(
    "friends",
    relationships=(
        RelationshipOutput(
            "SUGGESTED_FRIEND", "User", "User", ("score", "rank", "reason", "mutual_friends", "run_id"), suggestion=True
        ),
    ),
)
"""What the friends job writes."""


def run_friends(
    store: GraphStore,
    graph: SocialGraph,
    config: FriendsConfig,
    seed: int,
    device: torch.device,
    on_epoch: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Suggests friends for every user of ``graph`` and publishes them as one run of the ``friends`` job.

    Returns:
        ``{"run_id": …, "metrics": {…}}``.
    """
    params = {"seed": seed, **dataclasses.asdict(config)}
    started = time.perf_counter()
    with RunWriter(store, OUTPUTS.job, params, relationships=OUTPUTS.relationship_types) as run:
        if graph.friendships.shape[1] < 10:
            raise ValueError("the graph has fewer than 10 friendships; the friends job needs FOLLOWS to learn from")
        ignored = ignored_friend_suggestions(store, graph.users)
        generator = seed_everything(seed)
        scorer = fit_friend_scorer(graph, graph.friendships, config, generator, device, on_epoch, ignored)
        found = suggest_friends(graph, graph.friendships, scorer, config)
        why = reasons(found, read_interests(store, graph.users))
        ids = graph.users.ids
        run.write_relationships(
            "SUGGESTED_FRIEND",
            "User",
            "User",
            (
                {
                    "src": ids[u],
                    "dst": ids[v],
                    "props": {"score": round(float(s), 5), "rank": int(r), "reason": reason, "mutual_friends": int(m)},
                }
                for u, v, r, s, m, reason in zip(found.src, found.dst, found.rank, found.score, found.mutual, why)
            ),
        )
        degree = np.bincount(graph.friendships.numpy().ravel(), minlength=graph.num_users)
        exposure = exposure_metrics(found.dst, graph.num_users, degree)
        metrics: dict[str, Any] = {
            "suggestions": int(len(found.src)),
            "users_served": int(len(np.unique(found.src))),
            "user_coverage": round(len(np.unique(found.src)) / max(int((~graph.opt_out).sum()), 1), 4),
            "suggested_people_share": round(exposure["coverage"], 4),
            "exposure_gini": round(exposure["gini"], 4),
            "top1pct_popular_share": round(exposure["top1pct_share"], 4),
            "weights": {name: round(float(w), 4) for name, w in zip(FEATURES, scorer.weights)},
            **{f"held_out_{name.replace('@', '_at_')}": round(value, 4) for name, value in scorer.calibration.items()},
            "hard_negatives": int(ignored.shape[1]),
            "seconds": round(time.perf_counter() - started, 2),
        }
        record_acceptance(store, "friends")
        run.publish(metrics)
    log.info("friends: %s", metrics)
    return {"run_id": run.run_id, "metrics": metrics}
