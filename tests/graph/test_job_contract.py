"""The contract every job keeps, checked the same way for each (issue 13): a job writes only the
outputs its runner declares (``OUTPUTS``, :class:`jobs.common.outputs.JobOutputs`), its results carry
the run's ``run_id`` and its suggestions a finite ``score``, a ``rank`` 1..n per source in score
order and a ``reason``, it never suggests what its docstring rules out, and two runs with the same
seed publish the same results.

Every job runs twice, in pipeline order (embed, sentiment, emotion, communities, friends, recommend,
reply), on the 200-user synthetic network with few epochs.  The generator opts out two users who
have no posts, so four more users are opted out before the jobs run (the author whose posts are
most interacted with, the most-followed user, the most active replier and the most replied-to
author), and eight replied-to posts pass to the author of a reply, who then replies to
themselves: otherwise those checks would pass for want of anything to refuse.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import torch

from graph.config import Settings
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.schema import NODE_KEYS, ensure_schema
from graph.store import GraphStore
from graph.writeback import current_run
from jobs.common.outputs import JobOutputs
from jobs.communities.job import OUTPUTS as COMMUNITIES
from jobs.communities.job import run_communities
from jobs.embed.job import OUTPUTS as EMBED
from jobs.emotion.job import OUTPUTS as EMOTION
from jobs.emotion.job import run_emotion
from jobs.embed.job import run_embed
from jobs.friends.job import OUTPUTS as FRIENDS
from jobs.friends.job import run_friends
from jobs.friends.model import FriendsConfig
from jobs.gnn.encoder import EncoderConfig
from jobs.gnn.social import read_social_graph
from jobs.recommend.job import OUTPUTS as RECOMMEND
from jobs.recommend.job import run_recommend
from jobs.recommend.lightgcn import TrainConfig
from jobs.reply.job import OUTPUTS as REPLY
from jobs.reply.job import write_suggestions
from jobs.sentiment.job import OUTPUTS as SENTIMENT
from jobs.sentiment.job import run_sentiment
from text.embeddings import Encoder
from text.emotion import EmotionClassifier
from text.sentiment import SentimentClassifier

SEED = 3
CPU = torch.device("cpu")
BOOKKEEPING = ("JobRun", "JobLock")
"""The run writer's nodes: no job's output, left out of the census."""


@cache
def _encoder() -> Encoder:
    return Encoder("all-MiniLM-L6-v2", device="cpu")


def _embed(store: GraphStore) -> None:
    run_embed(store, _encoder())


def _sentiment(store: GraphStore) -> None:
    run_sentiment(store, SentimentClassifier(device="cpu"))


def _emotion(store: GraphStore) -> None:
    run_emotion(store, EmotionClassifier(device="cpu"))


def _communities(store: GraphStore) -> None:
    run_communities(store, read_social_graph(store), EncoderConfig(epochs=10), seed=SEED, device=CPU)


def _friends(store: GraphStore) -> None:
    run_friends(store, read_social_graph(store), FriendsConfig(k=5, encoder=EncoderConfig(epochs=10)), seed=SEED, device=CPU)


def _recommend(store: GraphStore) -> None:
    run_recommend(store, k=5, config=TrainConfig(epochs=10, batch_size=1024, lr=1e-2, seed=SEED), device=CPU)


def _reply(store: GraphStore) -> None:
    write_suggestions(store)


# Each query returns one row per forbidden suggestion of any run: (source, target, why).
FRIENDS_FORBIDDEN = """
MATCH (a:User)-[:SUGGESTED_FRIEND]->(b:User)
WITH a, b, [why IN [
  CASE WHEN a = b THEN 'self' END,
  CASE WHEN EXISTS { (a)-[:FOLLOWS]-(b) } THEN 'already a friend' END,
  CASE WHEN b.opt_out = true THEN 'target opted out' END,
  CASE WHEN a.opt_out = true THEN 'source opted out' END
] WHERE why IS NOT NULL] AS why
WHERE size(why) > 0
RETURN a.id AS source, b.id AS target, why
"""
RECOMMEND_FORBIDDEN = """
MATCH (u:User)-[:RECOMMENDED]->(p:Post)
WITH u, p, [why IN [
  CASE WHEN EXISTS { (u)-[:INTERACTED]->(p) } THEN 'already interacted' END,
  CASE WHEN EXISTS { (:User {opt_out: true})-[:POSTED]->(p) } THEN 'author opted out' END
] WHERE why IS NOT NULL] AS why
WHERE size(why) > 0
RETURN u.id AS source, p.id AS target, why
"""
REPLY_FORBIDDEN = """
MATCH (s:Post)-[x:SUGGESTED_REPLY]->(r:Post)
WHERE s <> r OR NOT x.method IN ['composed', 'help']
OPTIONAL MATCH (s)-[:REPLY_TO*0..64]->(root:Post) WHERE NOT (root)-[:REPLY_TO]->()
WITH s, r, collect(root) AS roots
WITH s, r, [why IN [
  CASE WHEN s = r THEN 'self, not a written draft' END,
  CASE WHEN NOT (r)-[:REPLY_TO]->(:Post) THEN 'not a reply' END,
  CASE WHEN EXISTS { MATCH (r)-[:REPLY_TO*0..64]->(root) WHERE root IN roots } THEN "in the post's thread" END,
  CASE WHEN EXISTS { (a:User)-[:POSTED]->(s), (a)-[:POSTED]->(r) } THEN "by the post's author" END,
  CASE WHEN EXISTS { (a:User)-[:POSTED]->(r), (r)-[:REPLY_TO]->(:Post)<-[:POSTED]-(a) } THEN 'a self-reply' END,
  CASE WHEN EXISTS { (:User {opt_out: true})-[:POSTED]->(r) } THEN 'by an opted-out user' END,
  CASE WHEN EXISTS { (r)-[:REPLY_TO]->(:Post)<-[:POSTED]-(:User {opt_out: true}) } THEN 'answers an opted-out user' END
] WHERE why IS NOT NULL] AS why
WHERE size(why) > 0
RETURN s.id AS source, r.id AS target, why
"""

# Each query returns one row of counts, every one of them above zero: the forbidden targets are
# there to be suggested, so a check that finds no violation has refused something.
FRIENDS_TEMPTATIONS = """
RETURN COUNT { (:User {opt_out: true})-[:FOLLOWS]-(:User) } AS opted_out_with_friends,
       COUNT { (:User)-[:FOLLOWS]->(:User) } AS friendships
