"""The database under stress: a full disk, a read-only database, text it cannot hold,
and several processes migrating one fresh database at once.

Real faults only: the disk fills up for real (a size-limited tmpfs, which
needs root to mount; SQLite keeps its file there, PostgreSQL a tablespace),
PostgreSQL is made read-only the way an operator would
(``default_transaction_read_only``), real ``occi-server`` processes answer.

Each scenario returns what the client saw and what the server logged; the
tests (``test_store_faults.py``) assert on them, `figures` sums them up.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from e2e.server import OCCI_12_USER_AGENT, RunningServer, occi_server
from postgres import PostgresServer
from reliability.figures import Figure, table

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE_KIND = f'Category: compute; scheme="{INFRA}"; class="kind"\n'
OCCI_JSON = "application/occi+json"

#: Statuses a write may get while the disk is full or the database read-only.
UNAVAILABLE = (503, 507)
#: Writes pad their titles so that a few of them fill what free pages are left.
PADDING = "x" * 2000

#: Log lines of the store (see pyocci.store.faults): an incident starts, one ends.
INCIDENT_STARTS = "requests that need it are refused until it recovers"
INCIDENT_ENDS = "works again after"

SCALES = {
    # (writes during an incident, starts of a many-worker server, processes upgrading at once)
    "quick": (40, 2, 4),
    "full": (400, 10, 8),
}


class MountUnavailableError(RuntimeError):
    """A size-limited file system cannot be mounted here (not root, or no permission)."""


# --- a disk that fills up ---------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(size_mb: int, *, owner: str | None = None) -> Iterator[Path]:
    """A tmpfs of `size_mb` MiB mounted on a fresh directory (owned by `owner` if
    given, and reachable by every user), unmounted at the end."""
    if os.geteuid() != 0:
        raise MountUnavailableError("mounting a size-limited tmpfs needs root")
    parent = Path(tempfile.mkdtemp(prefix="pyocci-disk-"))
    parent.chmod(0o755)  # PostgreSQL, running as its own user, must reach the mount
    mountpoint = parent / "disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        parent.joinpath("disk").rmdir()
        parent.rmdir()
        raise MountUnavailableError(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        if owner is not None:
            user = pwd.getpwnam(owner)
            os.chown(mountpoint, user.pw_uid, user.pw_gid)
        yield mountpoint
    finally:
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)
        with contextlib.suppress(OSError):
            mountpoint.rmdir()
            parent.rmdir()


def fill(directory: Path) -> Path:
    """Write a file in `directory` until the file system has no byte left; its path."""
    filler = directory / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        # Unbuffered, in ever smaller blocks, down to the last byte.
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            try:
                while True:
                    os.write(descriptor, block)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(descriptor)
    return filler


# --- what a client and the log saw ---------------------------------------------------------


@dataclass
class Incident:
    """What one scenario saw: the status of every write and read, the log's lines."""

    name: str
    writes: list[int] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)
    #: Retry-After of the refused writes ('' when missing).
    retry_after: list[str] = field(default_factory=list)
    #: One refused write's error document, as a JSON client got it.
    example: dict[str, object] = field(default_factory=dict)
    #: Status of the first writes after the fault was cleared.
    after: list[int] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    @property
    def server_errors(self) -> list[int]:
        """5xx answers other than 503 and 507."""
        every = [*self.writes, *self.reads, *self.after]
        return [status for status in every if status >= 500 and status not in UNAVAILABLE]

    @property
    def refused(self) -> int:
        """Writes answered 503 or 507."""
        return sum(status in UNAVAILABLE for status in self.writes)

    @property
    def failure_runs(self) -> int:
        """Runs of consecutive refused writes (each is one incident to the server)."""
        statuses = [*self.writes, *self.after]
        return sum(
            1
            for index, status in enumerate(statuses)
            if status in UNAVAILABLE and (index == 0 or statuses[index - 1] not in UNAVAILABLE)
        )

    @property
    def incident_lines(self) -> list[str]:
        return [line for line in self.log if INCIDENT_STARTS in line]

    @property
    def recovery_lines(self) -> list[str]:
        return [line for line in self.log if INCIDENT_ENDS in line]

    @property
    def tracebacks(self) -> int:
        return sum("Traceback" in line for line in self.log)


def client(server: RunningServer) -> httpx.Client:
    """An OCCI 1.2 client of `server` that answers in JSON."""
    return httpx.Client(
        base_url=server.url,
        timeout=30,
        headers={"User-Agent": OCCI_12_USER_AGENT, "Accept": OCCI_JSON},
    )


def create(http: httpx.Client, number: int) -> httpx.Response:
    """Create a compute whose title takes some room."""
    body = COMPUTE_KIND + f'X-OCCI-Attribute: occi.core.title="{PADDING}{number}"\n'
    return http.post("/compute/", headers={"Content-Type": "text/plain"}, content=body)


