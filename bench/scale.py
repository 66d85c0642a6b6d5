"""Throughput of occi-server as processes are added: 1, 2 and 4 workers, and two hosts
behind HAProxy, all on one PostgreSQL database.

Run: ``python bench/scale.py [--seconds S] [--computes N] [--connections C]``.

One run starts a PostgreSQL cluster (the test suite's, ``tests/postgres.py``)
and, one layout at a time, each on a fresh database holding the same
`--computes` computes:

- ``1 process``: one occi-server worker (the baseline of every ratio);
- ``2 workers`` and ``4 workers``: one occi-server with that many workers;
- ``HAProxy, 1 host``: one worker behind HAProxy (what the balancer costs);
- ``HAProxy, 2 hosts``: one worker on each of 127.0.0.2 and 127.0.0.3 behind
  HAProxy (``tests/scaleout.py``, as the scale-out tests run it).

Each layout is measured with ``wrk`` (one thread, `--connections`
keep-alive connections; Debian's ``wrk``, installed if missing) for GET
``/-/``, GET of one compute and a listing of ``/compute/`` (text/plain),
then POST creates (JSON) by one tenant, and by `TENANTS` tenants in turn.
Every request carries HTTP basic credentials (the users file holds one user
per tenant). The table gives requests per second and the ratio to one
process, measured in the same run. A tenant's writes take turns (its quota
is checked and counted in the same transaction, under a row lock on
PostgreSQL), so one tenant's creates cannot gain from more processes; many
tenants' can. The machine's cores, its load
average and the CPU wrk itself took are printed beside it: on a 2-core
machine the load generator, PostgreSQL and the servers share two cores, and
that, not the servers' design, is where the curve flattens.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from debian import command_from
from e2e.server import occi_server
from postgres import PostgresServer
from pyocci.server.auth.hashing import hash_password
from pyocci.server.auth.users import User, write_users_file
from scaleout import HOSTS, scaled_out

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
DEBIAN = "http://schemas.pyocci.org/sim/os_tpl#debian-12"
SMALL = "http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#small"
#: No quota in the way: the creates of a run add thousands of computes per tenant.
CONFIG = (
    '[limits]\nmax_connections = 4096\n[auth]\nmethod = "basic"\nusers_file = "{users}"\n'
    '[backend_settings]\nquotas = {{computes = "unlimited", cores = "unlimited", '
    'memory = "unlimited", storage = "unlimited"}}\n'
)
#: The tenants of the many-tenant creates, one user each (``user0`` makes every other call).
TENANTS = 16
PASSWORD = "bench-password"


@dataclass(frozen=True)
class Operation:
    """One kind of request measured."""

    name: str
    method: str
    path: str  # ``{entity}``: a compute's path
    accept: str = "text/plain"
    body: str | None = None
    #: How many users' credentials the requests take in turn.
    users: int = 1


CREATE = json.dumps({"kind": COMPUTE, "mixins": [DEBIAN, SMALL], "attributes": {}})

OPERATIONS = (
    Operation("GET /-/", "GET", "/-/"),
    Operation("GET compute", "GET", "{entity}"),
    Operation("GET /compute/", "GET", "/compute/"),
    Operation("POST create", "POST", "/compute/", accept="application/occi+json", body=CREATE),
    Operation(
        f"POST create, {TENANTS} tenants",
        "POST",
        "/compute/",
        accept="application/occi+json",
        body=CREATE,
        users=TENANTS,
    ),
)


@dataclass(frozen=True)
class Layout:
    """How the processes are laid out, and how to start them."""

    name: str
    start: str  # "workers" or "balanced"
    workers: int = 1
    hosts: tuple[str, ...] = ()


LAYOUTS = (
    Layout("1 process", "workers", 1),
    Layout("2 workers", "workers", 2),
    Layout("4 workers", "workers", 4),
    Layout("HAProxy, 1 host", "balanced", hosts=HOSTS[:1]),
    Layout("HAProxy, 2 hosts", "balanced", hosts=HOSTS),
)


@contextmanager
def serving(layout: Layout, database_url: str, workdir: Path) -> Iterator[str]:
    """The URL clients use, while the layout runs."""
    users = workdir / "users.toml"
    write_users_file(
        users,
        {
            f"user{n}": User(f"user{n}", f"tenant{n}", password_hash=hash_password(PASSWORD))
            for n in range(TENANTS)
        },
    )
    config = CONFIG.format(users=users)
    if layout.start == "workers":
        config = f"workers = {layout.workers}\n" + config
        with occi_server(workdir, database_url=database_url, config=config) as running:
            yield running.url
        return
    with scaled_out(workdir, database_url, config=config, hosts=layout.hosts) as made:
        yield made.front.url


def credentials(user: int) -> str:
    """The Authorization value of ``user<n>``."""
    return "Basic " + base64.b64encode(f"user{user}:{PASSWORD}".encode()).decode()


def fill(url: str, count: int) -> str:
    """Create `count` computes through the server; the path of the first."""
    create = OPERATIONS[-1]
    first = ""
    headers = {"Authorization": credentials(0)}
    with httpx.Client(base_url=url, timeout=60, headers=headers) as http:
        for _ in range(count):
            response = http.post(
                "/compute/",
                content=create.body,
                headers={"Content-Type": create.accept, "Accept": "text/plain"},
            )
            response.raise_for_status()
            first = first or httpx.URL(response.headers["location"]).path
    return first


def wrk(url: str, operation: Operation, entity: str, connections: int, seconds: float) -> float:
    """Requests per second wrk measured (a warm-up second first)."""
    lines = [
        f'wrk.method = "{operation.method}"',
        f'wrk.headers["Accept"] = "{operation.accept}"',
        'wrk.headers["User-Agent"] = "pyocci-bench OCCI/1.2"',
    ]
    if operation.body is not None:
        lines.append('wrk.headers["Content-Type"] = "application/occi+json"')
        lines.append(f"wrk.body = [==[{operation.body}]==]")
    names = ", ".join(f'"{credentials(n)}"' for n in range(operation.users))
    lines += [
        f"local credentials = {{{names}}}",
        "local turn = 0",
        "request = function()",
        "  turn = turn % #credentials + 1",
        '  wrk.headers["Authorization"] = credentials[turn]',
        "  return wrk.format()",
        "end",
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    target = url + operation.path.replace("{entity}", entity)
    command = [command_from("wrk", "wrk"), "-t1", f"-c{connections}", "-s", script.name, target]
    try:
        subprocess.run([*command, "-d1s"], capture_output=True, check=True, timeout=120)
        done = subprocess.run(
            [*command, f"-d{round(seconds)}s"],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 120,
        )
    finally:
        os.unlink(script.name)
    if "Non-2xx" in done.stdout or "Socket errors" in done.stdout:
        raise RuntimeError(f"{operation.name} on {url} failed:\n{done.stdout}")
    for line in done.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"wrk said no rate:\n{done.stdout}")


def measure(
    layouts: tuple[Layout, ...], postgres: PostgresServer, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    rates: dict[str, dict[str, float]] = {}
    for layout in layouts:
        database_url = postgres.create_database()
        with tempfile.TemporaryDirectory() as directory:
            context: AbstractContextManager[str] = serving(layout, database_url, Path(directory))
            with context as url:
                entity = fill(url, args.computes)
                rates[layout.name] = {
                    operation.name: wrk(url, operation, entity, args.connections, args.seconds)
                    for operation in OPERATIONS
                }
        print(f"  measured {layout.name}", file=sys.stderr)
    return rates


def render(rates: dict[str, dict[str, float]], args: argparse.Namespace, wrk_cpu: float) -> str:
    baseline = rates[LAYOUTS[0].name]
    header = ["layout", *(f"{operation.name} req/s (ratio)" for operation in OPERATIONS)]
    rows = [header]
    for name, measured in rates.items():
        cells = [name]
        for operation in OPERATIONS:
            rate = measured[operation.name]
            cells.append(f"{rate:,.0f} ({rate / baseline[operation.name]:.2f}x)")
        rows.append(cells)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    lines += [
        "",
        f"{os.cpu_count()} cores; load average {load}; {args.computes} computes per database; "
        f"wrk -t1 -c{args.connections}, {args.seconds:g} s per figure; "
        f"wrk took {wrk_cpu:.0f} s of CPU in all",
        "The ratio is to one process (one worker, no balancer), measured in this run.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="per figure (default 5)")
    parser.add_argument("--computes", type=int, default=200, help="per database (default 200)")
    parser.add_argument("--connections", type=int, default=16, help="wrk's (default 16)")
    args = parser.parse_args(argv)
    postgres = PostgresServer.find_or_install()
    postgres.start()
    try:
        rates = measure(LAYOUTS, postgres, args)
    finally:
        postgres.stop()
    wrk_cpu = sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
    print(render(rates, args, wrk_cpu))
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    status = main()
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    raise SystemExit(status)
