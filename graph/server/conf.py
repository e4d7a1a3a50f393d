"""The server's configuration file, and the Java command lines of the server and of ``neo4j-admin``.

The server listens on loopback only, with authentication on; its data, logs, run and
import directories sit in the server's own state, owner-only.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from graph.config import LocalServerSettings
from graph.server.errors import ServerError
from graph.server.private import private_dir, write_private

JAVA_OPENS = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
]
SERVER_CLASS = "org.neo4j.server.CommunityEntryPoint"
ADMIN_CLASS = "org.neo4j.server.startup.Neo4jAdminCommand"


def java_version() -> int:
    """Returns the major version of the ``java`` on PATH.

    Raises:
        ServerError: when no Java is installed or it cannot report a version.
    """
    java = shutil.which("java")
    if java is None:
        raise ServerError("no Java: `java` is not on PATH (Neo4j 5.26 needs Java 17 or 21)")
    proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if not match:
        raise ServerError(f"no Java: could not read a version from `java -version`: {proc.stderr.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def write_config(s: LocalServerSettings, plugins_dir: Path) -> Path:
    """Writes ``neo4j.conf`` for the server of ``s`` and creates its owner-only state directories.

    Returns:
        The configuration directory.
    """
    private_dir(s.state_dir)
    conf_dir = private_dir(private_dir(s.home_dir) / "conf")
    for sub in ("data", "logs", "run", "plugins", "import"):
        private_dir(s.state_dir / sub)
    lines = [
        f"server.bolt.listen_address=127.0.0.1:{s.bolt_port}",
        f"server.bolt.advertised_address=127.0.0.1:{s.bolt_port}",
        f"server.http.enabled={'true' if s.http_enabled else 'false'}",
        f"server.http.listen_address=127.0.0.1:{s.http_port}",
        "server.https.enabled=false",
        f"server.directories.data={s.state_dir / 'data'}",
        f"server.directories.logs={s.state_dir / 'logs'}",
        f"server.directories.run={s.state_dir / 'run'}",
        f"server.directories.plugins={plugins_dir}",
        f"server.directories.import={s.state_dir / 'import'}",
        f"server.memory.pagecache.size={s.pagecache}",
        "dbms.security.auth_enabled=true",
        "dbms.usage_report.enabled=false",
        "dbms.security.procedures.unrestricted=gds.*",
        # Netty waits this many quiet seconds per event-loop group before Bolt shuts down
        # (default 5, twice over): 10 s of every stop on a server that only this machine uses.
        "internal.dbms.bolt.netty_server_shutdown_quiet_period=0",
    ]
    write_private(conf_dir / "neo4j.conf", "\n".join(lines) + "\n")
    return conf_dir


def java_command(
    s: LocalServerSettings,
    plugins_dir: Path,
    main_class: str,
    *args: str,
    heap: str = "512m",
    options: Sequence[str] = (),
) -> list[str]:
    """Returns the command line that runs ``main_class`` of the cached jars with ``args``.

    Args:
        heap: the JVM's initial and maximum heap.
        options: further JVM options (the class archive's).
    """
    return [
        "java",
        *JAVA_OPENS,
        *options,
        # A heap that starts at its full size is never resized under load, where G1 resizing
        # it slowed incremental loads (see bench/RESULTS.md, Ingest, and its history).
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-cp",
        # The neo4j launcher puts plugins on the class path too: kernel extensions such as
        # OpenGDS's are found there by the service loader, not by the procedure loader.
        f"{s.lib_dir}/*:{plugins_dir}/*",
        f"-Dbasedir={s.home_dir}",
        main_class,
        *args,
    ]
