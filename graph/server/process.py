"""The server process: start (reusing a running one), status, stop, its pid file and its password.

The server listens on loopback only, with authentication on and a password generated
on first start and kept in an owner-only file.  The password never appears on a
command line: ``neo4j-admin`` reads it from an owner-only argument file.  A pid file
is trusted only when the process it names runs this server's class and home directory.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from graph.config import LocalServerSettings
from graph.server import maven
from graph.server.class_archive import ClassArchive, pid_alive
from graph.server.conf import ADMIN_CLASS, SERVER_CLASS, java_command, java_version, write_config
from graph.server.errors import ServerError
from graph.server.private import PRIVATE_UMASK, private_dir, write_private

log = logging.getLogger(__name__)

PROC = Path("/proc")


@dataclass(frozen=True)
class ServerStatus:
    """What ``status`` reports: the Bolt URI, whether it answers, and our pid if running.

    ``refuses_password`` is true when Bolt answers but does not accept the password file's password.
    """

    bolt_uri: str
    answering: bool
    pid: int | None
    refuses_password: bool = False


def _alive(pid: int) -> bool:
    # A server launched by this very process lingers as a zombie until reaped.
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    return pid_alive(pid)


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
            The directory holding the jars (see :func:`graph.server.maven.fetch`).

        Raises:
            ServerError: naming the cause (Maven missing, Central unreachable, corrupt cache).
        """
        return maven.fetch(self.settings, self.plugins_dir, with_gds=with_gds)

    def verify_cache(self) -> None:
        """Checks every cached jar against the manifest written when it was fetched.

        Raises:
            ServerError: "corrupt cache" naming the first missing or altered jar.
        """
        maven.verify_cache(self.settings.lib_dir)

    def admin(self, *args: str, timeout: int = 3600) -> subprocess.CompletedProcess[str]:
        """Runs ``neo4j-admin`` with this server's configuration.

        Returns:
            The completed process (stdout/stderr captured as text).
        """
        write_config(self.settings, self.plugins_dir)
        env = {**os.environ, "NEO4J_CONF": str(self.settings.home_dir / "conf"), "NEO4J_HOME": str(self.settings.home_dir)}
        return subprocess.run(
            java_command(self.settings, self.plugins_dir, ADMIN_CLASS, *args, heap=self.settings.heap),
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
        args_file = private_dir(self.settings.state_dir / "run") / "initial-password.args"
        write_private(args_file, f"dbms set-initial-password {password} --require-password-change=false\n")
        try:
            proc = self.admin(f"@{args_file}", timeout=120)
        finally:
            args_file.unlink(missing_ok=True)
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).replace(password, "<password>")
            raise ServerError(f"could not set the initial password: {output.strip()[-400:]}")
        write_private(pw_file, password)

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
            if with_gds and not maven.has_gds(self.plugins_dir):
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
        conf_dir = write_config(self.settings, self.plugins_dir)
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
        private_dir(self._log_file.parent)
        # _is_ours recognises this server by its class and its --home-dir.
        cmd = java_command(
            s,
            self.plugins_dir,
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
        write_private(self._pid_file, str(proc.pid))
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
