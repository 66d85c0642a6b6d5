"""A soak: a mixed workload for a while, checking that nothing drifts.

`soak(server, seconds=...)` has `clients` clients create, read, change, act
on, list and delete their own computes and storages, with a few bad requests
among them, for `seconds`. Every answer must be one the request can get (a
create 201, a read 200, a bad request 4xx; never a 5xx or a transport
error). The server's memory (RSS of all its processes) and open file
descriptors are sampled throughout; after a warm-up, they must not grow
past `RSS_SLACK` and `FD_SLACK`. At the end each collection must list
exactly what was created and not deleted.

`figures(scale)` soaks a fresh server on SQLite and on PostgreSQL (CI: 15 s,
full: 5 minutes each).
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from e2e.server import OCCI_12_USER_AGENT, RunningServer, occi_server
from postgres import database_of
from reliability.figures import Figure
from reliability.processes import open_fds, rss_bytes

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
#: Growth allowed after the warm-up: a share of the memory then, plus a fixed amount
#: (caches filling up and allocator noise are not a leak).
RSS_SLACK = (0.25, 32 * 1024 * 1024)
#: Open file descriptors allowed above the count after the warm-up (pooled database
#: connections and keep-alive sockets come and go).
FD_SLACK = 16
#: Entities a client keeps at most; past it, it deletes more than it creates.
POOL = 40


@dataclass
class SoakReport:
    """What the soak did and what it saw."""

    seconds: float = 0.0
    requests: int = 0
    #: Operation and status -> count.
    answers: Counter[str] = field(default_factory=Counter)
    #: Answers a request of that kind should never get, described.
    unexpected: list[str] = field(default_factory=list)
    #: (seconds since the start, RSS bytes, open fds) every second.
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    warmup: float = 0.0
    created: int = 0
    deleted: int = 0
    #: Paths that should be listed and are not, and listed paths that should not be.
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def after_warmup(self) -> tuple[int, int]:
        """RSS and fds at the first sample after the warm-up."""
        later = [s for s in self.samples if s[0] >= self.warmup] or self.samples[-1:]
        return later[0][1], later[0][2]

    def at_end(self) -> tuple[int, int]:
        """RSS and fds at the last sample."""
        return self.samples[-1][1], self.samples[-1][2]

    def drift(self) -> list[str]:
        """What grew past its slack, described; empty when nothing drifted."""
        (rss_start, fds_start), (rss_end, fds_end) = self.after_warmup(), self.at_end()
        share, fixed = RSS_SLACK
        problems = []
        if rss_end > rss_start * (1 + share) + fixed:
            problems.append(f"RSS grew from {rss_start / 2**20:.0f} to {rss_end / 2**20:.0f} MiB")
        if fds_end > fds_start + FD_SLACK:
            problems.append(f"open fds grew from {fds_start} to {fds_end}")
        return problems

    def summary(self) -> str:
        """One paragraph: load, answers, memory and fds, entity counts."""
        (rss_start, fds_start), (rss_end, fds_end) = self.after_warmup(), self.at_end()
        return (
            f"{self.requests} requests in {self.seconds:.0f} s; RSS {rss_start / 2**20:.0f} -> "
            f"{rss_end / 2**20:.0f} MiB, fds {fds_start} -> {fds_end} (after a "
            f"{self.warmup:.0f} s warm-up); {self.created} created, {self.deleted} deleted, "
            f"{len(self.missing)} missing, {len(self.extra)} extra; {len(self.unexpected)} "
            f"unexpected answers; {dict(self.answers)}"
        )


# --- the workload --------------------------------------------------------------------------------


def _create(rng: random.Random) -> tuple[str, str, bytes]:
    """(collection, content type, document) of a compute or a storage."""
    if rng.random() < 0.5:
        title = f"soak {rng.randrange(10**6)}"
        body = f'Category: compute; scheme="{INFRA}"; class="kind"\n'
        body += f'X-OCCI-Attribute: occi.core.title="{title}"\n'
        return "/compute/", "text/plain", body.encode()
    document = {"kind": INFRA + "storage", "attributes": {"occi.storage.size": rng.randint(1, 9)}}
    return "/storage/", "application/occi+json", json.dumps(document).encode()


class _Client:
    """One client of the soak, with the entities it created and not yet deleted."""

    def __init__(self, http: httpx.AsyncClient, rng: random.Random, report: SoakReport) -> None:
        self.http = http
        self.rng = rng
        self.report = report
        self.pool: list[str] = []
        self.gone: list[str] = []

    def _expect(self, operation: str, answer: httpx.Response, *allowed: int) -> bool:
        self.report.requests += 1
        self.report.answers[f"{operation} {answer.status_code}"] += 1
        if answer.status_code in allowed:
            return True
        error = answer.headers.get("x-occi-error", "")[:200]
        self.report.unexpected.append(
            f"{operation} {answer.request.method} {answer.request.url.path}: "
            f"{answer.status_code} {error}"
        )
        return False

    async def step(self) -> None:
        roll = self.rng.random()
        if not self.pool or roll < (0.15 if len(self.pool) >= POOL else 0.3):
            await self.create()
        elif roll < 0.55:
            path = self.rng.choice(self.pool)
            accept = self.rng.choice(["text/plain", "application/occi+json", "text/occi"])
            self._expect("read", await self.http.get(path, headers={"Accept": accept}), 200)
        elif roll < 0.63:
            path = self.rng.choice(self.pool)
            body = f'X-OCCI-Attribute: occi.core.summary="step {self.report.requests}"\n'
            answer = await self.http.post(
                path, content=body.encode(), headers={"Content-Type": "text/plain"}
            )
            self._expect("update", answer, 200)
        elif roll < 0.68:
            computes = [p for p in self.pool if p.startswith("/compute/")]
            if computes:
                action = self.rng.choice(["start", "stop"])
                body = f'Category: {action}; scheme="{ACTION}"; class="action"\n'
                answer = await self.http.post(
                    f"{self.rng.choice(computes)}?action={action}",
                    content=body.encode(),
                    headers={"Content-Type": "text/plain"},
                )
                self._expect("action", answer, 200, 409)
        elif roll < 0.8:
            collection = self.rng.choice(["/compute/", "/storage/"])
            query = self.rng.choice(["", "?page=1&number=50"])
            accept = self.rng.choice(["text/uri-list", "application/occi+json", "text/plain"])
            answer = await self.http.get(collection + query, headers={"Accept": accept})
            self._expect("list", answer, 200)
        elif roll < 0.9 or len(self.pool) >= POOL:
            path = self.pool.pop(self.rng.randrange(len(self.pool)))
            if self._expect("delete", await self.http.delete(path), 200):
                self.report.deleted += 1
                self.gone.append(path)
            else:
                self.pool.append(path)
        elif roll < 0.95:
            self._expect("discovery", await self.http.get("/-/"), 200)
        else:
            await self.bad_request()

    async def create(self) -> None:
        collection, content_type, body = _create(self.rng)
        answer = await self.http.post(
            collection, content=body, headers={"Content-Type": content_type}
        )
        if self._expect("create", answer, 201) and "location" in answer.headers:
            self.pool.append(urlsplit(answer.headers["location"]).path)
            self.report.created += 1

    async def bad_request(self) -> None:
        choice = self.rng.randrange(3)
        if choice == 0:
            answer = await self.http.get(f"/compute/soak-missing-{self.rng.randrange(100)}")
            self._expect("bad", answer, 404)
        elif choice == 1:
            answer = await self.http.post(
                "/compute/", content=b"{not json", headers={"Content-Type": "application/json"}
            )
            self._expect("bad", answer, 400)
        else:
            answer = await self.http.get("/compute/?page=0&number=0")
            self._expect("bad", answer, 400)


async def _run(server: RunningServer, seconds: float, clients: int, seed: int) -> SoakReport:
    report = SoakReport(warmup=max(2.0, seconds * 0.1))
    pid = server.process.pid
    started = time.monotonic()
    deadline = started + seconds
    headers = {"User-Agent": OCCI_12_USER_AGENT}

    async def sample() -> None:
        while True:
            report.samples.append((time.monotonic() - started, rss_bytes(pid), open_fds(pid)))
            if time.monotonic() + 1.0 > deadline:
                return  # the last sample is taken while the clients are still at work
            await asyncio.sleep(1.0)

    async def client(number: int) -> _Client:
        http = httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30)
        one = _Client(http, random.Random(f"{seed}:{number}"), report)
        async with http:
            while time.monotonic() < deadline:
                try:
                    await one.step()
                except httpx.HTTPError as error:
                    report.requests += 1
                    report.unexpected.append(f"transport error: {error!r}")
        return one

    sampler = asyncio.create_task(sample())
    ended = await asyncio.gather(*(client(n) for n in range(clients)))
    await sampler
    report.seconds = time.monotonic() - started
    expected = {path for one in ended for path in one.pool}
    listed: set[str] = set()
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120) as http:
        for collection in ("/compute/", "/storage/"):
            answer = await http.get(collection, headers={"Accept": "text/uri-list"})
            answer.raise_for_status()
            listed |= {urlsplit(line).path for line in answer.text.split()}
    report.missing = sorted(expected - listed)
    report.extra = sorted(listed - expected)
    return report


def soak(server: RunningServer, *, seconds: float, clients: int = 8, seed: int = 1) -> SoakReport:
    """Run the mixed workload against `server` (started on an empty database) for
    `seconds`, sampling its processes' memory and open files."""
    return asyncio.run(_run(server, seconds, clients, seed))