"""
RECOMMEND_TEMPTATIONS = """
RETURN COUNT { (:User {opt_out: true})-[:POSTED]->(:Post)<-[:INTERACTED]-(:User) } AS interactions_with_opted_out_posts,
       COUNT { (:User)-[:INTERACTED]->(:Post) } AS interactions
"""
REPLY_TEMPTATIONS = """
RETURN COUNT { (:User {opt_out: true})-[:POSTED]->(:Post)-[:REPLY_TO]->(:Post) } AS replies_by_opted_out,
       COUNT { (:User {opt_out: true})-[:POSTED]->(:Post)<-[:REPLY_TO]-(:Post) } AS replies_to_opted_out,
       COUNT { (a:User)-[:POSTED]->(:Post)-[:REPLY_TO]->(:Post)<-[:POSTED]-(a) } AS self_replies,
       COUNT { (:Post)-[:REPLY_TO]->(:Post)-[:REPLY_TO]->(:Post) } AS threads_deeper_than_one
"""

OPT_OUT_MORE = [
    "MATCH (u:User)-[:POSTED]->(:Post)<-[:INTERACTED]-(:User) WITH u, count(*) AS n ORDER BY n DESC, u.id LIMIT 1 SET u.opt_out = true",
    "MATCH (u:User)<-[:FOLLOWS]-(:User) WITH u, count(*) AS n ORDER BY n DESC, u.id LIMIT 1 SET u.opt_out = true",
    "MATCH (u:User)-[:POSTED]->(:Post)-[:REPLY_TO]->(:Post) WITH u, count(*) AS n ORDER BY n DESC, u.id LIMIT 1 SET u.opt_out = true",
    "MATCH (u:User)-[:POSTED]->(:Post)<-[:REPLY_TO]-(:Post) WITH u, count(*) AS n ORDER BY n DESC, u.id LIMIT 1 SET u.opt_out = true",
]

SELF_REPLIES = """
MATCH (a:User)-[:POSTED]->(r:Post)-[:REPLY_TO]->(s:Post)<-[old:POSTED]-(b:User)
WHERE a <> b AND NOT a.opt_out AND NOT b.opt_out
WITH s, old, min(a.id) AS replier ORDER BY s.id LIMIT 8
MATCH (a:User {id: replier})
DELETE old CREATE (a)-[:POSTED]->(s)
"""
"""The generator writes no self-replies; this hands eight parents to the author of a reply to them."""


@dataclasses.dataclass(frozen=True)
class JobCase:
    """One job under the contract: its declaration, how to run it, and what it must never suggest."""

    outputs: JobOutputs
    run: Callable[[GraphStore], None]
    forbidden: str | None = None
    temptations: str | None = None

    @property
    def name(self) -> str:
        """Returns the job's name."""
        return self.outputs.job


