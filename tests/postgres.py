"""A throwaway PostgreSQL server for the tests: Debian's binaries, a cluster in a temp dir.

`PostgresServer.start()` finds ``initdb``/``pg_ctl`` under
``/usr/lib/postgresql/*/bin`` (installing Debian's ``postgresql`` package
first when it is missing and we are root), creates a cluster in a fresh
temporary directory, starts it on a free loopback port with its Unix socket
in that directory, and hands out databases by URL. As root the cluster runs
as the ``postgres`` user, because ``initdb`` refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

SKIP_VARIABLE = "PYOCCI_SKIP_POSTGRES"


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL could not be found, installed or started."""


def _find_bin_dir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: (
            int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(candidates[-1]).parent if candidates else None


def _install() -> None:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"]
    if subprocess.run(command, env=environment, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=environment, capture_output=True, check=False)
        result = subprocess.run(command, env=environment, capture_output=True, text=True)
        if result.returncode != 0:
            failure = result.stderr[-500:]
            raise PostgresUnavailableError(f"apt-get install postgresql failed: {failure}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One running cluster; `create_database` gives each caller a clean database."""

    def __init__(self, bin_dir: Path, *, durable: bool = False) -> None:
        self.bin_dir = bin_dir
        self.durable = durable
        self.port = 0
        self.directory: Path | None = None
        self._user: pwd.struct_passwd | None = None

    @classmethod
    def find_or_install(cls, *, durable: bool = False) -> PostgresServer:
        """A server using the installed PostgreSQL; install it first if we may."""
        bin_dir = _find_bin_dir()
        if bin_dir is None and os.geteuid() == 0 and shutil.which("apt-get"):
            _install()
            bin_dir = _find_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailableError(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb) and could "
                f"not be installed; install it (apt-get install postgresql) or set "
                f"{SKIP_VARIABLE}=1 to skip the PostgreSQL tests"
            )
        return cls(bin_dir, durable=durable)

    def _run(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        user = self._user.pw_name if self._user is not None else None
        result = subprocess.run(
            [str(self.bin_dir / arguments[0]), *arguments[1:]],
            capture_output=True,
            text=True,
            user=user,
            cwd=self.directory,
        )
        if result.returncode != 0:
            raise PostgresUnavailableError(
                f"{arguments[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}"
            )
        return result

    def start(self) -> None:
        """Create the cluster and start the server."""
        self.directory = Path(tempfile.mkdtemp(prefix="pyocci-postgres-"))
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam("postgres")
            except KeyError as error:
                raise PostgresUnavailableError(
                    "running as root, but there is no 'postgres' user to run PostgreSQL as"
                ) from error
            os.chown(self.directory, self._user.pw_uid, self._user.pw_gid)
        data = self.directory / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.port = _free_port()
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.directory}",
            "-c max_connections=200",
        ]
        if not self.durable:
            # Test data is thrown away: skip the fsyncs.
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-l",
            str(self.directory / "server.log"),
            "-o",
            " ".join(options),
            "-w",
            "-t",
            "60",
            "start",
        )

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of one database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = name or "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still in it."""
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        if self.directory is None:
            return
        data = self.directory / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresUnavailableError):
                self._run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None


@contextlib.contextmanager
def database_of(kind: str) -> Iterator[str | None]:
    """A database for a run outside pytest's fixtures (the bench's reliability figures):
    None for ``sqlite`` (the server's own file), else the URL of a fresh database on a
    PostgreSQL cluster started for the block and stopped after it."""
    if kind == "sqlite":
        yield None
        return
    server = PostgresServer.find_or_install()
    server.start()
    try:
        yield server.create_database()
    finally:
        server.stop()
