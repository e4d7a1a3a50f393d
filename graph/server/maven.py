"""Fetching the Neo4j distribution and the OpenGDS plugin from Maven Central into a per-user cache.

Maven resolves ``org.neo4j.app:neo4j-server`` and ``org.neo4j:neo4j`` with their runtime
dependencies; the jars land in the cache's ``lib`` directory together with a manifest of
their checksums, which every later start checks before it trusts the cache.  The plugin's
jars go into the plugins directory of one server's state.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

from graph.config import OPENGDS_VERSION, LocalServerSettings
from graph.server.errors import ServerError
from graph.digest import sha256_of
from graph.server.private import private_dir

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
COPY_DEPENDENCIES = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies"


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


def _maven_failure_cause(output: str) -> str:
    if re.search(r"UnknownHost|Could not transfer|Connection refused|Network is unreachable|timed out|offline mode", output):
        return "Maven Central unreachable"
    if "Could not resolve dependencies" in output or "could not be resolved" in output:
        return "artifact not found on Maven Central"
    return "Maven failed"


def fetch(settings: LocalServerSettings, plugins_dir: Path, with_gds: bool = False) -> Path:
    """Fetches the jars with Maven into the cache unless they are already there and intact.

    Args:
        plugins_dir: the plugins directory of the server that ``with_gds`` fetches OpenGDS for.

    Returns:
        The directory holding the jars.

    Raises:
        ServerError: naming the cause (Maven missing, Central unreachable, corrupt cache).
    """
    lib = settings.lib_dir
    if (lib / MANIFEST).exists():
        verify_cache(lib)
    else:
        _run_maven(settings, plugins_dir, lib, with_gds=False)
    if with_gds:
        _fetch_gds(settings, plugins_dir)
    return lib


def _run_maven(settings: LocalServerSettings, plugins_dir: Path, lib: Path, with_gds: bool) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServerError("Maven (`mvn`) is not on PATH; it is needed to fetch Neo4j from Maven Central")
    work = lib.parent / ("fetch-gds" if with_gds else "fetch")
    staging = work / "lib"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "pom.xml").write_text(_pom(settings.version, with_gds))
    log.info("fetching Neo4j %s from Maven Central%s", settings.version, " with OpenGDS" if with_gds else "")
    proc = subprocess.run(
        [mvn, "-B", "-q", *settings.maven_args, COPY_DEPENDENCIES, f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        raise ServerError(f"{_maven_failure_cause(output)}: {output.strip()[-600:]}")
    if with_gds:
        private_dir(plugins_dir)
        for jar in staging.glob("*.jar"):
            shutil.copy2(jar, plugins_dir / jar.name)
        shutil.rmtree(work, ignore_errors=True)
        return
    manifest = {jar.name: sha256_of(jar) for jar in sorted(staging.glob("*.jar"))}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=0))
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    shutil.rmtree(work, ignore_errors=True)


def _fetch_gds(settings: LocalServerSettings, plugins_dir: Path) -> None:
    if has_gds(plugins_dir):
        return
    _run_maven(settings, plugins_dir, settings.lib_dir, with_gds=True)
    if not has_gds(plugins_dir):
        raise ServerError(f"OpenGDS {OPENGDS_VERSION} resolved but its jar was not found")


def has_gds(plugins_dir: Path) -> bool:
    """Returns True when ``plugins_dir`` holds the OpenGDS extension's jar."""
    return any(plugins_dir.glob("opengds-extension*.jar"))


def verify_cache(lib: Path) -> None:
    """Checks every jar cached in ``lib`` against the manifest written when it was fetched.

    Raises:
        ServerError: "corrupt cache" naming the first missing or altered jar.
    """
    manifest = json.loads((lib / MANIFEST).read_text())
    for name, digest in manifest.items():
        jar = lib / name
        if not jar.exists():
            raise ServerError(f"corrupt cache: {jar} is missing; delete {lib.parent} and start again")
        if jar.stat().st_size == 0 or not zipfile.is_zipfile(jar) or sha256_of(jar) != digest:
            raise ServerError(f"corrupt cache: {jar} does not match its checksum; delete {lib.parent} and start again")