CASES = [
    JobCase(EMBED, _embed),
    JobCase(SENTIMENT, _sentiment),
    JobCase(EMOTION, _emotion),
    JobCase(COMMUNITIES, _communities),
    JobCase(FRIENDS, _friends, FRIENDS_FORBIDDEN, FRIENDS_TEMPTATIONS),
    JobCase(RECOMMEND, _recommend, RECOMMEND_FORBIDDEN, RECOMMEND_TEMPTATIONS),
    JobCase(REPLY, _reply, REPLY_FORBIDDEN, REPLY_TEMPTATIONS),
]
"""Pipeline order: each job finds what the ones before it wrote (reply needs embed's vectors)."""


FINGERPRINTS = (
    "[k IN keys(p) | [k, CASE WHEN valueType(p[k]) STARTS WITH 'LIST<FLOAT' AND size(p[k]) > 16 "
    "THEN [size(p[k]), p[k][0], p[k][size(p[k]) / 2], p[k][-1], reduce(s = 0.0, x IN p[k] | s + x)] ELSE p[k] END]]"
)
"""Each property of ``p`` as ``[key, value]``, a long float list (a vector) by its length, three
components and its sum: reading whole vectors back made the census the slowest part of the test."""


def _digest(entries: list[tuple[str, Any]]) -> str:
    return hashlib.sha256(repr(sorted(entries, key=lambda e: e[0])).encode()).hexdigest()


def census(store: GraphStore) -> dict[tuple[str, ...], Any]:
    """Returns what the graph holds, bookkeeping left out: ``("node", label)`` and
    ``("relationship", type)`` map to counts, ``(kind, name, key)`` to a digest of every value of
    that property, and ``("index", name)`` to the index's definition."""
    entries: dict[tuple[str, ...], list[tuple[str, Any]]] = defaultdict(list)
    counts: dict[tuple[str, ...], int] = defaultdict(int)
    nodes = store.read(
        "MATCH (n) WHERE NONE(l IN labels(n) WHERE l IN $skip) WITH n, properties(n) AS p "
        f"RETURN elementId(n) AS id, labels(n) AS labels, {FINGERPRINTS} AS props",
        {"skip": list(BOOKKEEPING)},
    )
    for row in nodes:
        for label in row["labels"]:
            counts[("node", label)] += 1
            for key, value in row["props"]:
                entries[("node", label, key)].append((row["id"], value))
    relationships = store.read(
        f"MATCH ()-[r]->() WITH r, properties(r) AS p RETURN elementId(r) AS id, type(r) AS type, {FINGERPRINTS} AS props"
    )
    for row in relationships:
        counts[("relationship", row["type"])] += 1
        for key, value in row["props"]:
            entries[("relationship", row["type"], key)].append((row["id"], value))
    out: dict[tuple[str, ...], Any] = dict(counts)
    out.update({key: _digest(values) for key, values in entries.items()})
    for row in store.read("SHOW INDEXES YIELD name, type, labelsOrTypes, properties RETURN *"):
        out[("index", row["name"])] = (row["type"], row["labelsOrTypes"], row["properties"])
    return out


def changes(before: dict[tuple[str, ...], Any], after: dict[tuple[str, ...], Any]) -> set[tuple[str, ...]]:
    """Returns the census entries that appeared, went or changed."""
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


