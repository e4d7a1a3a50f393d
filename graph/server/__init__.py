"""A Neo4j Community server that sociograph provisions and runs itself.

The jars come from Maven Central through Maven (``org.neo4j.app:neo4j-server``
and ``org.neo4j:neo4j`` with their runtime dependencies) into a per-user cache;
the server listens on loopback only, with authentication on and a password
generated on first start and kept in an owner-only file.  The password never
appears on a command line: ``neo4j-admin`` reads it from an owner-only argument
file.  The state directory and everything the server writes into it are
readable by their owner only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from graph.server.class_archive import ClassArchive, pid_alive
from graph.config import OPENGDS_VERSION, LocalServerSettings

log = logging.getLogger(__name__)

JAVA_OPENS = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
]
SERVER_CLASS = "org.neo4j.server.CommunityEntryPoint"
ADMIN_CLASS = "org.neo4j.server.startup.Neo4jAdminCommand"
MANIFEST = "manifest.json"
PROC = Path("/proc")
# What the JVMs write (store files, logs, an import report) is for this user only.
PRIVATE_UMASK = 0o077
COPY_DEPENDENCIES = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"


class ServerError(RuntimeError):
    """Raised when the local server cannot be provisioned, started or stopped.

    The message names the cause (no Java, port taken, Maven failure, corrupt cache).
    """


@dataclass(frozen=True)
class ServerStatus:
    """What ``status`` reports: the Bolt URI, whether it answers, and our pid if running.

    ``refuses_password`` is true when Bolt answers but does not accept the password file's password.
    """

    bolt_uri: str
    answering: bool
    pid: int | None
    refuses_password: bool = False


def _pom(version: str, with_gds: bool) -> str:
    # For the plugin, the server's own artifacts are "provided": Maven then leaves every jar
    # the server already has out of the plugin's runtime set, so no library is loaded twice.
    scope = "<scope>provided</scope>" if with_gds else ""
    gds = (
        "<dependency><groupId>org.neo4j.gds</groupId><artifactId>opengds-extension</artifactId>"
        f"<version>{OPENGDS_VERSION}</version></dependency>"
        if with_gds
        else ""
    )
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>sociograph.local</groupId><artifactId>neo4j-fetch</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.neo4j.app</groupId><artifactId>neo4j-server</artifactId><version>{version}</version>{scope}</dependency>
    <dependency><groupId>org.neo4j</groupId><artifactId>neo4j</artifactId><version>{version}</version>{scope}</dependency>
    {gds}
  </dependencies>
</project>
"""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _maven_failure_cause(output: str) -> str:
    if re.search(r"UnknownHost|Could not transfer|Connection refused|Network is unreachable|timed out|offline mode", output):
        return "Maven Central unreachable"
    if "Could not resolve dependencies" in output or "could not be resolved" in output:
        return "artifact not found on Maven Central"
    return "Maven failed"


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


def _alive(pid: int) -> bool:
    # A server launched by this very process lingers as a zombie until reaped.
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    return pid_alive(pid)


