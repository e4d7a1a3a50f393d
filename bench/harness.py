"""The benchmark's own Neo4j (separate state and port, never the user's data) and timing helpers."""

from __future__ import annotations

import dataclasses
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from graph.config import Settings
from graph.schema import ensure_schema
from graph.server import LocalNeo4j
from graph.store import GraphStore

T = TypeVar("T")
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def bench_settings() -> Settings:
    """Returns settings for the benchmark server: ``<cache>/bench-neo4j`` on port 7689 (or ``SOCIOGRAPH_BENCH_BOLT_PORT``)."""
    base = Settings.from_env()
    server = dataclasses.replace(
        base.server,
        state_dir=base.server.cache_dir / "bench-neo4j",
        bolt_port=int(os.environ.get("SOCIOGRAPH_BENCH_BOLT_PORT", "7689")),
    )
    return dataclasses.replace(base, server=server)


@contextmanager
def bench_store() -> Iterator[tuple[LocalNeo4j, GraphStore]]:
    """Yields the started benchmark server and a store on it; stops the server afterwards."""
    settings = bench_settings()
    server = LocalNeo4j(settings.server)
    server.start()
    try:
        with GraphStore.from_settings(settings) as store:
            yield server, store
    finally:
        server.stop()


def fresh(store: GraphStore) -> None:
    """Empties the graph and recreates the schema."""
    store.wipe()
    ensure_schema(store)


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Returns ``(fn(), seconds)``."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def machine() -> str:
    """Returns a one-line description of this machine."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB RAM, Python {platform.python_version()}"