def declared(outputs: JobOutputs) -> set[tuple[str, ...]]:
    """Returns the census entries ``outputs`` allows a run to change."""
    out: set[tuple[str, ...]] = {("index", name) for name in outputs.indexes}
    for rel in outputs.relationships:
        out |= {("relationship", rel.type)} | {("relationship", rel.type, key) for key in rel.properties}
    for node in outputs.nodes:
        out |= {("node", node.label)} | {("node", node.label, key) for key in node.properties}
    for node in outputs.node_properties:
        out |= {("node", node.label, key) for key in node.properties}
    return out


@dataclasses.dataclass
class Published:
    """A run's results as read back: its id (None for embed, which records no run), the rows of
    every declared relationship ``{src, dst, props}`` (endpoints by key; a node the job creates by
    its properties other than key and run id), its created nodes' properties, and the declared
    properties of existing nodes by label, node key and property."""

    run_id: str | None
    relationships: dict[str, list[dict[str, Any]]]
    nodes: dict[str, list[dict[str, Any]]]
    properties: dict[str, dict[str, dict[str, Any]]]


def _identity(props: dict[str, Any], label: str) -> str:
    return repr(sorted((k, v) for k, v in props.items() if k not in (NODE_KEYS[label], "run_id")))


def read_published(store: GraphStore, outputs: JobOutputs, run_id: str | None, only_run: bool) -> Published:
    """Reads what ``outputs`` names; with ``only_run``, only the results tagged ``run_id``."""
    scope = {"run": run_id, "only": only_run}
    created = set(outputs.node_labels)
    relationships = {}
    for rel in outputs.relationships:
        # Endpoints are read whole only where the job creates them: users and posts carry vectors.
        src = "properties(a)" if rel.start in created else f"a.{NODE_KEYS[rel.start]}"
        dst = "properties(b)" if rel.end in created else f"b.{NODE_KEYS[rel.end]}"
        rows = store.read(
            f"MATCH (a:{rel.start})-[r:{rel.type}]->(b:{rel.end}) WHERE NOT $only OR r.run_id = $run "
            f"RETURN {src} AS src, {dst} AS dst, properties(r) AS props",
            scope,
        )
        relationships[rel.type] = [
            {
                "src": _identity(row["src"], rel.start) if rel.start in created else row["src"],
                "dst": _identity(row["dst"], rel.end) if rel.end in created else row["dst"],
                "props": row["props"],
            }
            for row in rows
        ]
    nodes = {
        node.label: [
            row["props"]
            for row in store.read(
                f"MATCH (n:{node.label}) WHERE NOT $only OR n.run_id = $run RETURN properties(n) AS props", scope
            )
        ]
        for node in outputs.nodes
    }
    properties = {}
    for node in outputs.node_properties:
        key = NODE_KEYS[node.label]
        values = ", ".join(f"{p}: n.{p}" for p in node.properties)
        rows = store.read(f"MATCH (n:{node.label}) RETURN n.{key} AS key, {{{values}}} AS props")
        properties[node.label] = {
            row["key"]: {p: v for p, v in row["props"].items() if v is not None} for row in rows
        }
    return Published(run_id, relationships, nodes, properties)


@dataclasses.dataclass
class Record:
    """One job's two runs: what the first changed in the graph, the endpoint labels of each declared
    relationship type after it, and what each run published."""

    changed: set[tuple[str, ...]]
    endpoints: dict[str, set[tuple[tuple[str, ...], tuple[str, ...]]]]
    first: Published
    second: Published


def _run_id(store: GraphStore, job: str) -> str | None:
    run = current_run(store, job)
    return None if run is None else run["id"]


def _strip(store: GraphStore, outputs: JobOutputs) -> None:
    """Removes the properties ``outputs`` sets on existing nodes, so a rerun computes them again
    instead of finding them current."""
    for node in outputs.node_properties:
        keys = ", ".join(f"n.{key}" for key in node.properties)
        store.write(f"MATCH (n:{node.label}) REMOVE {keys}")


