"""The graph model: labels, relationship types, constraints and indexes.

Labels and relationship types are interpolated into Cypher only after passing
the allow-lists here, since Cypher cannot take them as parameters.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from graph.store import GraphStore

NODE_KEYS: dict[str, str] = {
    "User": "id",
    "Post": "id",
    "Tag": "name",
    "Community": "id",
    "JobRun": "id",
    "IngestCheckpoint": "key",
    "JobLock": "job",
    "WatchMark": "name",
}
"""Each node label and the property that identifies its nodes uniquely."""

RELATIONSHIP_TYPES: dict[str, tuple[str, str]] = {
    "FOLLOWS": ("User", "User"),
    "POSTED": ("User", "Post"),
    "INTERACTED": ("User", "Post"),
    "REPLY_TO": ("Post", "Post"),
    "TAGGED": ("Post|User", "Tag"),
    "SUGGESTED_FRIEND": ("User", "User"),
    "RECOMMENDED": ("User", "Post"),
    "IN_COMMUNITY": ("User", "Community"),
    "SUGGESTED_REPLY": ("Post", "Post"),
}
"""Each relationship type and the labels of its start and end nodes."""

CONSTRAINTS: list[str] = [
    f"CREATE CONSTRAINT {label.lower()}_{key}_unique IF NOT EXISTS FOR (n:{label}) REQUIRE n.{key} IS UNIQUE"
    for label, key in NODE_KEYS.items()
]

INDEXES: list[str] = [
    "CREATE INDEX jobrun_job_status IF NOT EXISTS FOR (r:JobRun) ON (r.job, r.status)",
    "CREATE INDEX community_run IF NOT EXISTS FOR (c:Community) ON (c.run_id)",
    "CREATE INDEX user_opt_out IF NOT EXISTS FOR (u:User) ON (u.opt_out)",
    "CREATE INDEX post_created_at IF NOT EXISTS FOR (p:Post) ON (p.created_at)",
    "CREATE INDEX post_changed_at IF NOT EXISTS FOR (p:Post) ON (p.changed_at)",
    "CREATE INDEX user_changed_at IF NOT EXISTS FOR (u:User) ON (u.changed_at)",
    "CREATE INDEX suggested_friend_run IF NOT EXISTS FOR ()-[r:SUGGESTED_FRIEND]-() ON (r.run_id)",
    "CREATE INDEX recommended_run IF NOT EXISTS FOR ()-[r:RECOMMENDED]-() ON (r.run_id)",
    "CREATE INDEX in_community_run IF NOT EXISTS FOR ()-[r:IN_COMMUNITY]-() ON (r.run_id)",
    "CREATE INDEX suggested_reply_run IF NOT EXISTS FOR ()-[r:SUGGESTED_REPLY]-() ON (r.run_id)",
]


class SchemaError(ValueError):
    """Raised when a label or relationship type is not in the allow-list."""


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def check_property(name: str) -> str:
    """Returns ``name`` unchanged if it is a plain property name (a letter or ``_``, then letters,
    digits or ``_``, at most 64 characters), the only form a property name may take in Cypher text.

    Raises:
        SchemaError: for anything else, e.g. ``a`) DETACH DELETE n //``.
    """
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise SchemaError(f"not a property name: {name!r} (letters, digits and _ only, not starting with a digit)")
    return name


def check_label(label: str) -> str:
    """Returns ``label`` unchanged if it is an allowed node label.

    Raises:
        SchemaError: when it is not one of :data:`NODE_KEYS`.
    """
    if label not in NODE_KEYS:
        raise SchemaError(f"unknown node label {label!r}; allowed: {', '.join(sorted(NODE_KEYS))}")
    return label


def check_relationship_type(rel_type: str) -> str:
    """Returns ``rel_type`` unchanged if it is an allowed relationship type.

    Raises:
        SchemaError: when it is not one of :data:`RELATIONSHIP_TYPES`.
    """
    if rel_type not in RELATIONSHIP_TYPES:
        raise SchemaError(f"unknown relationship type {rel_type!r}; allowed: {', '.join(sorted(RELATIONSHIP_TYPES))}")
    return rel_type


def ensure_schema(store: "GraphStore") -> None:
    """Creates every constraint and index (idempotent) and waits until they are online."""
    for statement in CONSTRAINTS + INDEXES:
        store.write(statement)
    store.write("CALL db.awaitIndexes(300)")


def existing_constraints(store: "GraphStore") -> set[tuple[str, str]]:
    """Returns the ``(label, property)`` pairs that carry a uniqueness constraint."""
    rows = store.read(
        "SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties "
        "WHERE type = 'UNIQUENESS' RETURN labelsOrTypes, properties"
    )
    return {(row["labelsOrTypes"][0], row["properties"][0]) for row in rows}
