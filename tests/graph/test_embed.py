"""The embed job on a real Neo4j with the real packaged model: vectors, incrementality, similarity queries."""

from __future__ import annotations


import numpy as np
import pytest

from graph.catalogue import load_query
from graph.store import GraphStore
from jobs.embed.job import run_embed
from text.embeddings import Encoder, text_hash
from text.profiles import combine, tags_sentence


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return Encoder("all-MiniLM-L6-v2", device="cpu", batch_size=64)


def vectors(store: GraphStore, label: str) -> dict[str, np.ndarray]:
    rows = store.read(f"MATCH (n:{label}) WHERE n.embedding IS NOT NULL RETURN n.id AS id, n.embedding AS v")
    return {r["id"]: np.asarray(r["v"], dtype=np.float32) for r in rows}


def test_every_post_and_user_with_text_gets_a_unit_vector(graph: GraphStore, encoder: Encoder) -> None:
    summary = run_embed(graph, encoder)
    posts, users = vectors(graph, "Post"), vectors(graph, "User")
    assert len(posts) == graph.node_count("Post") == summary.posts_embedded
    assert len(users) == graph.node_count("User") == summary.users_embedded
    for vec in list(posts.values())[:50] + list(users.values())[:50]:
        assert vec.shape == (384,)
        assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4
    models = graph.read("MATCH (n) WHERE n.embedding IS NOT NULL RETURN collect(DISTINCT n.embedding_model) AS m")
    assert models[0]["m"] == ["all-MiniLM-L6-v2"]


def test_rerun_embeds_only_what_changed_and_is_deterministic(graph: GraphStore, encoder: Encoder) -> None:
    run_embed(graph, encoder)
    before = vectors(graph, "Post")
    again = run_embed(graph, encoder)
    assert again.posts_embedded == 0 and again.users_embedded == 0
    assert again.posts_unchanged == len(before)
    post, author = graph.read("MATCH (u:User)-[:POSTED]->(p:Post) RETURN p.id AS p, u.id AS u ORDER BY p.id LIMIT 1")[0].values()
    graph.write("MATCH (p:Post {id: $id}) SET p.text = 'Completely new words about sourdough baking'", {"id": post})
    changed = run_embed(graph, encoder)
    assert changed.posts_embedded == 1 and changed.users_embedded == 1
    after = vectors(graph, "Post")
    assert not np.allclose(after[post], before[post])
    same = [pid for pid in before if pid != post]
    assert all(np.array_equal(after[pid], before[pid]) for pid in same)
    recomputed = encoder.encode([graph.read("MATCH (p:Post {id: $id}) RETURN p.text AS t", {"id": post})[0]["t"]])[0]
    np.testing.assert_allclose(recomputed, after[post], atol=1e-5)
    assert author in vectors(graph, "User")


