"""Typed configuration for sociograph, read once from the environment.

Every knob lives here so that the CLI, the jobs and the tests agree on where the
server is, where its files go and how large batches are.  Environment variables
override the defaults; nothing else reads ``os.environ`` for configuration.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T", int, float)

NEO4J_VERSION = "5.26.30"
"""Neo4j LTS release that ``python -m jobs neo4j start`` provisions."""

OPENGDS_VERSION = "2.13.9"
"""OpenGDS release that supports Neo4j 5.26 (installed with ``--with-gds``)."""


class ConfigError(ValueError):
    """Raised for a configuration value that cannot be used; the message names the variable."""


EMBED_BACKENDS = ("fp32", "int8")
"""How the text model runs on a CPU: PyTorch in float32, or the int8 ONNX Runtime model built from the same weights."""


class LocalServerMissing(FileNotFoundError):
    """Raised when no ``NEO4J_URI`` is set and the local server has never been started."""


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def _env_number(name: str, default: T, parse: type[T], what: str) -> T:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return parse(value)
    except ValueError as exc:
        raise ConfigError(f"environment variable {name}={value!r} is not {what}") from exc


def _env_int(name: str, default: int) -> int:
    return _env_number(name, default, int, "an integer")


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number")


def _env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ConfigError(f"environment variable {name}={value!r} is not one of {', '.join(choices)}")
    return value


TEST_WIPE_VARIABLE = "SOCIOGRAPH_TEST_ALLOW_WIPE"
"""Set to ``1`` to let the test session wipe the server that ``NEO4J_URI`` names."""


def external_uri() -> str | None:
    """Returns the URI of the user's own Neo4j (``NEO4J_URI``), or None when sociograph uses its local server.

    The one place that decides whether the server is the user's: what is not ours is never
    provisioned, stopped, bulk-imported into, or written by the demo or the test session unasked.
    """
    return os.environ.get("NEO4J_URI") or None


def external_wipe_refusal() -> str | None:
    """Returns why the test session must not wipe the server ``NEO4J_URI`` names, or None when it may.

    The suite deletes every node of its database before each test, so it runs against the user's
    server only when asked twice: ``SOCIOGRAPH_TEST_ALLOW_WIPE=1`` and a database whose name says
    ``test`` (``NEO4J_DATABASE``).  Without ``NEO4J_URI`` it runs on its own server and may wipe it.
    """
    uri = external_uri()
    if uri is None:
        return None
    database = os.environ.get("NEO4J_DATABASE") or ""
    if os.environ.get(TEST_WIPE_VARIABLE) == "1" and "test" in database.lower():
        return None
    return (
        f"refusing to run the tests against NEO4J_URI={uri}: they delete every node of database "
        f"{database or '(the default one)'}. Unset NEO4J_URI to let the tests start their own Neo4j, or set "
        f"{TEST_WIPE_VARIABLE}=1 and NEO4J_DATABASE to a throwaway database whose name contains 'test'"
    )


@dataclass(frozen=True)
class LocalServerSettings:
    """Where and how the project-managed Neo4j runs.

    Attributes:
        version: Neo4j release fetched from Maven Central.
        cache_dir: holds the jars, shared by every local server of this user.
        state_dir: holds this server's conf, data, logs, pid and password files.
        bolt_port: loopback port for Bolt.
        http_port: loopback port for HTTP, used only when ``http_enabled``.
        http_enabled: whether the HTTP connector is on.
        heap: JVM ``-Xmx`` value.
        pagecache: ``server.memory.pagecache.size`` value.
        start_timeout_s: how long ``start`` waits for Bolt before failing.
        maven_args: extra Maven arguments, e.g. ``-s settings.xml`` for a mirror.
    """

    version: str = NEO4J_VERSION
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "sociograph")
    state_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "share" / "sociograph" / "neo4j")
    bolt_port: int = 7687
    http_port: int = 7474
    http_enabled: bool = False
    heap: str = "2g"
    pagecache: str = "1g"
    start_timeout_s: int = 60
    maven_args: tuple[str, ...] = ()

    @property
    def home_dir(self) -> Path:
        """Returns the Neo4j home directory (conf and plugins) of this server."""
        return self.state_dir / "home"

    @property
    def lib_dir(self) -> Path:
        """Returns the directory holding this version's jars."""
        return self.cache_dir / f"neo4j-{self.version}" / "lib"

    @property
    def password_file(self) -> Path:
        """Returns the owner-only file that holds the generated password."""
        return self.state_dir / "password"

    @property
    def bolt_uri(self) -> str:
        """Returns the Bolt URI of the local server."""
        return f"bolt://127.0.0.1:{self.bolt_port}"


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach Neo4j.  ``external`` is true when the user supplied ``NEO4J_URI``.

    The password is kept out of ``repr`` so that it never reaches a log line.
    """

    uri: str
    user: str
    password: str = field(repr=False)
    database: str | None
    external: bool


@dataclass(frozen=True)
class WatchSettings:
    """The watch service (``python -m jobs watch``, :mod:`jobs.watch`).

    Attributes:
        poll_s: seconds between looks at the graph while nothing changes.
        batch: changed nodes of each label served per cycle.
        audience: users considered per new post (nearest by profile vector), and posts per new user.
        max_backoff_s: the longest wait between tries while Neo4j is away.
    """

    poll_s: float = 0.25
    batch: int = 256
    audience: int = 50
    max_backoff_s: float = 30.0

    @classmethod
    def from_env(cls) -> "WatchSettings":
        """Returns the defaults overridden by ``SOCIOGRAPH_WATCH_*`` variables."""
        return cls(
            poll_s=_env_float("SOCIOGRAPH_WATCH_POLL_S", cls.poll_s),
            batch=_env_int("SOCIOGRAPH_WATCH_BATCH", cls.batch),
            audience=_env_int("SOCIOGRAPH_WATCH_AUDIENCE", cls.audience),
            max_backoff_s=_env_float("SOCIOGRAPH_WATCH_MAX_BACKOFF_S", cls.max_backoff_s),
        )


@dataclass(frozen=True)
class Settings:
    """All sociograph configuration.

    Attributes:
        server: the project-managed local server.
        batch_size: rows per ``UNWIND`` transaction when loading and writing back.
        page_size: nodes per page when reading snapshots.
        embedding_model: name of the packaged text model (see ``text/models.py``).
        embed_batch_size: texts per forward pass of the text model.
        writeback_writers: concurrent write transactions (threads) with which a job writes its
            results back (:class:`graph.writeback.RunWriter`); 1 writes one batch at a time.
        embed_backend: ``fp32`` or ``int8`` (see :data:`EMBED_BACKENDS`), for the text model on a CPU; a GPU runs fp32.
        device: ``cpu``, ``cuda`` or ``auto`` (GPU when present).
        watch: the watch service.
    """

    server: LocalServerSettings
    batch_size: int = 10_000
    page_size: int = 50_000
    embedding_model: str = "all-MiniLM-L6-v2"
    embed_batch_size: int = 64
    writeback_writers: int = 4
    embed_backend: str = "fp32"
    device: str = "auto"
    watch: WatchSettings = WatchSettings()

    @classmethod
    def from_env(cls) -> "Settings":
        """Returns settings with defaults overridden by ``SOCIOGRAPH_*`` variables."""
        defaults = LocalServerSettings()
        server = LocalServerSettings(
            version=os.environ.get("SOCIOGRAPH_NEO4J_VERSION", defaults.version),
            cache_dir=_env_path("SOCIOGRAPH_CACHE_DIR", defaults.cache_dir),
            state_dir=_env_path("SOCIOGRAPH_NEO4J_DIR", defaults.state_dir),
            bolt_port=_env_int("SOCIOGRAPH_BOLT_PORT", defaults.bolt_port),
            http_port=_env_int("SOCIOGRAPH_HTTP_PORT", defaults.http_port),
            http_enabled=os.environ.get("SOCIOGRAPH_HTTP", "") in {"1", "true", "yes"},
            heap=os.environ.get("SOCIOGRAPH_NEO4J_HEAP", defaults.heap),
            pagecache=os.environ.get("SOCIOGRAPH_NEO4J_PAGECACHE", defaults.pagecache),
            maven_args=tuple(shlex.split(os.environ.get("SOCIOGRAPH_MAVEN_ARGS", ""))),
        )
        return cls(
            server=server,
            batch_size=_env_int("SOCIOGRAPH_BATCH_SIZE", cls.batch_size),
            page_size=_env_int("SOCIOGRAPH_PAGE_SIZE", cls.page_size),
            embedding_model=os.environ.get("SOCIOGRAPH_EMBEDDING_MODEL", cls.embedding_model),
            embed_batch_size=_env_int("SOCIOGRAPH_EMBED_BATCH_SIZE", cls.embed_batch_size),
            writeback_writers=_env_int("SOCIOGRAPH_WRITEBACK_WRITERS", cls.writeback_writers),
            embed_backend=_env_choice("SOCIOGRAPH_EMBED_BACKEND", cls.embed_backend, EMBED_BACKENDS),
            device=os.environ.get("SOCIOGRAPH_DEVICE", cls.device),
            watch=WatchSettings.from_env(),
        )

    def connection(self) -> ConnectionSettings:
        """Returns how to connect: ``NEO4J_*`` variables if set, else the local server.

        Raises:
            LocalServerMissing: when no external server is configured and the local
                server has never been started (so it has no password yet).
        """
        uri = external_uri()
        if uri:
            return ConnectionSettings(
                uri=uri,
                user=os.environ.get("NEO4J_USER", "neo4j"),
                password=os.environ.get("NEO4J_PASSWORD", ""),
                database=os.environ.get("NEO4J_DATABASE") or None,
                external=True,
            )
        pw_file = self.server.password_file
        if not pw_file.exists():
            raise LocalServerMissing(
                f"no NEO4J_URI set and the local server has no password file at {pw_file}; "
                "run `python -m jobs neo4j start` first"
            )
        return ConnectionSettings(
            uri=self.server.bolt_uri,
            user="neo4j",
            password=pw_file.read_text().strip(),
            database=os.environ.get("NEO4J_DATABASE") or None,
            external=False,
        )