def define_mixin(http: httpx.Client, number: int) -> httpx.Response:
    """Define a user mixin (a write to the store's own tables, not the sim's)."""
    mixin = {
        "scheme": "http://example.org/tags#",
        "term": f"tag{number}-{uuid.uuid4().hex[:8]}",
        "title": PADDING,
        "location": f"/tags/t{number}-{uuid.uuid4().hex[:8]}/",
    }
    return http.post("/-/", headers={"Content-Type": OCCI_JSON}, json={"mixins": [mixin]})


def write(http: httpx.Client, number: int) -> httpx.Response:
    """Every third write defines a mixin, the others create computes."""
    return define_mixin(http, number) if number % 3 == 2 else create(http, number)


def server_log(server: RunningServer) -> list[str]:
    return server.log.read_text(errors="replace").splitlines()


def during_fault(
    server: RunningServer, name: str, writes: int, clear: Callable[[], None]
) -> Incident:
    """`writes` writes and as many reads while the fault lasts, then `clear` it and
    write until one succeeds (at most 20 tries)."""
    seen = Incident(name)
    with client(server) as http:
        for number in range(writes):
            answer = write(http, number)
            seen.writes.append(answer.status_code)
            if answer.status_code in UNAVAILABLE:
                seen.retry_after.append(answer.headers.get("retry-after", ""))
                if not seen.example:
                    seen.example = answer.json()
            seen.reads.append(http.get("/compute/").status_code)
        clear()
        for number in range(20):
            status = write(http, writes + number).status_code
            seen.after.append(status)
            if status < 300:
                break
    seen.log = server_log(server)
    return seen


@contextlib.contextmanager
def served(database_url: str | None, config: str | None = None) -> Iterator[RunningServer]:
    """``occi-server`` on `database_url` (None: a SQLite file among its work files), its
    work files in a temporary directory."""
    with (
        tempfile.TemporaryDirectory() as directory,
        occi_server(Path(directory), database_url=database_url, config=config) as server,
    ):
        yield server


def sqlite_disk_full(writes: int, *, incidents: int = 2) -> Incident:
    """SQLite on a tmpfs that fills up `incidents` times, and is freed after each."""
    with small_disk(8) as disk, served(f"sqlite:///{disk / 'occi.db'}") as server:
        with client(server) as http:
            assert all(create(http, n).status_code == 201 for n in range(3))
        seen = Incident("SQLite, disk full")
        for _ in range(incidents):
            filler = fill(disk)
            part = during_fault(server, seen.name, writes, filler.unlink)
            # In the order they were sent: the last writes after a fault stay `after`.
            seen.writes += seen.after + part.writes
            seen.after = part.after
            seen.reads += part.reads
            seen.retry_after += part.retry_after
            seen.example = seen.example or part.example
        seen.log = server_log(server)
        return seen


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresServer]:
    """A PostgreSQL server of its own (see tests/postgres.py), stopped at the end."""
    cluster = PostgresServer.find_or_install()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _admin(cluster: PostgresServer) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres", autocommit=True
    )


def _disconnect_everyone(admin: psycopg.Connection[tuple[object, ...]], database: str) -> None:
    # Settings of a database apply to new sessions: end the server's pooled ones.
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (database,)
    )


def postgresql_disk_full(cluster: PostgresServer, writes: int) -> Incident:
    """PostgreSQL with the database in a tablespace on a tmpfs that fills up, then is freed."""
    name = "full_" + uuid.uuid4().hex[:12]
    with small_disk(32, owner="postgres") as disk, _admin(cluster) as admin:
        admin.execute(f"CREATE TABLESPACE {name} LOCATION '{disk}'")
        try:
            admin.execute(f"CREATE DATABASE {name} TABLESPACE {name}")
            url = cluster.url(name)
            with served(url) as server:
                filler = fill(disk)
                return during_fault(server, "PostgreSQL, disk full", writes, filler.unlink)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"DROP TABLESPACE IF EXISTS {name}")


def postgresql_read_only(cluster: PostgresServer, writes: int) -> Incident:
    """PostgreSQL made read-only (``default_transaction_read_only``), then writable again."""
    url = cluster.create_database()
    name = url.rsplit("/", 1)[1]
    try:
        with _admin(cluster) as admin, served(url) as server:
            admin.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
            _disconnect_everyone(admin, name)

            def writable() -> None:
                admin.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")
                _disconnect_everyone(admin, name)

            return during_fault(server, "PostgreSQL, read-only", writes, writable)
    finally:
        cluster.drop_database(name)


# --- migrations by several processes at once --------------------------------------------------

_UPGRADER = """
import sys, time
from pyocci.store import Database
# Imports done, every process sleeps until the same moment.
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
database = Database(sys.argv[1])
database.upgrade()
print(database.current_revision())
"""


