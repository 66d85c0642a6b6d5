"""How many connections a worker may hold without running out of file descriptors.

Every open connection is a file descriptor. A process that runs out of them
cannot accept a connection, open its SQLite file or reach its cloud: every
client fails, not only the ones holding the connections. So a worker never
holds more connections than its open-files limit leaves room for, keeping
`RESERVED_FILES` for everything else it opens.
"""

from __future__ import annotations

import contextlib

try:
    import resource
except ImportError:  # not on Windows; there is no such limit to respect there
    resource = None  # type: ignore[assignment]

__all__ = ["RESERVED_FILES", "connection_cap", "raise_open_files_limit"]

#: Descriptors kept for what is not a client connection: the database (SQLite's
#: file, journal and shared memory, or a PostgreSQL pool), the cloud's connection
#: pools, logs, the event loop's own, the listening socket.
RESERVED_FILES = 256


def connection_cap(max_connections: int) -> int:
    """`max_connections`, lowered to what this process's open-files limit can hold."""
    if resource is None:
        return max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return max_connections
    return max(1, min(max_connections, soft - RESERVED_FILES))


def raise_open_files_limit(max_connections: int) -> int:
    """Raise this process's soft open-files limit to what `max_connections` needs, as far
    as the hard limit allows (worker processes inherit it); return `connection_cap`."""
    if resource is None:
        return max_connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        # Some platforms refuse; the cap below then follows the limit as it is.
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
    return connection_cap(max_connections)
