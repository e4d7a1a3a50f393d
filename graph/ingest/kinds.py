"""The canonical input: one file per node or relationship kind, and the fields of each.

A node file names its nodes by ``id`` (``name`` for tags); a relationship file
names its endpoints by ``src`` and ``dst`` and carries the relationship's
properties as further columns.  The README documents the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FieldType(Enum):
    """How a raw string is parsed and checked."""

    ID = "id"
    STRING = "string"
    TEXT = "text"
    BOOL = "bool"
    WEIGHT = "weight"
    INT = "int"
    DATETIME = "datetime"


@dataclass(frozen=True)
class Field:
    """A column of a canonical file: its name, type and whether it must be present."""

    name: str
    type: FieldType
    required: bool = False


@dataclass(frozen=True)
class NodeKind:
    """A node file: the label it loads and its fields; ``key`` identifies a node."""

    name: str
    label: str
    key: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class RelKind:
    """A relationship file.

    Attributes:
        name: the kind's name on the command line.
        rel_type: the relationship type it loads.
        src_label / dst_label: labels of the endpoints, found by their key property.
        fields: the relationship's property columns (``src`` and ``dst`` are implied).
        merge_on: property that distinguishes parallel relationships (e.g. ``kind``).
        self_loops: whether ``src == dst`` is allowed.
        create_dst: whether a missing end node is created (tags are named, not declared).
    """

    name: str
    rel_type: str
    src_label: str
    dst_label: str
    fields: tuple[Field, ...] = ()
    merge_on: str | None = None
    self_loops: bool = False
    create_dst: bool = False


T = FieldType
USERS = NodeKind(
    "users",
    "User",
    "id",
    (
        Field("id", T.ID, True),
        Field("name", T.STRING),
        Field("bio", T.TEXT),
        Field("opt_out", T.BOOL),
        Field("community", T.INT),
    ),
)
POSTS = NodeKind(
    "posts",
    "Post",
    "id",
    (
        Field("id", T.ID, True),
        Field("text", T.TEXT, True),
        Field("created_at", T.DATETIME),
        Field("lang", T.STRING),
        Field("stance", T.STRING),
        Field("thread", T.STRING),
    ),
)
TAGS = NodeKind("tags", "Tag", "name", (Field("name", T.ID, True),))

FOLLOWS = RelKind("follows", "FOLLOWS", "User", "User")
POSTED = RelKind("posted", "POSTED", "User", "Post")
INTERACTED = RelKind(
    "interacted",
    "INTERACTED",
    "User",
    "Post",
    (Field("kind", T.STRING), Field("weight", T.WEIGHT), Field("at", T.DATETIME)),
    merge_on="kind",
)
REPLY_TO = RelKind("reply_to", "REPLY_TO", "Post", "Post")
POST_TAGGED = RelKind("post_tagged", "TAGGED", "Post", "Tag", (Field("weight", T.WEIGHT),), create_dst=True)
USER_TAGGED = RelKind("user_tagged", "TAGGED", "User", "Tag", (Field("weight", T.WEIGHT),), create_dst=True)

NODE_KINDS: dict[str, NodeKind] = {k.name: k for k in (USERS, POSTS, TAGS)}
REL_KINDS: dict[str, RelKind] = {
    k.name: k for k in (FOLLOWS, POSTED, INTERACTED, REPLY_TO, POST_TAGGED, USER_TAGGED)
}
MAX_TEXT_CHARS = 20_000
"""Longest accepted text or string; longer values are rejected rather than truncated silently."""
MAX_ID_CHARS = 1_000
"""Longest accepted id: at most 4,000 bytes of UTF-8, well inside what Neo4j can index (about
8 KiB a key, beyond which the whole batch's transaction fails)."""


def kind_columns(kind: NodeKind | RelKind) -> list[str]:
    """Returns the column names a canonical file of ``kind`` may have, in canonical order."""
    if isinstance(kind, NodeKind):
        return [f.name for f in kind.fields]
    return ["src", "dst", *(f.name for f in kind.fields)]