def record(store: GraphStore, case: JobCase) -> Record:
    """Runs ``case`` twice with the same seed and returns what each run did."""
    before = census(store)
    case.run(store)
    changed = changes(before, census(store))
    endpoints = {
        rel.type: {
            (tuple(row["a"]), tuple(row["b"]))
            for row in store.read(f"MATCH (a)-[:{rel.type}]->(b) RETURN DISTINCT labels(a) AS a, labels(b) AS b")
        }
        for rel in case.outputs.relationships
    }
    first = read_published(store, case.outputs, _run_id(store, case.name), only_run=False)
    _strip(store, case.outputs)
    case.run(store)
    second = read_published(store, case.outputs, _run_id(store, case.name), only_run=True)
    return Record(changed, endpoints, first, second)


@pytest.fixture(scope="module")
def records(settings: Settings, synthetic_dir: Path) -> Iterator[tuple[GraphStore, dict[str, Record]]]:
    """The synthetic network with four more users opted out and eight self-replies, after every job
    ran twice; the store and each job's :class:`Record` by name."""
    # The jobs run on a graph of 200 users, where a second thread gains nothing; on a machine whose
    # two cores are busy with other work, two threads spinning against each other doubled the time.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with GraphStore.from_settings(settings) as store:
            store.wipe()
            for case in CASES:
                for index in case.outputs.indexes:
                    store.write(f"DROP INDEX {index} IF EXISTS")
            ensure_schema(store)
            assert run_steps(Loader(store, RejectLog(None)), canonical_dir_steps(synthetic_dir)).rejected == 0
            for query in (*OPT_OUT_MORE, SELF_REPLIES):
                store.write(query)
            yield store, {case.name: record(store, case) for case in CASES}
    finally:
        torch.set_num_threads(threads)


def _ids(cases: list[JobCase]) -> list[str]:
    return [case.name for case in cases]


SUGGESTIONS = [(case, rel.type) for case in CASES for rel in case.outputs.suggestions]
RUN_TAGGED = [case for case in CASES if case.outputs.relationships or case.outputs.nodes]
FORBIDDING = [case for case in CASES if case.forbidden]


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_a_job_writes_only_its_declared_outputs(records: tuple[GraphStore, dict[str, Record]], case: JobCase) -> None:
    rec = records[1][case.name]
    undeclared = sorted(rec.changed - declared(case.outputs))
    assert not undeclared, f"{case.name} changed what it does not declare: {undeclared}"
    for rel in case.outputs.relationships:
        assert rec.endpoints[rel.type] == {((rel.start,), (rel.end,))}, f"{rel.type} joins other labels"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_a_job_writes_everything_it_declares(records: tuple[GraphStore, dict[str, Record]], case: JobCase) -> None:
    # A declaration that names more than the job writes would let a stray write of that name pass the test above.
    rec = records[1][case.name]
    unwritten = sorted(declared(case.outputs) - rec.changed)
    assert not unwritten, f"{case.name} declares what its run did not write: {unwritten}"


@pytest.mark.parametrize("case", RUN_TAGGED, ids=_ids(RUN_TAGGED))
def test_every_result_carries_the_run_id_of_the_run_that_wrote_it(
    records: tuple[GraphStore, dict[str, Record]], case: JobCase
) -> None:
    rec = records[1][case.name]
    assert rec.first.run_id and rec.second.run_id and rec.first.run_id != rec.second.run_id
    for published in (rec.first, rec.second):
        for rel_type, rows in published.relationships.items():
            assert rows, f"{rel_type}: nothing published"
            assert {row["props"].get("run_id") for row in rows} == {published.run_id}, rel_type
        for label, nodes in published.nodes.items():
            assert nodes, f"{label}: nothing published"
            assert {node.get("run_id") for node in nodes} == {published.run_id}, label


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.parametrize(("case", "rel_type"), SUGGESTIONS, ids=[f"{c.name}-{t}" for c, t in SUGGESTIONS])
def test_every_suggestion_has_a_score_a_rank_in_score_order_and_a_reason(
    records: tuple[GraphStore, dict[str, Record]], case: JobCase, rel_type: str
) -> None:
    rows = records[1][case.name].first.relationships[rel_type]
    assert rows
    by_source: dict[Any, list[tuple[int, float]]] = defaultdict(list)
    for row in rows:
        props = row["props"]
        assert _is_number(props.get("score")), props
        assert type(props.get("rank")) is int, props
        assert isinstance(props.get("reason"), str) and props["reason"].strip(), props
        by_source[row["src"]].append((props["rank"], props["score"]))
    for source, ranked in by_source.items():
        ranked.sort()
        assert [rank for rank, _ in ranked] == list(range(1, len(ranked) + 1)), f"{source}: ranks {ranked}"
        scores = [score for _, score in ranked]
        assert all(a >= b for a, b in zip(scores, scores[1:])), f"{source}: scores out of rank order {ranked}"


