"""kill -9 during concurrent creates: every acknowledged create must survive the restart.

`crash_run` starts ``occi-server`` (1 or several workers) on a database, has
`creators` clients create computes, storages and networks as fast as the
server answers, and after a seeded while kills the whole server (every
process, SIGKILL). It restarts the server on the same database and port and
checks that every create answered ``201`` with a ``Location`` is listed in
its collection and reads back; then the creators go on against the new
server, up to `kills` times. A create whose answer was lost may or may not
exist: only acknowledged ones count.

`figures(scale)` runs it on SQLite and PostgreSQL with 1 and 2 workers
(the bench's "acknowledged creates lost over N kill -9").
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import threading
import time
from collections import Counter
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from e2e.server import OCCI_12_USER_AGENT, RunningServer, free_port, occi_server
from postgres import database_of
from reliability.figures import Figure
from reliability.processes import kill_tree

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
#: No quota stops the creators: every create the store takes is answered 201.
UNLIMITED = """
[backend_settings.quotas]
computes = "unlimited"
cores = "unlimited"
memory = "unlimited"
storage = "unlimited"
networks = "unlimited"
"""
#: How each kind is created: the rendering and the document.
CREATES = (
    (
        "/compute/",
        "text/plain",
        f'Category: compute; scheme="{INFRA}"; class="kind"\n'
        'X-OCCI-Attribute: occi.core.title="crash"\n',
    ),
    (
        "/storage/",
        "application/occi+json",
        f'{{"kind": "{INFRA}storage", "attributes": {{"occi.storage.size": 1}}}}',
    ),
    ("/compute/", "application/occi+json", f'{{"kind": "{INFRA}compute"}}'),
    ("/network/", "text/plain", f'Category: network; scheme="{INFRA}"; class="kind"\n'),
)
COLLECTIONS = sorted({path for path, _, _ in CREATES})


@dataclass
class CrashReport:
    """What a crash run created, and what the restarts found."""

    kills: int = 0
    #: Paths of the creates answered 201 with a Location.
    acknowledged: list[str] = field(default_factory=list)
    #: Acknowledged creates before each kill.
    per_kill: list[int] = field(default_factory=list)
    #: How many processes each kill took down (a supervisor and its workers).
    processes_killed: list[int] = field(default_factory=list)
    #: Acknowledged paths missing from their collection after a restart.
    lost: list[str] = field(default_factory=list)
    #: Acknowledged paths listed but not readable (GET not 200) after a restart.
    unreadable: list[str] = field(default_factory=list)
    #: What the creators got otherwise: statuses and transport errors.
    other_answers: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        """One line: kills, creates, losses."""
        return (
            f"{self.kills} kills, {len(self.acknowledged)} acknowledged creates "
            f"({', '.join(map(str, self.per_kill))} per kill), {len(self.lost)} lost, "
            f"{len(self.unreadable)} unreadable; other answers {dict(self.other_answers)}"
        )


class _Creators:
    """Clients creating entities in a thread of their own until told to stop."""

    def __init__(self, url: str, count: int, report: CrashReport, seed: int) -> None:
        self.url = url
        self.count = count
        self.report = report
        self.seed = seed
        self.stopping = threading.Event()
        self.acknowledged = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> _Creators:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopping.set()
        self._thread.join(timeout=60)
        if self._thread.is_alive():
            raise TimeoutError("the creators did not stop within 60 s")

    async def _run(self) -> None:
        await asyncio.gather(*(self._create(n) for n in range(self.count)))

    async def _create(self, number: int) -> None:
        rng = random.Random(f"{self.seed}:{number}")
        headers = {"User-Agent": OCCI_12_USER_AGENT, "Accept": "text/plain"}
        async with httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30) as client:
            while not self.stopping.is_set():
                path, content_type, body = rng.choice(CREATES)
                try:
                    answer = await client.post(
                        path, content=body, headers={"Content-Type": content_type}
                    )
                except httpx.HTTPError as error:
                    self._note(type(error).__name__)
                    await asyncio.sleep(0.05)  # the server is down: try again soon
                    continue
                location = answer.headers.get("location")
                if answer.status_code == 201 and location:
                    with self._lock:
                        self.report.acknowledged.append(urlsplit(location).path)
                        self.acknowledged += 1
                else:
                    self._note(str(answer.status_code))

    def _note(self, what: str) -> None:
        with self._lock:
            self.report.other_answers[what] += 1


def _listed(server: RunningServer) -> set[str]:
    """The paths of every entity in the created-into collections."""
    paths: set[str] = set()
    with server.client(headers={"Accept": "text/uri-list"}) as client:
        for collection in COLLECTIONS:
            answer = client.get(collection, timeout=120)
            answer.raise_for_status()
            paths |= {urlsplit(line).path for line in answer.text.split() if line}
    return paths


def check_acknowledged(
    server: RunningServer, report: CrashReport, rng: random.Random, reads: int
) -> None:
    """Record acknowledged creates the restarted server does not list, or cannot read (a
    seeded sample of `reads` of them is read back one by one)."""
    listed = _listed(server)
    report.lost = sorted(set(report.acknowledged) - listed)
    sample = rng.sample(report.acknowledged, min(reads, len(report.acknowledged)))
    with server.client(headers={"Accept": "application/occi+json"}) as client:
        report.unreadable = sorted(p for p in sample if client.get(p).status_code != 200)


def crash_run(
    workdir: Path,
    *,
    database_url: str | None = None,
    workers: int = 1,
    kills: int = 2,
    creators: int = 8,
    seed: int = 1,
    up_seconds: tuple[float, float] = (0.5, 2.0),
    reads: int = 50,
) -> CrashReport:
    """Kill the server `kills` times during creates, checking after each restart that
    every acknowledged create is there. The database (a SQLite file in `workdir` by
    default) keeps everything from one restart to the next."""
    rng = random.Random(seed)
    report = CrashReport()
    port = free_port()
    environ = {"PYOCCI_WORKERS": str(workers)}

    def start() -> AbstractContextManager[RunningServer]:
        return occi_server(
            workdir, database_url=database_url, config=UNLIMITED, environ=environ, port=port
        )

    for kill in range(kills):
        with start() as server:
            if kill:
                check_acknowledged(server, report, rng, reads)
                if report.lost or report.unreadable:
                    return report
            before = len(report.acknowledged)
            with _Creators(server.url, creators, report, seed * 1000 + kill) as running:
                # Creates under way, then a while longer: the kill lands mid-write.
                deadline = time.monotonic() + 60
                while running.acknowledged < 20 and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(rng.uniform(*up_seconds))
                report.processes_killed.append(len(kill_tree(server.process.pid)))
                report.kills += 1
                time.sleep(0.3)  # the creators meet the dead server
            report.per_kill.append(len(report.acknowledged) - before)
    with start() as server:
        check_acknowledged(server, report, rng, reads)
    return report


# --- figures for the bench -------------------------------------------------------------------

#: Kills per database and worker count, and how long (seconds, seeded between the
#: bounds) the creators run before each kill.
KILLS = {"quick": 2, "full": 5}
UP_SECONDS = {"quick": (0.5, 2.0), "full": (2.0, 8.0)}


def figures(scale: str) -> list[Figure]:
    """Acknowledged creates lost over kill -9, on SQLite and PostgreSQL, 1 and 2 workers."""
    kills = KILLS[scale]
    rows = []
    for kind in ("sqlite", "postgresql"):
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as directory:
                options = {"workers": workers, "kills": kills, "up_seconds": UP_SECONDS[scale]}
                if kind == "sqlite":
                    report = crash_run(Path(directory), **options)
                else:
                    with database_of("postgresql") as url:
                        report = crash_run(Path(directory), database_url=url, **options)
            lost = len(report.lost) + len(report.unreadable)
            rows.append(
                Figure(
                    f"acknowledged creates lost over kill -9 ({kind}, {workers} worker"
                    f"{'s' if workers > 1 else ''})",
                    f"{lost} of {len(report.acknowledged):,} over {report.kills} kills",
                    "0, >= 5 kills",
                    lost == 0 and report.kills >= 5,
                )
            )
    return rows
