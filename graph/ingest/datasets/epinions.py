"""Load plan for Epinions (Tang et al., "mTrust", WSDM 2012): who trusts whom, and who rated which product."""

from __future__ import annotations

from pathlib import Path

from graph.ingest.datasets.common import checkpoint_key, renamed, require_file
from graph.ingest.kinds import FOLLOWS, INTERACTED
from graph.ingest.readers import read_whitespace
from graph.ingest.steps import Step

EPINIONS = "epinions"


def epinions_steps(path: Path) -> list[Step]:
    """Returns the steps that load Epinions from its folder (``epinions_trust`` in the shared datasets).

    First FOLLOWS from ``trust.tsv.gz`` (``truster_id trustee_id``: the truster follows the
    trustee), then INTERACTED ``rating`` from ``ratings.tsv.gz`` (``user_id item_id category_id
    rating``, the rating as the weight); users and products (as Posts) are created as needed.

    Raises:
        InputError: naming the first missing file.
    """
    trust = require_file(path, "trust.tsv.gz")
    ratings = require_file(path, "ratings.tsv.gz")
    return [
        Step(
            FOLLOWS,
            lambda: renamed(read_whitespace(trust, ["src", "dst"], header=True), EPINIONS, {"src": "src", "dst": "dst"}),
            str(trust),
            checkpoint_key(EPINIONS, FOLLOWS.name, trust),
            create_src=True,
            create_dst=True,
        ),
        Step(
            INTERACTED,
            lambda: renamed(
                read_whitespace(ratings, ["src", "dst", "category", "weight"], header=True),
                EPINIONS,
                {"src": "src", "dst": "dst"},
                {"weight": "weight"},
                {"kind": "rating"},
            ),
            str(ratings),
            checkpoint_key(EPINIONS, INTERACTED.name, ratings),
            create_src=True,
            create_dst=True,
        ),
    ]
