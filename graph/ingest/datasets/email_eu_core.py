"""Load plan for SNAP email-Eu-core: users with their department (the ground truth) and who emailed whom."""

from __future__ import annotations

from pathlib import Path

from graph.ingest.datasets.common import checkpoint_key, renamed, require_file
from graph.ingest.kinds import FOLLOWS, USERS
from graph.ingest.readers import read_whitespace
from graph.ingest.steps import Step

EMAIL_EU_CORE = "email-eu-core"


def email_eu_core_steps(path: Path) -> list[Step]:
    """Returns the steps that load SNAP email-Eu-core from its folder.

    First Users from ``email-Eu-core-department-labels.txt`` with ``community`` =
    department id (the ground truth), then FOLLOWS from ``email-Eu-core.txt``
    (src emailed dst), creating users as needed.  The 642 self-loops of the edge
    list are rejected by validation, since FOLLOWS forbids self-loops.

    Raises:
        InputError: naming the first missing file.
    """
    labels = require_file(path, "email-Eu-core-department-labels.txt")
    edges = require_file(path, "email-Eu-core.txt")
    return [
        Step(
            USERS,
            lambda: renamed(
                read_whitespace(labels, ["id", "community"], header=False),
                EMAIL_EU_CORE,
                {"id": "id"},
                {"community": "community"},
            ),
            str(labels),
            checkpoint_key(EMAIL_EU_CORE, USERS.name, labels),
        ),
        Step(
            FOLLOWS,
            lambda: renamed(read_whitespace(edges, ["src", "dst"], header=False), EMAIL_EU_CORE, {"src": "src", "dst": "dst"}),
            str(edges),
            checkpoint_key(EMAIL_EU_CORE, FOLLOWS.name, edges),
            create_src=True,
            create_dst=True,
        ),
    ]
