"""Test fixtures: one real Neo4j server per test session, wiped before each test that uses it.

The server is the project's own (``graph.server.LocalNeo4j``) with its own state
directory and port, so tests never touch the demo's data.  Set ``NEO4J_URI`` (and
``NEO4J_USER``/``NEO4J_PASSWORD``) to run the suite against another server instead:
it is wiped too, so never point it at data you want to keep.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.config import Settings
from graph.schema import ensure_schema
from graph.server import LocalNeo4j
from graph.store import GraphStore

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def _test_settings() -> Settings:
    base = Settings.from_env()
    if os.environ.get("NEO4J_URI"):
        return base
    state = Path(os.environ.get("SOCIOGRAPH_TEST_NEO4J_DIR", base.server.cache_dir / "test-neo4j"))
    port = int(os.environ.get("SOCIOGRAPH_TEST_BOLT_PORT", "7688"))
    server = dataclasses.replace(base.server, state_dir=state, bolt_port=port, heap="1g", pagecache="512m")
    return dataclasses.replace(base, server=server)


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """The settings of the test server, started once for the whole session."""
    settings = _test_settings()
    if os.environ.get("NEO4J_URI"):
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
