"""Test fixtures: one real Neo4j server per test session, wiped before each test that uses it.

The server is the project's own (``graph.server.LocalNeo4j``) with its own state
directory and port, so tests never touch the demo's data.  With ``NEO4J_URI`` set the
session refuses to start, since the tests wipe their database, unless
``SOCIOGRAPH_TEST_ALLOW_WIPE=1`` and ``NEO4J_DATABASE`` names a database whose name
contains ``test`` (``graph.config.external_wipe_refusal``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from graph.config import Settings, external_uri, external_wipe_refusal
from graph.ingest.loader import Loader, RejectLog
from graph.ingest.steps import canonical_dir_steps, run_steps
from graph.schema import ensure_schema
from graph.server import LocalNeo4j
from graph.store import GraphStore
from graph.synthetic import generate, write_canonical
from jobs.communities.job import run_communities
from jobs.embed.job import run_embed
from jobs.emotion.job import run_emotion
from jobs.friends.model import FriendsConfig
from jobs.friends.job import run_friends
from jobs.gnn.encoder import EncoderConfig
from jobs.recommend.job import run_recommend
from jobs.recommend.lightgcn import TrainConfig
from jobs.reply.job import write_suggestions
from jobs.sentiment.job import run_sentiment
from jobs.gnn.social import read_social_graph
from text.embeddings import Encoder
from text.emotion import EmotionClassifier
from text.sentiment import SentimentClassifier

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

FOLDERS = {
    "unit": "needs no Neo4j and no shared datasets",
    "graph": "needs the real Neo4j test server",
    "quality": "needs ../shared/datasets",
}
"""Each test folder, which is also the marker of its tests (``pytest -m "not quality"``)."""
_SERVER_FIXTURES = {"settings", "store", "graph", "results"}


def _conftest_fixtures(item: pytest.Item) -> set[str]:
    # The fixtures of this file that the test uses; a test module may define its own `graph`.
    definitions = item._fixtureinfo.name2fixturedefs  # type: ignore[attr-defined]
    return {name for name, defs in definitions.items() if defs and defs[-1].func.__module__ == __name__}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks each test with its folder, and refuses a test whose fixtures contradict the folder."""
    tests = Path(__file__).resolve().parent
    for item in items:
        path = Path(str(item.path)).resolve()
        if tests not in path.parents:
            continue  # a test file outside this folder that loads this conftest as a plugin
        folder = path.relative_to(tests).parts[0]
        if folder not in FOLDERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in tests/{{{','.join(FOLDERS)}}}/")
        item.add_marker(folder)
        fixtures = _conftest_fixtures(item)
        if folder == "unit" and fixtures & _SERVER_FIXTURES:
            raise pytest.UsageError(f"{item.nodeid} uses the Neo4j test server ({', '.join(sorted(fixtures & _SERVER_FIXTURES))}): move it to tests/graph/")
        if folder != "quality" and "datasets" in fixtures:
            raise pytest.UsageError(f"{item.nodeid} reads ../shared/datasets: move it to tests/quality/")


def _test_settings() -> Settings:
    base = Settings.from_env()
    if external_uri():
        return base
    state = Path(os.environ.get("SOCIOGRAPH_TEST_NEO4J_DIR", base.server.cache_dir / "test-neo4j"))
    port = int(os.environ.get("SOCIOGRAPH_TEST_BOLT_PORT", "7688"))
    server = dataclasses.replace(base.server, state_dir=state, bolt_port=port, heap="1g", pagecache="512m")
    return dataclasses.replace(base, server=server)


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """The settings of the test server, started once for the whole session."""
    settings = _test_settings()
    if external_uri():
        refusal = external_wipe_refusal()
        if refusal:
            pytest.exit(refusal, returncode=pytest.ExitCode.USAGE_ERROR)
        yield settings
        return
    server = LocalNeo4j(settings.server)
    already_running = server.status().answering
    server.start()
    yield settings
    if not already_running:
        server.stop()


@pytest.fixture
def store(settings: Settings) -> Iterator[GraphStore]:
    """A connection to an empty graph that has the schema's constraints and indexes."""
    with GraphStore.from_settings(settings) as store:
        store.wipe()
        ensure_schema(store)
        yield store


@pytest.fixture(scope="session")
def datasets() -> Path:
    """The shared public datasets; tests that need them skip nothing: a missing folder fails."""
    assert SHARED_DATASETS.is_dir(), f"expected the shared datasets at {SHARED_DATASETS}"
    return SHARED_DATASETS


@pytest.fixture(scope="session")
def classifier() -> SentimentClassifier:
    """The shipped sentiment classifier on the CPU, loaded once per session."""
    return SentimentClassifier(device="cpu")


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Canonical files of a 200-user synthetic network (seed 7), generated once per session."""
    out = tmp_path_factory.mktemp("synthetic")
    write_canonical(generate(200, seed=7), out)
    return out


@pytest.fixture
def graph(store: GraphStore, synthetic_dir: Path) -> GraphStore:
    """The empty test graph with the 200-user synthetic network loaded, nothing rejected."""
    summary = run_steps(Loader(store, RejectLog(None)), canonical_dir_steps(synthetic_dir))
    assert summary.rejected == 0
    return store


@pytest.fixture(scope="module")
def results(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    """200 synthetic users (seed 5) after ingest, embed, sentiment, emotion, communities, friends, recommend and
    reply, each job through its Python entry point with few epochs (what is under test is what reads
    the results, not the models).  Built once per module that uses it."""
    out = tmp_path_factory.mktemp("query-library")
    write_canonical(generate(200, seed=5), out)
    cpu = torch.device("cpu")
    with GraphStore.from_settings(settings) as store:
        store.wipe()
        ensure_schema(store)
        assert run_steps(Loader(store, RejectLog(None)), canonical_dir_steps(out)).rejected == 0
        run_embed(store, Encoder("all-MiniLM-L6-v2", device="cpu"))
        run_sentiment(store, SentimentClassifier(device="cpu"))
        run_emotion(store, EmotionClassifier(device="cpu"))
        social = read_social_graph(store)
        run_communities(store, social, EncoderConfig(epochs=30), seed=0, device=cpu)
        run_friends(store, social, FriendsConfig(k=5, encoder=EncoderConfig(epochs=30)), seed=0, device=cpu)
        run_recommend(store, k=5, config=TrainConfig(epochs=10, batch_size=1024, lr=1e-2), device=cpu)
        write_suggestions(store, limit=20)
        yield store