def test_similar_posts_share_the_topic(graph: GraphStore, encoder: Encoder) -> None:
    run_embed(graph, encoder)
    posts = graph.read(
        "MATCH (p:Post)-[:TAGGED]->(t:Tag) WITH p, collect(t.name) AS tags RETURN p.id AS id, tags ORDER BY id"
    )
    tags = {r["id"]: set(r["tags"]) for r in posts}
    sample = [r["id"] for r in posts[:: max(1, len(posts) // 25)]]
    query = load_query("similar_posts")
    hits = 0
    total = 0
    for pid in sample:
        rows = graph.read(query, {"post": pid, "k": 5})
        assert len(rows) == 5 and pid not in {r["post"] for r in rows}
        assert [r["similarity"] for r in rows] == sorted((r["similarity"] for r in rows), reverse=True)
        hits += sum(bool(tags[pid] & tags.get(r["post"], set())) for r in rows)
        total += len(rows)
    ids = list(tags)
    rng = np.random.default_rng(0)
    random_share = np.mean([bool(tags[a] & tags[b]) for a, b in rng.choice(ids, size=(2000, 2))])
    assert hits / total >= 0.6
    assert hits / total >= 2 * random_share


def test_similar_users_never_returns_opted_out(graph: GraphStore, encoder: Encoder) -> None:
    run_embed(graph, encoder)
    opted = {r["id"] for r in graph.read("MATCH (u:User {opt_out: true}) RETURN u.id AS id")}
    assert opted
    users = [r["id"] for r in graph.read("MATCH (u:User) RETURN u.id AS id ORDER BY id LIMIT 30")]
    query = load_query("similar_users")
    for uid in users:
        rows = graph.read(query, {"user": uid, "k": 5})
        assert len(rows) == 5
        assert not opted & {r["user"] for r in rows}


def test_awkward_texts_are_handled_and_reported(store: GraphStore, encoder: Encoder) -> None:
    store.write(
        "UNWIND $rows AS r CREATE (:Post {id: r.id, text: r.text})",
        {
            "rows": [
                {"id": "blank", "text": "   \n\t "},
                {"id": "empty", "text": ""},
                {"id": "huge", "text": "mountain trail " * 70_000},
                {"id": "mixed", "text": "今天去爬山了 and the view was amazing 🏔️"},
                {"id": "plain", "text": "A quiet walk in the hills"},
            ]
        },
    )
    summary = run_embed(store, encoder)
    assert summary.posts_embedded == 3 and summary.posts_without_text == 2
    got = vectors(store, "Post")
    assert set(got) == {"huge", "mixed", "plain"}
    assert float(got["huge"] @ got["plain"]) > 0.2


def test_profile_combination_rules() -> None:
    a = np.array([1.0, 0.0], dtype=np.float32)
    b = np.array([0.0, 1.0], dtype=np.float32)
    assert combine(None, None, None) is None
    np.testing.assert_allclose(combine(a, None, None), a)
    mixed = combine(a, np.stack([b, b]), None)
    assert mixed[0] > mixed[1] > 0 and abs(np.linalg.norm(mixed) - 1) < 1e-6
    assert tags_sentence([("jazz", 1.0), ("vinyl", 3.0), ("blues", 1.0)]) == "Interests: vinyl, blues, jazz"
    assert tags_sentence([]) == ""
    assert text_hash("model-a", "x") != text_hash("model-b", "x")


def test_multilingual_model_serves_chinese_and_a_model_change_reembeds_everything(
    store: GraphStore, encoder: Encoder
) -> None:
    posts = {
        "zh-hike": "周末去山里徒步，风景太美了",
        "zh-hike-2": "今天爬山看日出，拍了很多照片",
        "zh-stock": "股市今天大跌，投资者非常担心",
        "en-hike": "A long hike along the mountain ridge at sunrise",
        "en-stock": "Stocks fell sharply today and investors are worried",
    }
    store.write("UNWIND $rows AS r CREATE (:Post {id: r.id, text: r.text})", {"rows": [{"id": k, "text": v} for k, v in posts.items()]})
    first = run_embed(store, encoder)
    assert first.posts_embedded == len(posts)
    multilingual = Encoder("use-multilingual-v3", batch_size=32)
    switched = run_embed(store, multilingual)
    assert switched.posts_embedded == len(posts) and switched.posts_unchanged == 0
    dims = store.read("SHOW VECTOR INDEXES YIELD name, options WHERE name = 'post_embedding' RETURN options")
    assert dims[0]["options"]["indexConfig"]["vector.dimensions"] == 512
    models = store.read("MATCH (p:Post) RETURN collect(DISTINCT p.embedding_model) AS m")[0]["m"]
    assert models == ["use-multilingual-v3"]
    query = load_query("similar_posts")
    nearest = [r["post"] for r in store.read(query, {"post": "zh-hike", "k": 2})]
    assert set(nearest) <= {"zh-hike-2", "en-hike"}
    assert store.read(query, {"post": "en-stock", "k": 1})[0]["post"] == "zh-stock"
