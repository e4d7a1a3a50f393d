"""Friend suggestions and recommendations for people the batch runs have not served yet, by fold-in.

A person whose list in a job's current run holds no batch row (someone who joined since, or whom
the run had nothing on) gets one from what the graph holds about them now, with no retraining:

- **Friends.** Candidates are the people followed by the people they follow, weighted as
  Adamic-Adar weights them (each shared followee ``w`` adds ``1 / log(2 + degree(w))``), and the
  :attr:`graph.config.WatchSettings.audience` people nearest their profile vector in the
  ``user_embedding`` index.  The score is the Adamic-Adar sum plus the profile cosine (where
  positive); the reason names the mutual friends and shared interests as the friends job does.
  People they follow, themselves and people who opted out are left out.
- **Recommendations.** A person with no batch list is one the collaborative filter does not
  know, and the recommend job ranks such a person by text alone (:mod:`jobs.watch.profiles`):
  the posts nearest their profile in the ``post_embedding`` index, less their own, those they
  interacted with and those of authors who opted out.

People with a batch list keep it until the next run: read-time guards in the catalogue queries
already hide a person they followed or a post they liked since.
"""

from __future__ import annotations

import logging

from graph.store import GraphStore
from jobs.watch.lists import PublishedRun, listed, merge_rows, renumber
from jobs.watch.profiles import ProfileCache

log = logging.getLogger(__name__)

FRIEND_CANDIDATES = (
    "UNWIND $ids AS id MATCH (u:User {id: id}) "
    "CALL (u) { "
    "  MATCH (u)-[:FOLLOWS]->(w:User) WITH u, w, 1.0 / log(2.0 + COUNT { (w)-[:FOLLOWS]-() }) AS weight "
    "  MATCH (w)-[:FOLLOWS]->(v:User) WHERE v <> u AND NOT (u)-[:FOLLOWS]->(v) AND NOT coalesce(v.opt_out, false) "
    "  RETURN v.id AS other, count(DISTINCT w) AS mutual, sum(weight) AS adamic_adar, 0.0 AS cosine "
    "  ORDER BY adamic_adar DESC LIMIT $audience "
    "  UNION "
    "  WITH u WHERE u.embedding IS NOT NULL "
    "  CALL db.index.vector.queryNodes('user_embedding', $audience + 1, u.embedding) YIELD node AS v, score "
    "  WITH u, v, score WHERE v <> u AND NOT (u)-[:FOLLOWS]->(v) AND NOT coalesce(v.opt_out, false) "
    "  RETURN v.id AS other, COUNT { (u)-[:FOLLOWS]->(:User)-[:FOLLOWS]->(v) } AS mutual, 0.0 AS adamic_adar, "
    "  2 * score - 1 AS cosine "
    "} "
    "RETURN id, other, max(mutual) AS mutual, sum(adamic_adar) AS adamic_adar, sum(cosine) AS cosine"
)
# The vector index scores cosine similarity as (1 + cos) / 2; the union holds each candidate at most
# once per branch, so summing per branch restores each part.
SHARED_TAGS = (
    "UNWIND $pairs AS pair MATCH (u:User {id: pair.src})-[:TAGGED]->(g:Tag)<-[:TAGGED]-(v:User {id: pair.dst}) "
    "RETURN pair.src AS src, pair.dst AS dst, collect(g.name)[..3] AS tags"
)
POST_CANDIDATES = (
    "UNWIND $rows AS row MATCH (u:User {id: row.id}) "
    "CALL db.index.vector.queryNodes('post_embedding', $wanted, row.vector) YIELD node AS p, score "
    "WITH u, row, p, score WHERE NOT (u)-[:POSTED]->(p) AND NOT (u)-[:INTERACTED]->(p) "
    "AND NOT EXISTS { (:User {opt_out: true})-[:POSTED]->(p) } "
    "RETURN row.id AS id, p.id AS post, 2 * score - 1 AS cosine, [(p)-[:TAGGED]->(g:Tag) | g.name] AS tags"
)


def unserved(store: GraphStore, job: str, rel_type: str, users: list[str]) -> tuple[PublishedRun | None, list[str]]:
    """Returns ``job``'s current run (None when it has none) and those of ``users`` whose list in it
    holds no row of a batch run (none without a run)."""
    run = PublishedRun.read(store, job)
    if run is None or not users:
        return run, []
    lists = listed(store, rel_type, run, users)
    return run, [u for u in users if not (u in lists and lists[u]["batch"])]


