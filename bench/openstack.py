"""Listing computes on OpenStack: OCCI through ``occi-server`` against openstacksdk to Nova.

Run: ``python bench/openstack.py [--servers N] [--page-sizes 100,500] [--rounds R]``
(needs ``pip install -e '.[test]'``; the first run also installs Nova into its own
virtual environment, kept where ``PYOCCI_NOVA_VENV`` says or under
``PYOCCI_BENCH_CACHE``, by default pytest's cache directory: see
docs/backend-openstack.md).

One run starts the Nova of the test suite (``tests/novaserver.py``: real Nova,
fake virt driver, on a loopback port), boots N servers (1,000 by default) for
the tenant OCCI requests act for, in batches through Nova's multi-create (with
a flavor no host can take, so that Nova records them in error at once rather
than booting them for an hour), waits until Nova has recorded them all, and
starts an ``occi-server`` with the openstack backend in front of it. Then,
for each page size P, it lists every server both ways:

- OCCI: ``GET /compute/?page=k&number=P`` (uri-list) for k = 1, 2, ... until a
  page comes back short;
- openstacksdk: ``conn.compute.servers(details=True, limit=P, tags=...)``, all
  of its pages.

For each it prints the requests Nova served (counted by the Nova process
itself) and the median wall-clock time of the rounds. The target: OCCI makes a
constant number of Nova calls per page, whatever P.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

# This file's directory comes first on the path when it runs, and its name would
# hide openstacksdk's package: take it off. The test suite's Nova fixture is used.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent / "tests"))

import openstack  # noqa: E402

sys.path.append(str(_HERE))  # for the benchmarks' own modules, now openstacksdk is in
from novaserver import ADMIN_TOKEN, NovaServer  # noqa: E402
from pyocci.backends.api import Tenant  # noqa: E402
from pyocci.backends.openstack.compute import tenant_tag  # noqa: E402
from serving import occi_server  # noqa: E402

URI_LIST = "text/uri-list"
IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
#: The tenant of occi-server's default authentication ("none").
TENANT = Tenant("default")
BATCH = 100


def connect(nova: NovaServer) -> Any:
    """openstacksdk, straight to the Nova process."""
    return openstack.connect(
        auth_type="admin_token",
        auth={"token": ADMIN_TOKEN, "endpoint": nova.compute_url},
        compute_endpoint_override=nova.compute_url,
        image_endpoint_override=nova.image_url,
        load_yaml_config=False,
        load_envvars=False,
    )


def served(nova: NovaServer) -> int:
    """How many API requests Nova has served so far."""
    return httpx.get(f"{nova.url}/pyocci-requests").json()["requests"]


def boot(conn: Any, count: int) -> None:
    """Record `count` servers tagged for the tenant, and wait until Nova lists them steadily.

    The servers ask for a flavor no host can take, so Nova's scheduler refuses
    them at once and records them in error (in its cell0 database) instead of
    booting them: a thousand boots on one fake host take Nova an hour, while a
    listing costs the same whatever the servers' state.
    """
    tag = tenant_tag(TENANT)
    flavor = conn.compute.create_flavor(name="bench-unplaceable", vcpus=100000, ram=512, disk=1)
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        response = conn.compute.post(
            "/servers",
            json={
                "server": {
                    "name": "bench",
                    "imageRef": IMAGE,
                    "flavorRef": flavor.id,
                    "networks": "none",
                    "min_count": size,
                    "max_count": size,
                    "tags": [tag],
                }
            },
            microversion="2.52",
        )
        if response.status_code != 202:
            raise SystemExit(f"booting failed: {response.status_code} {response.text[:500]}")
        # One batch at a time: Nova's test databases take concurrent writes badly.
        _wait_recorded(conn, tag, start + size)


def _wait_recorded(conn: Any, tag: str, count: int) -> None:
    deadline = time.monotonic() + 600
    while True:
        response = conn.compute.get(
            "/servers/detail", params={"limit": 1000, "tags": tag}, microversion="2.52"
        )
        # Nova may answer 500 while it moves servers between its databases.
        servers = response.json().get("servers", []) if response.status_code == 200 else []
        settled = sum(1 for server in servers if server["status"] == "ERROR")
        print(f"  {settled} of {count} servers recorded", file=sys.stderr, flush=True)
        if settled >= count:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"Nova did not record {count} servers within 10 minutes")
        time.sleep(2)


def occi_config(nova: NovaServer) -> str:
    """occi-server's configuration for the openstack backend on `nova`."""
    return "\n".join(
        [
            'backend = "openstack"',
            'log_level = "warning"',
            "[backend_settings]",
            f'token = "{ADMIN_TOKEN}"',
            f'compute_endpoint = "{nova.compute_url}"',
            f'image_endpoint = "{nova.image_url}"',
            "page_size = 1000",
        ]
    )