@dataclass(frozen=True)
class Upgrades:
    """Processes that upgraded one fresh database at once: how each ended."""

    exit_codes: list[int]
    revisions: list[str]
    errors: list[str]

    @property
    def failed(self) -> int:
        return sum(code != 0 for code in self.exit_codes)


def concurrent_upgrades(url: str, processes: int) -> Upgrades:
    """Start `processes` Python processes that each upgrade the database at `url` at the
    same moment (after their imports, they sleep until a common start time)."""
    start = time.time() + 3
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _UPGRADER, url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    return Upgrades(
        exit_codes=[child.returncode for child in children],
        revisions=[out.strip() for out, _ in outputs],
        errors=[err.strip().splitlines()[-1] for _, err in outputs if err.strip()],
    )


@dataclass(frozen=True)
class Start:
    """One start of a many-worker server: whether it served, and every worker started
    without an error."""

    served: bool
    workers_started: int
    failures: list[str]

    def clean(self, workers: int) -> bool:
        return self.served and self.workers_started == workers and not self.failures


_STARTED = "Application startup complete."
_FAILED = ("Traceback", "Application startup failed", "Error")


def start_many_workers(url: str, workers: int) -> Start:
    """Start ``occi-server --workers N`` (uvicorn) on the database at `url`, wait until
    every worker has finished its start (or one failed), and stop it."""
    config = f'workers = {workers}\nserver = "uvicorn"\n'
    with tempfile.TemporaryDirectory() as directory:
        try:
            with occi_server(Path(directory), database_url=url, config=config) as server:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    lines = server_log(server)
                    started = sum(_STARTED in line for line in lines)
                    failures = [line for line in lines if any(f in line for f in _FAILED)]
                    if started >= workers or failures:
                        break
                    time.sleep(0.2)
                answered = httpx.get(server.url + "/-/", timeout=10).status_code == 200
                return Start(answered, started, failures)
        except RuntimeError as error:  # it never answered
            return Start(False, 0, [str(error)[-300:]])


def migration_starts(cluster: PostgresServer, starts: int, workers: int = 4) -> list[Start]:
    """`starts` starts of a `workers`-worker server, each on a fresh PostgreSQL database."""
    return [start_many_workers(cluster.create_database(), workers) for _ in range(starts)]


# --- figures ------------------------------------------------------------------------------


def figures(scale: str) -> list[Figure]:
    """Disk full and read-only answers, and migrations by many workers, at `scale`."""
    writes, starts, processes = SCALES[scale]
    rows: list[Figure] = []
    incidents: list[Incident] = []
    with postgres_cluster() as cluster:
        try:
            incidents.append(sqlite_disk_full(writes))
            incidents.append(postgresql_disk_full(cluster, writes))
        except MountUnavailableError as error:
            rows.append(Figure("disk full (a tmpfs that fills up)", f"not run: {error}", "", False))
        incidents.append(postgresql_read_only(cluster, writes))
        started = migration_starts(cluster, starts)
        with tempfile.TemporaryDirectory() as directory:
            upgrades = {
                "SQLite": concurrent_upgrades(f"sqlite:///{directory}/fresh.db", processes),
                "PostgreSQL": concurrent_upgrades(cluster.create_database(), processes),
            }
    for seen in incidents:
        wrong = seen.server_errors
        rows.append(
            Figure(
                f"5xx other than 503/507: {seen.name}",
                f"{len(wrong)} of {len(seen.writes) + len(seen.reads) + len(seen.after)} "
                f"({seen.refused} writes refused)",
                "0",
                not wrong and seen.refused > 0,
            )
        )
        lines = len(seen.incident_lines)
        rows.append(
            Figure(
                f"log lines per incident: {seen.name}",
                f"{lines} for {seen.failure_runs} incident(s) of {seen.refused} refused writes; "
                f"{seen.tracebacks} tracebacks",
                "1 each, no traceback",
                lines == seen.failure_runs and seen.tracebacks == 0,
            )
        )
        recovered = bool(seen.after) and seen.after[-1] < 300
        rows.append(
            Figure(
                f"writes succeed again once the fault is cleared: {seen.name}",
                f"after {len(seen.after)} write(s)" if recovered else "no",
                "yes, without a restart",
                recovered,
            )
        )
    clean = sum(start.clean(4) for start in started)
    rows.append(
        Figure(
            "migrations with 4 workers on a fresh PostgreSQL database: starts OK",
            f"{clean} of {len(started)}",
            f"{len(started)} of {len(started)}",
            clean == len(started),
        )
    )
    for database, result in upgrades.items():
        rows.append(
            Figure(
                f"processes upgrading one fresh {database} database at once: failures",
                f"{result.failed} of {len(result.exit_codes)}",
                "0",
                result.failed == 0,
            )
        )
    return rows


if __name__ == "__main__":
    print(table(figures(sys.argv[1] if len(sys.argv) > 1 else "quick")))
