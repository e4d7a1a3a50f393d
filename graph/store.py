"""The one place sociograph talks to Neo4j: a thin wrapper over the official driver.

Reads and writes go through explicit transaction functions (``execute_read`` /
``execute_write``) so the driver retries transient failures; every query is
parameterised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import neo4j
from neo4j import GraphDatabase

from graph.config import ConnectionSettings, Settings
from graph.schema import check_label, check_relationship_type

log = logging.getLogger(__name__)

Page = TypeVar("Page")


def batched(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Returns an iterator over lists of at most ``size`` consecutive items of ``rows``."""
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def keyset_pages(
    fetch: Callable[[Any, int], tuple[Page, Sequence[Any]]], page_size: int, limit: int | None = None
) -> Iterator[Page]:
    """Pages through keys in order: ``fetch(after, size)`` reads at most ``size`` entries whose keys
    sort after ``after`` (``""`` for the first page) and returns ``(page, keys)``, the page in the
    caller's shape and its keys in order; the last key is where the next page starts.

    Returns:
        An iterator over the pages, none empty, that stops after an empty or short page, or once
        ``limit`` keys have been read (None: no limit).
    """
    after, left = "", limit
    while left is None or left > 0:
        size = page_size if left is None else min(page_size, left)
        page, keys = fetch(after, size)
        if not keys:
            return
        yield page
        after = keys[-1]
        left = None if left is None else left - len(keys)
        if len(keys) < size:
            return


class GraphStore:
    """A connection to one Neo4j database.

    Args:
        connection: where the database is.
        batch_size: rows per write transaction of the loaders and of write-back.
        writers: concurrent write transactions of write-back (``Settings.writeback_writers``).
        retry_s: how long the driver retries a transaction on a server that does not answer
            (default: the driver's); a long-running service that backs off by itself shortens it.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self, connection: ConnectionSettings, batch_size: int = 10_000, writers: int = 4, retry_s: float | None = None
    ) -> None:
        if writers < 1:
            raise ValueError(f"writers must be at least 1, got {writers}")
        self.connection = connection
        self.batch_size = batch_size
        self.writers = writers
        retries = {} if retry_s is None else {"max_transaction_retry_time": retry_s}
        self.driver = GraphDatabase.driver(connection.uri, auth=(connection.user, connection.password), **retries)
        self.database = connection.database

    @classmethod
    def from_settings(cls, settings: Settings | None = None, retry_s: float | None = None) -> "GraphStore":
        """Returns a store connected as the settings (and ``NEO4J_*`` variables) say."""
        settings = settings or Settings.from_env()
        return cls(settings.connection(), batch_size=settings.batch_size, writers=settings.writeback_writers, retry_s=retry_s)

    def __enter__(self) -> "GraphStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the driver and its connection pool."""
        self.driver.close()

    def session(self, **kwargs: Any) -> neo4j.Session:
        """Returns a driver session on the configured database."""
        return self.driver.session(database=self.database, **kwargs)

    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Runs a read query in a retried read transaction.

        Returns:
            The records as dicts, in the order the server returned them.
        """

        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(query, params or {})]

        with self.session() as session:
            return session.execute_read(work)

    def read_columns(self, query: str, params: Mapping[str, Any] | None = None) -> tuple[list[str], list[list[Any]]]:
        """Runs a read query and keeps values as returned (no ``.data()`` conversion).

        Returns:
            ``(keys, rows)`` where each row is the list of the record's values.
        """

        def work(tx: neo4j.ManagedTransaction) -> tuple[list[str], list[list[Any]]]:
            result = tx.run(query, params or {})
            return list(result.keys()), [list(record.values()) for record in result]

        with self.session() as session:
            return session.execute_read(work)

    def read_pages(self, query: str, page_size: int, limit: int | None = None) -> Iterator[list[list[Any]]]:
        """Pages through a keyset query: ``query`` takes ``$after`` and ``$page`` and returns rows
        ordered by their first column, which is the key the next page starts after.

        Returns:
            An iterator over pages, each a list of rows (lists of values), none empty; ``limit``
            rows in all at most (None: every row).
        """

        def fetch(after: Any, size: int) -> tuple[list[list[Any]], list[Any]]:
            _, rows = self.read_columns(query, {"after": after, "page": size})
            return rows, [row[0] for row in rows]

        return keyset_pages(fetch, page_size, limit)

    def collected_pages(self, query: str, page_size: int, columns: int) -> Iterator[list[list[Any]]]:
        """Pages through a keyset query that collects each page: ``query`` takes ``$after`` and ``$page``
        and returns one row of ``columns`` lists, the first of which holds the page's keys in order.

        Returns:
            An iterator over the pages, each its ``columns`` lists, so that a caller can turn a
            page into arrays before the next one is read.
        """

        def fetch(after: Any, size: int) -> tuple[list[list[Any]], list[Any]]:
            _, rows = self.read_columns(query, {"after": after, "page": size})
            # A literal column (say ``[] AS features``) is a grouping key, so an empty match
            # returns no row at all rather than a row of empty lists.
            page = rows[0] if rows else [[] for _ in range(columns)]
            return page, page[0]

        return keyset_pages(fetch, page_size)

    def write(self, query: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Runs a write query in one retried write transaction.

        Returns:
            The records as dicts.
        """

        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(query, params or {})]

        with self.session() as session:
            return session.execute_write(work)

    def write_many(self, statements: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Runs several write statements in one transaction: all of them take effect or none."""

        def work(tx: neo4j.ManagedTransaction) -> None:
            for query, params in statements:
                tx.run(query, params).consume()

        with self.session() as session:
            session.execute_write(work)

    def run_autocommit(self, query: str, params: Mapping[str, Any] | None = None) -> None:
        """Runs a query in an implicit transaction, as ``CALL { … } IN TRANSACTIONS`` requires."""
        with self.session() as session:
            session.run(query, params or {}).consume()

    def node_count(self, label: str) -> int:
        """Returns the number of nodes with ``label`` (checked against the schema allow-list)."""
        return self.read(f"MATCH (n:{check_label(label)}) RETURN count(n) AS n")[0]["n"]

    def relationship_count(self, rel_type: str) -> int:
        """Returns the number of relationships of ``rel_type`` (checked against the allow-list)."""
        return self.read(f"MATCH ()-[r:{check_relationship_type(rel_type)}]->() RETURN count(r) AS n")[0]["n"]

    def wipe(self) -> None:
        """Deletes every node and relationship in batches; constraints and indexes stay."""
        self.run_autocommit("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