def _private_dir(path: Path) -> Path:
    """Creates ``path`` (and its missing parents) and makes it owner-only (0700), also when it existed.

    Returns:
        ``path``.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _write_private(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` as an owner-only (0600) file that appears whole or not at all."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def command_line(pid: int) -> str:
    """Returns the command line of process ``pid``, its arguments joined by spaces, or "" when it
    cannot be read (the process is gone, or it is not ours to read).

    Reads ``/proc/PID/cmdline``; where there is no ``/proc`` (macOS), asks ``ps``.
    """
    if PROC.is_dir():
        try:
            raw = (PROC / str(pid) / "cmdline").read_bytes()
        except OSError:
            return ""
        return " ".join(arg.decode(errors="replace") for arg in raw.split(b"\0") if arg)
    proc = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, timeout=10)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def port_in_use(port: int) -> bool:
    """Returns True when something already listens on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class LocalNeo4j:
    """Provisions, starts, inspects and stops one project-managed Neo4j server."""

    def __init__(self, settings: LocalServerSettings) -> None:
        self.settings = settings

    @property
    def _pid_file(self) -> Path:
        return self.settings.state_dir / "run" / "sociograph-neo4j.pid"

    @property
    def _log_file(self) -> Path:
        return self.settings.state_dir / "logs" / "console.log"

    @property
    def plugins_dir(self) -> Path:
        """Returns the plugins directory of this server."""
        return self.settings.state_dir / "plugins"

    def fetch(self, with_gds: bool = False) -> Path:
        """Fetches the jars with Maven into the cache unless they are already there and intact.

        Returns:
            The directory holding the jars.

        Raises:
            ServerError: naming the cause (Maven missing, Central unreachable, corrupt cache).
        """
        lib = self.settings.lib_dir
        if (lib / MANIFEST).exists():
            self.verify_cache()
        else:
            self._run_maven(lib, with_gds=False)
        if with_gds:
            self._fetch_gds()
        return lib

    def _run_maven(self, lib: Path, with_gds: bool) -> None:
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ServerError("Maven (`mvn`) is not on PATH; it is needed to fetch Neo4j from Maven Central")
        work = lib.parent / ("fetch-gds" if with_gds else "fetch")
        staging = work / "lib"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        (work / "pom.xml").write_text(_pom(self.settings.version, with_gds))
        log.info("fetching Neo4j %s from Maven Central%s", self.settings.version, " with OpenGDS" if with_gds else "")
        proc = subprocess.run(
            [mvn, "-B", "-q", *self.settings.maven_args, COPY_DEPENDENCIES, f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if proc.returncode != 0:
            output = proc.stdout + proc.stderr
            raise ServerError(f"{_maven_failure_cause(output)}: {output.strip()[-600:]}")
        if with_gds:
            _private_dir(self.plugins_dir)
            for jar in staging.glob("*.jar"):
                shutil.copy2(jar, self.plugins_dir / jar.name)
            shutil.rmtree(work, ignore_errors=True)
            return
        manifest = {jar.name: _sha256(jar) for jar in sorted(staging.glob("*.jar"))}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=0))
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
        shutil.rmtree(work, ignore_errors=True)

    def _fetch_gds(self) -> None:
        if any(self.plugins_dir.glob("opengds-extension*.jar")):
            return
        self._run_maven(self.settings.lib_dir, with_gds=True)
        if not any(self.plugins_dir.glob("opengds-extension*.jar")):
            raise ServerError(f"OpenGDS {OPENGDS_VERSION} resolved but its jar was not found")

    def verify_cache(self) -> None:
        """Checks every cached jar against the manifest written when it was fetched.

        Raises:
            ServerError: "corrupt cache" naming the first missing or altered jar.
        """
        lib = self.settings.lib_dir
        manifest = json.loads((lib / MANIFEST).read_text())
        for name, digest in manifest.items():
            jar = lib / name
            if not jar.exists():
                raise ServerError(f"corrupt cache: {jar} is missing; delete {lib.parent} and start again")
            if jar.stat().st_size == 0 or not zipfile.is_zipfile(jar) or _sha256(jar) != digest:
                raise ServerError(f"corrupt cache: {jar} does not match its checksum; delete {lib.parent} and start again")

    def _write_config(self) -> Path:
        s = self.settings
        _private_dir(s.state_dir)
        conf_dir = _private_dir(_private_dir(s.home_dir) / "conf")
        for sub in ("data", "logs", "run", "plugins", "import"):
            _private_dir(s.state_dir / sub)
        lines = [
            f"server.bolt.listen_address=127.0.0.1:{s.bolt_port}",
            f"server.bolt.advertised_address=127.0.0.1:{s.bolt_port}",
            f"server.http.enabled={'true' if s.http_enabled else 'false'}",
            f"server.http.listen_address=127.0.0.1:{s.http_port}",
            "server.https.enabled=false",
            f"server.directories.data={s.state_dir / 'data'}",
            f"server.directories.logs={s.state_dir / 'logs'}",
            f"server.directories.run={s.state_dir / 'run'}",
            f"server.directories.plugins={self.plugins_dir}",
            f"server.directories.import={s.state_dir / 'import'}",
            f"server.memory.pagecache.size={s.pagecache}",
            "dbms.security.auth_enabled=true",
            "dbms.usage_report.enabled=false",
            "dbms.security.procedures.unrestricted=gds.*",
            # Netty waits this many quiet seconds per event-loop group before Bolt shuts down
            # (default 5, twice over): 10 s of every stop on a server that only this machine uses.
            "internal.dbms.bolt.netty_server_shutdown_quiet_period=0",
        ]
        _write_private(conf_dir / "neo4j.conf", "\n".join(lines) + "\n")
        return conf_dir

    def _java_cmd(self, main_class: str, *args: str, heap: str = "512m", options: Sequence[str] = ()) -> list[str]:
        s = self.settings
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
            f"{s.lib_dir}/*:{self.plugins_dir}/*",
            f"-Dbasedir={s.home_dir}",
            main_class,
            *args,
        ]

    def admin(self, *args: str, timeout: int = 3600) -> subprocess.CompletedProcess[str]:
        """Runs ``neo4j-admin`` with this server's configuration.

        Returns:
            The completed process (stdout/stderr captured as text).
        """
        self._write_config()
        env = {**os.environ, "NEO4J_CONF": str(self.settings.home_dir / "conf"), "NEO4J_HOME": str(self.settings.home_dir)}
        return subprocess.run(
            self._java_cmd(ADMIN_CLASS, *args, heap=self.settings.heap),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            umask=PRIVATE_UMASK,
        )

    def _ensure_password(self) -> None:
        # Safe to kill at any point: the password file appears (whole, by a rename) only once
        # neo4j-admin has stored the password, and before the server first starts.  Until then a
        # new start simply sets a new password, as neo4j-admin overwrites one set before.
        pw_file = self.settings.password_file
        if pw_file.exists():
            pw_file.chmod(0o600)
            return
        if (self.settings.state_dir / "data" / "databases" / "system").exists():
            raise ServerError(
                f"the database in {self.settings.state_dir / 'data'} was initialised but {pw_file} is gone; "
                "restore the password file or remove the data directory"
            )
        # A leading "-" would be parsed by neo4j-admin as an option, so the password starts with a letter.
        password = "p" + secrets.token_urlsafe(24)
        # neo4j-admin reads its arguments from an owner-only @file (picocli expands it in Java), and
        # hands the @file on unexpanded to the JVM it forks: so the password is on no command line
        # (ps, /proc/PID/cmdline), nor in the JVMs' perf-data files under /tmp, which copy those.
        args_file = _private_dir(self.settings.state_dir / "run") / "initial-password.args"
        _write_private(args_file, f"dbms set-initial-password {password} --require-password-change=false\n")
        try:
            proc = self.admin(f"@{args_file}", timeout=120)
        finally:
            args_file.unlink(missing_ok=True)
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).replace(password, "<password>")
            raise ServerError(f"could not set the initial password: {output.strip()[-400:]}")
        _write_private(pw_file, password)

    def _read_pid(self) -> int | None:
        """Returns the pid in the pid file when that process is this server, else None.

        A pid file naming a process that is gone, or one that is not this server (a pid reused
        after a crash), is removed, so that nothing ever signals or waits on a stranger.
        """
        try:
            pid = int(self._pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not _alive(pid):
            return None
        if not self._is_ours(pid):
            log.warning(
                "the pid file %s names pid %d, which is not this Neo4j (%s); removed the stale pid file",
                self._pid_file, pid, self.settings.home_dir,
            )
            self._pid_file.unlink(missing_ok=True)
            return None
        return pid

    def _is_ours(self, pid: int) -> bool:
        """Returns True when process ``pid`` runs Neo4j's server class with this server's home directory."""
        # The arguments are joined by spaces; the padding makes each check match whole arguments
        # (so that a home of ".../neo4j2" is not taken for ".../neo4j").
        line = f" {command_line(pid)} "
        return f" {SERVER_CLASS} " in line and f" --home-dir={self.settings.home_dir} " in line

    def _bolt(self) -> str:
        """Returns "answering", "refused" (Bolt answers but not to the password file's password) or "silent"."""
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

        if not self.settings.password_file.exists():
            return "silent"
        password = self.settings.password_file.read_text().strip()
        try:
            with GraphDatabase.driver(self.settings.bolt_uri, auth=("neo4j", password), connection_timeout=2) as driver:
                driver.verify_connectivity()
            return "answering"
        except AuthError:
            return "refused"
        except (ServiceUnavailable, Neo4jError, OSError):
            return "silent"

    def status(self) -> ServerStatus:
        """Returns the Bolt URI, whether it answers (or refuses our password), and the pid of our server if it runs."""
        bolt = self._bolt()
        return ServerStatus(self.settings.bolt_uri, bolt == "answering", self._read_pid(), refuses_password=bolt == "refused")

    def start(self, with_gds: bool = False) -> ServerStatus:
        """Starts the server, or reuses it when it already runs, and waits until Bolt answers.

        Returns:
            The status of the running server.

        Raises:
            ServerError: naming the cause when Java is missing or too old, the port
                is taken by another process, Maven fails, the cache is corrupt, Bolt
                refuses the password file's password, or Bolt does not answer within
                ``start_timeout_s``.
        """
        pid = self._read_pid()
        if pid is not None and self._bolt() == "answering":
            if with_gds and not any(self.plugins_dir.glob("opengds-extension*.jar")):
                raise ServerError("the running server has no OpenGDS plugin; stop it and start again with --with-gds")
            log.info("reusing the running Neo4j (pid %d) at %s", pid, self.settings.bolt_uri)
            return ServerStatus(self.settings.bolt_uri, True, pid)
        major = java_version()
        if major < 17:
            raise ServerError(f"no suitable Java: found Java {major}, Neo4j 5.26 needs 17 or 21")
        if pid is None and port_in_use(self.settings.bolt_port):
            raise ServerError(
                f"port taken: 127.0.0.1:{self.settings.bolt_port} is in use by another process; "
                "set SOCIOGRAPH_BOLT_PORT or stop that process"
            )
        self.fetch(with_gds=with_gds)
        conf_dir = self._write_config()
        self._ensure_password()
        if pid is not None:
            return self._wait_for_bolt(pid)
        return self._wait_for_bolt(self._launch(conf_dir, self._class_archive()))

    def _class_archive(self) -> ClassArchive:
        s = self.settings
        plugins = list(self.plugins_dir.glob("*.jar"))
        # An archive holds for one exact class path.  Plugins sit in each server's own state, so
        # a server with plugins keeps its archive there too, and it goes when that state goes.
        directory = s.state_dir / "run" / "cds" if plugins else s.lib_dir.parent / "cds"
        return ClassArchive(directory, [*s.lib_dir.glob("*.jar"), *plugins], s.state_dir / "run" / "class-archive")

    def _launch(self, conf_dir: Path, archive: ClassArchive) -> int:
        s = self.settings
        _private_dir(self._log_file.parent)
        # _is_ours recognises this server by its class and its --home-dir.
        cmd = self._java_cmd(
            SERVER_CLASS,
            f"--home-dir={s.home_dir}",
            f"--config-dir={conf_dir}",
            "--console-mode",
            heap=s.heap,
            options=archive.options(),
        )
        log.info("starting Neo4j %s on %s", s.version, s.bolt_uri)
        out = os.open(self._log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, umask=PRIVATE_UMASK
            )
        finally:
            os.close(out)
        _write_private(self._pid_file, str(proc.pid))
        archive.claimed(proc.pid)
        return proc.pid

    def _wait_for_bolt(self, pid: int) -> ServerStatus:
        deadline = time.monotonic() + self.settings.start_timeout_s
        while time.monotonic() < deadline:
            bolt = self._bolt()
            if bolt == "answering":
                return ServerStatus(self.settings.bolt_uri, True, pid)
            if bolt == "refused":
                raise ServerError(
                    f"Neo4j at {self.settings.bolt_uri} answers but refuses the password in {self.settings.password_file}; "
                    f"restore the password file of this database, or stop the server and remove {self.settings.state_dir / 'data'}"
                )
            if not _alive(pid):
                raise ServerError(f"Neo4j exited during start-up: {self._log_tail()}")
            time.sleep(0.2)
        raise ServerError(
            f"Bolt did not answer on {self.settings.bolt_uri} within {self.settings.start_timeout_s} s: {self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            lines = self._log_file.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "no log written"
        errors = [line for line in lines if "ERROR" in line or "Exception" in line]
        return " | ".join((errors or lines)[-5:])

    def stop(self, timeout_s: float = 60) -> bool:
        """Stops the server cleanly (SIGTERM, then SIGKILL after ``timeout_s``).

        Returns:
            True when a running server was stopped, False when none was running (a pid file
            that names some other process is removed, with a warning, and nothing is signalled).
        """
        pid = self._read_pid()
        if pid is None:
            self._pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                break
            time.sleep(0.3)
        else:
            log.warning("Neo4j (pid %d) did not stop within %.0f s; killing it", pid, timeout_s)
            os.kill(pid, signal.SIGKILL)
        self._pid_file.unlink(missing_ok=True)
        self._class_archive().settle(pid)
        return True
