"""Change stamps: how the watch service (:mod:`jobs.watch`) finds what changed in the graph.

Neo4j Community has no change data capture, so changes are stamped by whoever writes them.
**The contract**, which sociograph's loader keeps and any other writer must keep too:

- a writer that creates or changes a ``Post`` or a ``User`` sets ``changed_at = datetime()`` on it
  in the same transaction;
- a writer that creates or removes a relationship from a ``User`` or a ``Post`` (``FOLLOWS``,
  ``INTERACTED``, ``POSTED``, ``TAGGED``) sets ``changed_at = datetime()`` on its start node;
- opting out is a change like any other: ``SET u.opt_out = true, u.changed_at = datetime()``;
- deleting a person or a post is ``DETACH DELETE``, which takes every relationship the jobs
  derived from them (suggestions to and from them, memberships, recommendations, reply drafts)
  with the node in the same transaction, so there is nothing left for the service to find.

``changed_at`` has a range index per label, so finding the changes of the last seconds reads only
them.  The service records each node it served with ``watch_seen`` set to the stamp it read, so a
node stamped again while it was being served is served again, and a node served already is not.

A stamp is the time its statement ran, not the time its transaction committed: a transaction that
commits ``t`` seconds after stamping shows the service stamps up to ``t`` seconds old.  The service
therefore reads every unserved stamp from :data:`GRACE_S` before its high-water mark on; a
writer whose transactions stay open longer than that must stamp last, just before committing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graph.schema import check_label
from graph.store import GraphStore

NEW_POST = (
    "MATCH (u:User {id: $author}) MERGE (p:Post {id: $id}) "
    "SET p.text = $text, p.created_at = coalesce(p.created_at, datetime()), p.changed_at = datetime() "
    "MERGE (u)-[:POSTED]->(p) SET u.changed_at = datetime()"
)
NEW_USER = (
    "MERGE (u:User {id: $id}) SET u.name = coalesce(u.name, $id), u.bio = $bio, u.changed_at = datetime() "
    "WITH u UNWIND $follows AS followed MATCH (v:User {id: followed}) MERGE (u)-[:FOLLOWS]->(v)"
)
NEW_LIKE = (
    "MATCH (u:User {id: $user}), (p:Post {id: $post}) MERGE (u)-[r:INTERACTED {kind: 'like'}]->(p) "
    "SET r.weight = 1.0, u.changed_at = datetime()"
)
OPT_OUT = "MATCH (u:User {id: $user}) SET u.opt_out = true, u.changed_at = datetime()"
"""The contract as a platform keeps it: a new post (``$author``, ``$id``, ``$text``), a new person
(``$id``, ``$bio``, ``$follows``), a like (``$user``, ``$post``) and an opt-out (``$user``), each one
statement in its own transaction.  The demo, the freshness benchmark and the tests write with these."""

STAMP = "changed_at"
"""The property every writer sets on the nodes it changes."""
SEEN = "watch_seen"
"""The property the watch service sets to the stamp it served."""
WATCHED_LABELS = ("Post", "User")
"""The labels whose changes are stamped and served."""
GRACE_S = 30.0
"""How far before its high-water mark the service looks for stamps that committed late."""


@dataclass(frozen=True)
class Change:
    """One stamped node: its key and the stamp the service read."""

    key: str
    stamp: Any


def _label(label: str) -> str:
    label = check_label(label)
    if label not in WATCHED_LABELS:
        raise ValueError(f"{label} nodes carry no change stamp; stamped: {', '.join(WATCHED_LABELS)}")
    return label


def unseen_changes(store: GraphStore, label: str, since: datetime | None, limit: int) -> list[Change]:
    """Returns up to ``limit`` nodes of ``label`` stamped after ``since`` minus :data:`GRACE_S`
    (every stamped node when ``since`` is None) and not yet served at that stamp, oldest first."""
    rows = store.read(
        f"MATCH (n:{_label(label)}) WHERE n.{STAMP} > coalesce($since, datetime('1970-01-01T00:00Z')) "
        f"- duration({{milliseconds: $grace}}) AND (n.{SEEN} IS NULL OR n.{SEEN} < n.{STAMP}) "
        f"RETURN n.id AS key, n.{STAMP} AS stamp ORDER BY stamp LIMIT $limit",
        {"since": since, "grace": int(GRACE_S * 1000), "limit": limit},
    )
    return [Change(row["key"], row["stamp"]) for row in rows]


def mark_seen(store: GraphStore, label: str, changes: list[Change]) -> None:
    """Records that ``changes`` were served at the stamps they were read with."""
    if changes:
        store.write(
            f"UNWIND $rows AS row MATCH (n:{_label(label)} {{id: row.key}}) SET n.{SEEN} = row.stamp",
            {"rows": [{"key": c.key, "stamp": c.stamp} for c in changes]},
        )


@dataclass(frozen=True)
class Lag:
    """What the service has not served yet: how many nodes, and the stamp of the oldest (None when none)."""

    count: int
    oldest: Any

    def age_s(self, now: datetime) -> float:
        """Returns the age in seconds of the oldest unserved change at ``now`` (0 when none)."""
        if self.oldest is None:
            return 0.0
        return max(0.0, (now - self.oldest.to_native()).total_seconds())


def lag(store: GraphStore, since: datetime | None) -> Lag:
    """Returns the unserved changes of every watched label since ``since`` (less :data:`GRACE_S`)."""
    count, oldest = 0, None
    for label in WATCHED_LABELS:
        row = store.read(
            f"MATCH (n:{_label(label)}) WHERE n.{STAMP} > coalesce($since, datetime('1970-01-01T00:00Z')) "
            f"- duration({{milliseconds: $grace}}) AND (n.{SEEN} IS NULL OR n.{SEEN} < n.{STAMP}) "
            f"RETURN count(n) AS n, min(n.{STAMP}) AS oldest",
            {"since": since, "grace": int(GRACE_S * 1000)},
        )[0]
        count += row["n"]
        if row["oldest"] is not None and (oldest is None or row["oldest"] < oldest):
            oldest = row["oldest"]
    return Lag(count, oldest)


MARK = "watch"
"""The name of the service's ``WatchMark`` node."""


def read_mark(store: GraphStore) -> dict[str, Any] | None:
    """Returns the service's ``WatchMark`` properties (``since``: its high-water mark, and its last
    reported lag and heartbeat), or None before its first start."""
    rows = store.read("MATCH (m:WatchMark {name: $name}) RETURN properties(m) AS mark", {"name": MARK})
    return rows[0]["mark"] if rows else None


def save_mark(store: GraphStore, since: Any, lag_now: Lag, served: int) -> None:
    """Moves the high-water mark to ``since`` (never back) and records the lag and ``served`` (a running count)."""
    store.write(
        "MERGE (m:WatchMark {name: $name}) "
        "SET m.since = CASE WHEN m.since IS NULL OR $since > m.since THEN $since ELSE m.since END, "
        "m.lag = $lag, m.oldest_unserved = $oldest, m.served = coalesce(m.served, 0) + $served, m.heartbeat = datetime()",
        {"name": MARK, "since": since, "lag": lag_now.count, "oldest": lag_now.oldest, "served": served},
    )