def occi_walk(client: httpx.Client, size: int) -> int:
    """Every compute through OCCI pages of `size`; how many were listed."""
    listed, page = 0, 1
    while True:
        response = client.get(
            "/compute/", params={"page": page, "number": size}, headers={"Accept": URI_LIST}
        )
        if response.status_code != 200:
            raise SystemExit(f"OCCI listing failed: {response.status_code} {response.text[:500]}")
        found = sum(1 for line in response.text.splitlines() if line.startswith("http"))
        listed += found
        if found < size:
            return listed
        page += 1


def sdk_walk(conn: Any, size: int) -> int:
    """Every server through openstacksdk's paging; how many were listed."""
    servers = conn.compute.servers(details=True, limit=size, tags=tenant_tag(TENANT))
    return sum(1 for _ in servers)


def measure(nova: NovaServer, walk: Callable[[], int], rounds: int) -> tuple[int, int, float]:
    """(servers listed, Nova calls per walk, median seconds) of `rounds` walks."""
    times, calls, listed = [], 0, 0
    for _ in range(rounds):
        before = served(nova)
        started = time.perf_counter()
        listed = walk()
        times.append(time.perf_counter() - started)
        calls = served(nova) - before
    return listed, calls, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=1000, help="servers to boot (1000)")
    parser.add_argument("--page-sizes", default="100,500", help="page sizes (100,500)")
    parser.add_argument("--rounds", type=int, default=3, help="walks per measurement (3)")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.page_sizes.split(",")]
    # Stopped with a signal: still stop Nova and occi-server on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    cache = Path(os.environ.get("PYOCCI_BENCH_CACHE", Path.cwd() / ".pytest_cache/d/pyocci-nova"))
    nova = NovaServer.find_or_install(cache)
    nova.start()
    try:
        conn = connect(nova)
        started = time.monotonic()
        boot(conn, arguments.servers)
        print(
            f"recorded {arguments.servers} servers in {time.monotonic() - started:.0f} s",
            file=sys.stderr,
        )
        with (
            tempfile.TemporaryDirectory(prefix="pyocci-bench-") as workdir,
            occi_server(occi_config(nova), Path(workdir)) as url,
            httpx.Client(base_url=url, timeout=300) as client,
        ):
            occi_walk(client, max(sizes))  # templates read and cached before measuring
            print("client | page size | servers | pages | Nova calls | calls per page | median s")
            for size in sizes:
                for name, walk in (
                    ("occi", lambda size=size: occi_walk(client, size)),
                    ("openstacksdk", lambda size=size: sdk_walk(conn, size)),
                ):
                    listed, calls, seconds = measure(nova, walk, arguments.rounds)
                    # A walk ends on the first short page (an empty one after a full last page).
                    pages = math.floor(listed / size) + 1
                    print(
                        f"{name} | {size} | {listed} | {pages} | {calls} | "
                        f"{calls / pages:.2f} | {seconds:.3f}"
                    )
    finally:
        nova.stop()
        nova.remove_log()


if __name__ == "__main__":
    main()
