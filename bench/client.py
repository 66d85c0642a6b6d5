"""How fast ``occi list compute`` lists a big collection, against the raw HTTP listing.

Run: ``python bench/client.py [--quick] [--count N] [--repeat R]``.

Starts ``occi-server`` (simulated cloud, fresh SQLite database in a
temporary directory, no quotas) on a free loopback port, fills it with
computes (10,000; 1,000 with ``--quick``) by posting JSON collections of
100 computes at a time from a few threads, then times, R times each
(median and best shown):

* ``occi list compute`` - the installed CLI as a user runs it, output to a
  pipe (plain text), interpreter start-up included;
* ``occi list compute -o json`` - the same, printing full JSON records;
* ``occi --version`` - the CLI's start-up alone;
* the baseline: the same listing fetched with httpx, page by page as the
  CLI fetches it (``?page=&number=1000``, JSON), without parsing it;
* ``OcciClient.list`` in this process - fetching and parsing, no printing.

The target for ``occi list compute`` over 10,000 computes is 3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

import server as server_bench  # bench/server.py, beside this script
from pyocci.client import OcciClient
from pyocci.model import Resource
from pyocci.rendering import codec_for

OCCI = Path(sys.executable).parent / "occi"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"
DEBIAN = "http://schemas.pyocci.org/sim/os_tpl#debian-12"
SMALL = "http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#small"
TARGET_SECONDS = 3.0
BATCH = 100

CONFIG = """
log_level = "warning"

[limits]
max_body_bytes = 10485760

[backend_settings]
quotas = {computes = "unlimited", cores = "unlimited", memory = "unlimited"}
"""


@contextmanager
def occi_server(workdir: Path) -> Iterator[str]:
    """A fresh occi-server (uvicorn, SQLite in `workdir`); its URL. Started and stopped
    the way bench/server.py runs its servers."""
    config = workdir / "server.toml"
    config.write_text(CONFIG)
    with server_bench.occi_server("uvicorn", workdir / "occi.db", config, workdir) as running:
        yield running.url


def fill(url: str, count: int) -> float:
    """Create `count` computes, 100 per JSON POST, from 4 threads; the seconds it took."""
    codec = codec_for("application/occi+json")
    assert codec is not None

    def batch(first: int) -> None:
        size = min(BATCH, count - first)
        entities = [
            Resource(
                kind=COMPUTE,
                mixins=[DEBIAN, SMALL],
                attributes={"occi.core.title": f"vm{first + i}"},
            )
            for i in range(size)
        ]
        body = codec.render_collection(entities).body
        response = http.post(
            "/compute/", content=body, headers={"content-type": "application/occi+json"}
        )
        response.raise_for_status()

    started = time.perf_counter()
    with httpx.Client(base_url=url, timeout=120) as http, ThreadPoolExecutor(4) as pool:
        list(pool.map(batch, range(0, count, BATCH)))
    return time.perf_counter() - started


def timed(run: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


def cli(url: str, *arguments: str, expect_lines: int | None = None) -> Callable[[], None]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCCI_")}
    env["OCCI_ENDPOINT"] = url

    def run() -> None:
        done = subprocess.run(
            [str(OCCI), *arguments],
            capture_output=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"occi {' '.join(arguments)} failed: {done.stderr.decode()}")
        lines = done.stdout.count(b"\n")
        if expect_lines is not None and lines != expect_lines:
            raise SystemExit(
                f"occi {' '.join(arguments)} printed {lines} lines, not {expect_lines}"
            )

    return run


def raw_listing(url: str, count: int) -> Callable[[], None]:
    def run() -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            page = 1
            while True:
                response = http.get(
                    "/compute/",
                    params={"page": page, "number": 1000},
                    headers={"accept": "application/occi+json"},
                )
                # An error page is fast: it must not pass for a listing.
                response.raise_for_status()
                if "next" not in response.links:
                    break
                page += 1
                if page > count // 1000 + 2:
                    raise SystemExit(f"the server pages past {count:,} computes")

    return run


def library_listing(url: str, count: int) -> Callable[[], None]:
    def run() -> None:
        with OcciClient(url) as occi:
            listed = sum(1 for _ in occi.list("compute"))
        if listed != count:
            raise SystemExit(f"OcciClient.list found {listed} computes, not {count}")

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 computes, 2 repeats")
    parser.add_argument("--count", type=int, help="how many computes (default 10,000)")
    parser.add_argument("--repeat", type=int, help="timed runs of each measurement (default 5)")
    options = parser.parse_args()
    count = options.count or (1000 if options.quick else 10_000)
    repeat = options.repeat or (2 if options.quick else 5)
    if not OCCI.exists():
        raise SystemExit(f"the occi command is not installed beside {sys.executable}")

    with (
        tempfile.TemporaryDirectory(prefix="pyocci-bench-client-") as directory,
        occi_server(Path(directory)) as url,
    ):
        seconds = fill(url, count)
        print(
            f"occi-server at {url}: {count:,} computes created in {seconds:.1f} s "
            f"({count / seconds:,.0f}/s, JSON collections of {BATCH})"
        )
        print()
        rows = [
            (
                "occi list compute (plain, to a pipe)",
                cli(url, "list", "compute", expect_lines=count),
            ),
            ("occi list compute -o json", cli(url, "list", "compute", "-o", "json")),
            ("occi --version (start-up only)", cli(url, "--version")),
            ("baseline: httpx GET, paged JSON", raw_listing(url, count)),
            ("OcciClient.list (fetch + parse)", library_listing(url, count)),
        ]
        print(f"{'measurement':<40} {'median s':>9} {'best s':>8}")
        results = {}
        for label, run in rows:
            times = timed(run, repeat)
            results[label] = statistics.median(times)
            print(f"{label:<40} {statistics.median(times):>9.2f} {min(times):>8.2f}")
        figure = results[rows[0][0]]
        baseline = results["baseline: httpx GET, paged JSON"]
        print()
        if count >= 10_000:
            verdict = "meets" if figure < TARGET_SECONDS else "misses"
        else:
            verdict = "not measured (list 10,000 computes or more: drop --quick)"
        print(
            f"occi list compute over {count:,} computes: {figure:.2f} s "
            f"({figure / baseline:.1f}x the raw HTTP listing); target < {TARGET_SECONDS:g} s "
            f"for 10,000: {verdict}"
        )


if __name__ == "__main__":
    main()