def _friend_reason(mutual: int, tags: list[str], cosine: float) -> str:
    parts = [f"{mutual} mutual friend{'s' if mutual != 1 else ''}"] if mutual else []
    if tags:
        parts.append("shared interests: " + ", ".join(tags))
    elif cosine >= 0.5:
        parts.append(f"profiles alike (similarity {cosine:.2f})")
    return " · ".join(parts) or "close to you in the network"


def suggest_friends(store: GraphStore, users: list[str], audience: int) -> int:
    """Writes fold-in friend suggestions for those of ``users`` the friends job's current run did not serve.

    Returns:
        How many suggestions were written.
    """
    run, todo = unserved(store, "friends", "SUGGESTED_FRIEND", users)
    if run is None or not todo:
        return 0
    by_user: dict[str, list[dict]] = {}
    for row in store.read(FRIEND_CANDIDATES, {"ids": todo, "audience": audience}):
        score = float(row["adamic_adar"]) + max(float(row["cosine"]), 0.0)
        if score > 0:
            by_user.setdefault(row["id"], []).append({**row, "score": score})
    chosen = [
        (u, c) for u, candidates in by_user.items()
        for c in sorted(candidates, key=lambda c: (-c["score"], c["other"]))[: run.k]
    ]
    tags = {
        (r["src"], r["dst"]): r["tags"]
        for r in store.read(SHARED_TAGS, {"pairs": [{"src": u, "dst": c["other"]} for u, c in chosen]})
    }
    rows = [
        {"src": u, "dst": c["other"], "props": {
            "score": round(c["score"], 5), "mutual_friends": int(c["mutual"]),
            "reason": _friend_reason(int(c["mutual"]), tags.get((u, c["other"]), []), float(c["cosine"])),
        }}
        for u, c in chosen
    ]
    merge_rows(store, "SUGGESTED_FRIEND", run, rows, replace=todo)
    return len(rows)


def recommend_posts(store: GraphStore, users: list[str], cache: ProfileCache) -> int:
    """Writes text-ranked recommendations for those of ``users`` the recommend job's current run did not serve.

    Returns:
        How many recommendations were written.
    """
    run, todo = unserved(store, "recommend", "RECOMMENDED", users)
    if run is None or not todo:
        return 0
    profiles = {u: p for u, p in cache.of(store, todo).items() if p.vector is not None}
    if not profiles:
        return 0
    # Room for the posts the filter drops: their own, the ones they know, opted-out authors'.
    wanted = run.k + max(len(p.liked) for p in profiles.values()) + 20
    found = store.read(POST_CANDIDATES, {"rows": [{"id": u, "vector": p.vector.tolist()} for u, p in profiles.items()], "wanted": wanted})
    by_user: dict[str, list[dict]] = {}
    for row in found:
        by_user.setdefault(row["id"], []).append(row)
    rows = []
    for user, candidates in by_user.items():
        profile = profiles[user]
        for c in sorted(candidates, key=lambda c: -c["cosine"])[: run.k]:
            topic = next((t for t in c["tags"] if t in profile.topics), None)
            reason = f"on {topic}, which you write about" if topic else "matches your profile"
            rows.append({"src": user, "dst": c["post"], "props": {"score": float(c["cosine"]), "reason": reason}})
    merge_rows(store, "RECOMMENDED", run, rows, replace=list(profiles))
    return len(rows)


OPTED_OUT_ROWS = {
    "SUGGESTED_FRIEND": "MATCH (:User)-[x:SUGGESTED_FRIEND]->(u)",
    "RECOMMENDED": "MATCH (:User)-[x:RECOMMENDED]->(:Post)<-[:POSTED]-(u)",
}
"""What opting out removes from every run: suggestions of the person, and recommendations of their posts."""


def forget_opted_out(store: GraphStore, users: list[str], rel_type: str) -> int:
    """Removes, from every run, the ``rel_type`` rows (see :data:`OPTED_OUT_ROWS`) that surface those
    of ``users`` who opted out, and renumbers the current lists they left.

    Returns:
        How many relationships were removed.
    """
    rows = store.write(
        f"UNWIND $ids AS id MATCH (u:User {{id: id}}) WHERE u.opt_out = true "
        f"CALL (u) {{ {OPTED_OUT_ROWS[rel_type]} WITH x, startNode(x).id AS holder DELETE x RETURN holder }} "
        "RETURN collect(holder) AS holders",
        {"ids": users},
    )
    holders = sorted(set(rows[0]["holders"])) if rows else []
    run = PublishedRun.read(store, "friends" if rel_type == "SUGGESTED_FRIEND" else "recommend")
    if run is not None:
        renumber(store, rel_type, run, holders)
    return len(rows[0]["holders"]) if rows else 0