# --- figures for the bench ---------------------------------------------------------------------

SECONDS = {"quick": 15.0, "full": 300.0}


def figures(scale: str) -> list[Figure]:
    """Soak drift per database: RSS and open fds after the warm-up and at the end,
    answers that should not be, entities created vs listed."""
    rows = []
    for kind in ("sqlite", "postgresql"):
        with (
            database_of(kind) as url,
            tempfile.TemporaryDirectory() as directory,
            occi_server(Path(directory), database_url=url) as server,
        ):
            report = soak(server, seconds=SECONDS[scale])
        (rss_start, fds_start), (rss_end, fds_end) = report.after_warmup(), report.at_end()
        drift = report.drift()
        share, fixed = RSS_SLACK
        rows += [
            Figure(
                f"soak {report.seconds:.0f} s on {kind}: server RSS after warm-up -> end",
                f"{rss_start / 2**20:.0f} -> {rss_end / 2**20:.0f} MiB",
                f"<= +{share:.0%} +{fixed / 2**20:.0f} MiB",
                not any(p.startswith("RSS") for p in drift),
            ),
            Figure(
                f"soak {report.seconds:.0f} s on {kind}: open fds after warm-up -> end",
                f"{fds_start} -> {fds_end}",
                f"<= +{FD_SLACK}",
                not any(p.startswith("open fds") for p in drift),
            ),
            Figure(
                f"soak {report.seconds:.0f} s on {kind}: answers, entities listed",
                f"{report.requests:,} requests, {len(report.unexpected)} unexpected; "
                f"{report.created - report.deleted:,} expected, "
                f"{len(report.missing)} missing, {len(report.extra)} extra",
                "0 unexpected, 0 missing, 0 extra",
                not report.unexpected and not report.missing and not report.extra,
            ),
        ]
    return rows
