"""Big listings and small requests on one server: does a probe stay fast?

`probe_during_listings` starts a real ``occi-server`` (one worker), fills it
with computes over HTTP, then keeps `listings` clients each reading the full
JSON listing of ``/compute/`` again and again while one more client sends
``GET /-/`` probes one after the other, timing each. Rendering a collection
holds the server's one event loop while it runs; if it held it long, every
probe would wait behind all the listings in flight.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import tempfile
import time
from dataclasses import dataclass
from multiprocessing import Queue
from pathlib import Path

import httpx

from e2e.server import OCCI_12_USER_AGENT, occi_server
from reliability.figures import Figure

COMPUTE_TEXT = (
    'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
)
HEADERS = {"User-Agent": OCCI_12_USER_AGENT}
#: The sim's quotas would stop the fill at 1,000 computes.
UNLIMITED = """
[backend_settings]
quotas = {computes = "unlimited", cores = "unlimited", memory = "unlimited"}
"""
#: The probe's target in figures: the p99 of GET /-/ while the listings stream.
TARGET_P99_MS = 50.0


@dataclass(frozen=True)
class ProbeResult:
    """Latencies of the probes (ms) and how many full listings were read meanwhile."""

    probes_ms: list[float]
    listings_read: int
    computes: int

    @property
    def p50(self) -> float:
        return statistics.quantiles(self.probes_ms, n=100)[49]

    @property
    def p99(self) -> float:
        return statistics.quantiles(self.probes_ms, n=100)[98]


async def _fill(url: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=60) as http:
        semaphore = asyncio.Semaphore(8)

        async def create() -> None:
            async with semaphore:
                answer = await http.post(
                    "/compute/", headers={"Content-Type": "text/plain"}, content=COMPUTE_TEXT
                )
                answer.raise_for_status()

        await asyncio.gather(*(create() for _ in range(count)))


async def _read_listings(url: str, listings: int, seconds: float) -> int:
    """Keep `listings` clients reading the full JSON listing for `seconds`; how many
    full listings they read."""
    read = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=listings)
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=120, limits=limits) as http:

        async def list_again() -> None:
            nonlocal read
            while time.monotonic() < deadline:
                async with http.stream(
                    "GET", "/compute/", headers={"Accept": "application/occi+json"}
                ) as answer:
                    assert answer.status_code == 200, answer.status_code
                    async for _ in answer.aiter_raw():
                        pass
                read += 1

        await asyncio.gather(*(list_again() for _ in range(listings)))
    return read


def _listing_process(url: str, listings: int, seconds: float, results: Queue) -> None:
    results.put(asyncio.run(_read_listings(url, listings, seconds)))


def _probe(url: str, probes: int) -> list[float]:
    """`probes` requests for ``GET /-/``, one after the other; each one's time in ms."""
    latencies = []
    with httpx.Client(base_url=url, headers=HEADERS, timeout=120) as probe:
        for _ in range(probes):
            started = time.perf_counter()
            answer = probe.get("/-/", headers={"Accept": "text/plain"})
            latencies.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.status_code
            time.sleep(0.01)
    return latencies


def _measure(url: str, listings: int, probes: int, seconds: float) -> tuple[list[float], int]:
    if not listings:
        return _probe(url, probes), 0
    # The readers run in a process of their own: in the probe's process their
    # work would delay the probe's own client and be counted as the server's.
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    readers = context.Process(target=_listing_process, args=(url, listings, seconds, results))
    readers.start()
    try:
        time.sleep(min(2.0, seconds / 4))  # every listing under way
        latencies = _probe(url, probes)
        read = results.get(timeout=seconds + 120)
    finally:
        readers.join(timeout=30)
        if readers.is_alive():
            readers.kill()
            readers.join()
    return latencies, read


def probe_during_listings(
    workdir: Path,
    *,
    computes: int,
    listings: int,
    probes: int,
    seconds: float,
    config: str = "",
) -> tuple[ProbeResult, ProbeResult]:
    """Probe ``GET /-/`` on an idle server holding `computes` computes (the baseline),
    then while `listings` clients read its listing for `seconds` (the probes must be
    done by then)."""
    with occi_server(workdir, config=UNLIMITED + config) as server:
        asyncio.run(_fill(server.url, computes))
        idle, _ = _measure(server.url, 0, probes, seconds)
        busy, read = _measure(server.url, listings, probes, seconds)
    return ProbeResult(idle, 0, computes), ProbeResult(busy, read, computes)


def figures(scale: str) -> list[Figure]:
    """``GET /-/`` p50 and p99 idle, and while 50 big JSON listings stream (full: 2,000
    computes each)."""
    computes, listings, probes, seconds = (
        (2000, 50, 500, 60.0) if scale == "full" else (300, 10, 100, 10.0)
    )
    with tempfile.TemporaryDirectory() as workdir:
        idle, busy = probe_during_listings(
            Path(workdir), computes=computes, listings=listings, probes=probes, seconds=seconds
        )
    return [
        Figure(
            "GET /-/ p99, idle server (baseline)",
            f"{idle.p99:.1f} ms (p50 {idle.p50:.1f} ms)",
            "-",
            True,
        ),
        Figure(
            f"GET /-/ p99 while {listings} listings of {computes:,} computes stream",
            f"{busy.p99:.1f} ms (p50 {busy.p50:.1f} ms; {busy.p99 / idle.p99:.1f}x idle; "
            f"{busy.listings_read} full listings read in {seconds:.0f} s)",
            f"< {TARGET_P99_MS:.0f} ms",
            busy.p99 < TARGET_P99_MS,
        ),
    ]
