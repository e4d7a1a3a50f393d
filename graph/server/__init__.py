"""A Neo4j Community server that sociograph provisions and runs itself.

The jars come from Maven Central through Maven (``org.neo4j.app:neo4j-server``
and ``org.neo4j:neo4j`` with their runtime dependencies) into a per-user cache;
the server listens on loopback only, with authentication on and a password
generated on first start and kept in an owner-only file.  The password never
appears on a command line: ``neo4j-admin`` reads it from an owner-only argument
file.  The state directory and everything the server writes into it are
readable by their owner only.

Modules:

* :mod:`graph.server.process`: :class:`LocalNeo4j` (start, status, stop, the pid file,
  the password, waiting for Bolt) and :class:`ServerStatus`.
* :mod:`graph.server.maven`: fetching the distribution and the OpenGDS plugin from
  Maven Central, and checking the cache against its manifest.
* :mod:`graph.server.conf`: ``neo4j.conf`` and the Java command lines of the server
  and of ``neo4j-admin``.
* :mod:`graph.server.class_archive`: the class-data-sharing archive that speeds up later starts.
* :mod:`graph.server.private`: owner-only directories and files.
* :mod:`graph.server.errors`: :class:`ServerError`.
* :mod:`graph.server.sandbox`: a throwaway server for evaluations (import it from there).

The names below are re-exported so that ``from graph.server import LocalNeo4j`` keeps working.
"""

from graph.server.class_archive import ClassArchive, pid_alive
from graph.server.conf import ADMIN_CLASS, JAVA_OPENS, SERVER_CLASS, java_version
from graph.server.errors import ServerError
from graph.server.maven import COPY_DEPENDENCIES, MANIFEST
from graph.server.private import PRIVATE_UMASK
from graph.server.process import LocalNeo4j, ServerStatus, command_line, port_in_use

__all__ = [
    "ADMIN_CLASS",
    "COPY_DEPENDENCIES",
    "ClassArchive",
    "JAVA_OPENS",
    "LocalNeo4j",
    "MANIFEST",
    "PRIVATE_UMASK",
    "SERVER_CLASS",
    "ServerError",
    "ServerStatus",
    "command_line",
    "java_version",
    "pid_alive",
    "port_in_use",
]