def test_every_user_is_in_one_community_with_a_finite_score(records: tuple[GraphStore, dict[str, Record]]) -> None:
    store, recs = records
    rows = recs["communities"].first.relationships["IN_COMMUNITY"]
    users = store.read("MATCH (u:User) RETURN count(u) AS n")[0]["n"]
    assert len(rows) == users == len({row["src"] for row in rows})
    assert all(_is_number(row["props"].get("score")) and -1.0 - 1e-6 <= row["props"]["score"] <= 1.0 + 1e-6 for row in rows)


def test_community_memberships_carry_a_reason_and_rank_1_to_size_in_score_order(records: tuple[GraphStore, dict[str, Record]]) -> None:
    rows = records[1]["communities"].first.relationships["IN_COMMUNITY"]
    assert all(type(row["props"].get("rank")) is int and row["props"].get("reason") for row in rows)
    by_community: dict[Any, list[tuple[int, float]]] = defaultdict(list)
    for row in rows:
        by_community[row["dst"]].append((row["props"]["rank"], row["props"]["score"]))
    for community, ranked in by_community.items():
        ranked.sort()
        assert [rank for rank, _ in ranked] == list(range(1, len(ranked) + 1)), f"{community}: ranks {ranked}"
        assert all(a >= b for (_, a), (_, b) in zip(ranked, ranked[1:])), f"{community}: scores out of rank order"


@pytest.mark.parametrize("case", FORBIDDING, ids=_ids(FORBIDDING))
def test_a_job_never_suggests_a_forbidden_target(records: tuple[GraphStore, dict[str, Record]], case: JobCase) -> None:
    store = records[0]
    temptations = store.read(case.temptations)[0]
    assert all(n > 0 for n in temptations.values()), f"nothing forbidden to refuse: {temptations}"
    violations = store.read(case.forbidden)
    kinds = Counter(why for row in violations for why in row["why"])
    assert not violations, f"{len(violations)} forbidden suggestions ({dict(kinds)}), e.g. {violations[:3]}"


def _rel_rows(published: Published) -> dict[str, tuple[list[tuple[Any, Any, Any]], list[float]]]:
    out = {}
    for rel_type, rows in published.relationships.items():
        ordered = sorted(rows, key=lambda row: (repr(row["src"]), row["props"].get("rank", 0), repr(row["dst"])))
        out[rel_type] = (
            [(row["src"], row["dst"], row["props"].get("rank")) for row in ordered],
            [row["props"]["score"] for row in ordered],
        )
    return out


def _close(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-5)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_a_job_is_deterministic_for_a_seed(records: tuple[GraphStore, dict[str, Record]], case: JobCase) -> None:
    rec = records[1][case.name]
    first, second = _rel_rows(rec.first), _rel_rows(rec.second)
    for rel_type, (pairs, scores) in first.items():
        assert pairs, f"{rel_type}: nothing published"
        assert pairs == second[rel_type][0], f"{rel_type}: the two runs ranked differently"
        assert scores == pytest.approx(second[rel_type][1], rel=1e-4, abs=1e-5), f"{rel_type}: scores differ"
    for label, nodes in rec.first.nodes.items():
        assert sorted(_identity(n, label) for n in nodes) == sorted(_identity(n, label) for n in rec.second.nodes[label])
    for label, by_node in rec.first.properties.items():
        again = rec.second.properties[label]
        assert by_node.keys() == again.keys() and any(by_node.values()), label
        for key, props in by_node.items():
            assert props.keys() == again[key].keys(), f"{label} {key}"
            differ = [p for p, value in props.items() if not _close(value, again[key][p])]
            assert not differ, f"{label} {key}: the two runs wrote different {differ}"
