"""A throwaway Neo4j of its own for evaluations, so an evaluation never touches the user's graph.

The server is the project's :class:`graph.server.LocalNeo4j` with a temporary data
directory and a free loopback port; it is stopped and its directory removed on exit,
even when the evaluation fails.  ``NEO4J_URI`` is deliberately ignored here.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import socket
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from graph.config import ConnectionSettings, Settings
from graph.ingest.bulk import bulk_load
from graph.ingest.loader import Loader, LoadSummary, RejectLog
from graph.ingest.steps import Step, run_steps
from graph.schema import ensure_schema
from graph.server import LocalNeo4j
from graph.store import GraphStore

log = logging.getLogger(__name__)


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_store(
    settings: Settings, with_gds: bool = False, preload: Iterable[Step] | None = None, max_rejects: int = 0
) -> Iterator[GraphStore]:
    """Starts an empty Neo4j in a temporary directory and yields a store connected to it, schema in place.

    Args:
        preload: steps imported with ``neo4j-admin`` (:func:`graph.ingest.bulk.bulk_load`) before the
            store connects: several times faster than the transactional load for a large dataset.
        max_rejects: as for :func:`load_strict`, for ``preload``.

    Returns:
        A context manager yielding the :class:`GraphStore`; the server is stopped and deleted afterwards.

    Raises:
        ValueError: when ``preload`` had more rejected rows than ``max_rejects``.
    """
    state = Path(tempfile.mkdtemp(prefix="sociograph-eval-"))
    # A loaded machine can take longer than the interactive 60 s to bring up a fresh server.
    server_settings = dataclasses.replace(settings.server, state_dir=state, bolt_port=free_port(), start_timeout_s=180)
    server = LocalNeo4j(server_settings)
    try:
        server.start(with_gds=with_gds)
        if preload is not None:
            check_rejects(bulk_load(server, lambda: True, preload, RejectLog(None), state / "import"), max_rejects)
        log.info("throwaway Neo4j at %s (data in %s)", server_settings.bolt_uri, state)
        connection = ConnectionSettings(
            uri=server_settings.bolt_uri,
            user="neo4j",
            password=server_settings.password_file.read_text().strip(),
            database=None,
            external=False,
        )
        with GraphStore(connection, batch_size=settings.batch_size, writers=settings.writeback_writers) as store:
            ensure_schema(store)
            yield store
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


def load_strict(store: GraphStore, steps: Iterable[Step], max_rejects: int = 0) -> int:
    """Loads ``steps`` into ``store``.

    Args:
        max_rejects: how many rejected rows to accept (a public dataset's known bad rows).

    Returns:
        The number of rows loaded.

    Raises:
        ValueError: when more rows were rejected (an evaluation on partial data would mislead).
    """
    return check_rejects(run_steps(Loader(store, RejectLog(None)), steps), max_rejects)


def check_rejects(summary: LoadSummary, max_rejects: int) -> int:
    """Returns the rows ``summary`` loaded.

    Raises:
        ValueError: when more than ``max_rejects`` rows were rejected.
    """
    if summary.rejected > max_rejects:
        raise ValueError(f"{summary.rejected} input rows were rejected (at most {max_rejects} expected); fix the input before evaluating")
    if summary.rejected:
        log.info("%d input rows rejected, as known for this dataset", summary.rejected)
    return summary.loaded
