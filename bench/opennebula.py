"""Latency of the opennebula backend: OCCI through ``occi-server`` against pyone straight to oned.

Run: ``python bench/opennebula.py [--rounds N] [--reads N] [--vms N]`` (as root, with
``pip install -e '.[test]'``; the oned of the test suite, built once from
``shared/opennebula`` and cached: see docs/backend-opennebula.md).

One run starts the test suite's cloud (``tests/opennebula_cloud.py``: a real
oned with the dummy drivers on a loopback port, provisioned with a host,
datastores, a network and VM templates) and an ``occi-server`` with the
opennebula backend in front of it, oned's administrator its service account.
The tenant OCCI requests act for (``default``) gets its OpenNebula group and
user on the first request; pyone then logs in as that same user, so both
sides see the same VMs with the same ACLs. With N VMs (110 by default) in
the group, it measures, each side going first in turn:

- create: ``POST /compute/`` (JSON) against ``template.instantiate``, ten
  VMs at a time (each batch deployed before the next);
- get: ``GET /compute/<id>`` (JSON) against ``vm.info``;
- list 100: ``GET /compute/?page=1&number=100`` (JSON) against
  ``vmpool.infoextended`` of the group's first 100 VMs (the call the backend
  makes, the range pushed down to oned);
- stop: ``POST /compute/<id>?action=stop`` against ``vm.action poweroff``.

Gets and lists are measured once every created VM runs, so that both sides
read a quiet oned. It prints the median and p90 of each in milliseconds, what
OCCI adds to pyone's median and the ratio of the medians, with the target
(OCCI adds at most 15% to get and list). The OCCI client is the standard
library's ``http.client`` on one kept-alive connection (a real HTTP client,
and a lean one); pyone makes its calls with its own transport (``requests``,
a new connection each). For get and list it also times pyone the way the
backend uses it (its transport, ``http.client`` with the XML-RPC read by
lxml, and its reader of VM answers): the oned call the server makes, and
what the server costs on top of it (its HTTP hop, routing, the thread the
call runs in, the conversion and the rendering). Timings are wall-clock on
this machine, oned included.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyone

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from opennebula_cloud import OneCloud, running_cloud
from pyocci.backends.api import Tenant
from pyocci.backends.opennebula import OpenNebulaSettings
from pyocci.backends.opennebula.api import OneApi, invoke
from pyocci.backends.opennebula.catalogue import (
    OS_TPL_SCHEME,
    RESOURCE_TPL_SCHEME,
    template_term,
)
from pyocci.backends.opennebula.tenancy import Tenancy
from pyocci.backends.opennebula.transport import OneTransport
from serving import occi_server

OCCI_JSON = "application/occi+json"
COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
STOP = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"
#: The tenant of occi-server's default authentication ("none").
TENANT = Tenant("default")
PREFIX = "bench-"
#: The small size, as the backend sends it to oned.
SMALL = 'CPU = "0.5"\nVCPU = "1"\nMEMORY = "1024"'
TARGETS = {"get": 1.15, "list 100": 1.15}


def settings(cloud: OneCloud) -> dict[str, Any]:
    """The backend's settings: oned's administrator as the service account."""
    assert cloud.provisioned is not None
    user, password = cloud.admin_session.split(":", 1)
    return {
        "endpoint": cloud.endpoint,
        "username": user,
        "password": password,
        "tenant_prefix": PREFIX,
        "image_datastore": cloud.provisioned.image_datastore_id,
        "network_template": str(cloud.provisioned.vn_template_id),
    }


def tenant_session(cloud: OneCloud) -> str:
    """The session the backend acts for the tenant with (its user and derived password)."""
    api = OneApi(OpenNebulaSettings.from_dict(settings(cloud)), run_blocking=None)  # type: ignore[arg-type]
    return Tenancy(api)._session_of(TENANT)


def occi_config(cloud: OneCloud) -> str:
    """occi-server's configuration for the opennebula backend on `cloud`."""
    # The OCCI client keeps one connection for the whole run, idle while the VMs are made.
    lines = ['backend = "opennebula"', 'log_level = "warning"', "[limits]"]
    lines += ["keep_alive_timeout = 600", "[backend_settings]"]
    for key, value in settings(cloud).items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    return "\n".join(lines) + "\n"


class Occi:
    """The OCCI side: JSON over one kept-alive connection of the standard library's
    `http.client` (a lean client: requests spends about 0.6 ms of CPU per request more,
    which would be counted against the server)."""

    client = "http.client, one kept-alive connection"

    def __init__(self, url: str, os_tpl: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.http = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
        self.headers = {"Accept": OCCI_JSON, "Content-Type": OCCI_JSON}
        self.os_tpl = os_tpl

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None, *statuses: int
    ) -> tuple[http.client.HTTPResponse, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        self.http.request(method, path, data, self.headers)
        response = self.http.getresponse()
        answer = response.read()
        if response.status not in statuses:
            raise SystemExit(f"OCCI: {response.status} {answer[:500]!r}")
        return response, answer

    def create(self) -> str:
        body = {
            "kind": COMPUTE,
            "mixins": [self.os_tpl, RESOURCE_TPL_SCHEME + "small"],
            "attributes": {"occi.core.title": f"occi-{uuid.uuid4().hex[:8]}"},
        }
        response, _ = self._call("POST", "/compute/", body, 201)
        return (response.getheader("location") or "").rsplit("/", 1)[1]

    def get(self, vm_id: str) -> None:
        self._call("GET", f"/compute/{vm_id}", None, 200)

    def list100(self) -> None:
        _, answer = self._call("GET", "/compute/?page=1&number=100", None, 200)
        if len(json.loads(answer)["resources"]) != 100:
            raise SystemExit("OCCI listed fewer than 100 computes")

    def stop(self, vm_id: str) -> None:
        self._call("POST", f"/compute/{vm_id}?action=stop", {"action": STOP}, 200)


class Direct:
    """The pyone side, logged in as the tenant's user."""

    def __init__(
        self, cloud: OneCloud, session: str, template_id: int, *, lean: bool = False
    ) -> None:
        self.one = pyone.OneServer(cloud.endpoint, session=session)
        #: The backend's way with pyone: its transport, VM answers read by its reader
        #: (what the OCCI server's own oned call costs).
        self.lean = lean
        if lean:
            self.one._ServerProxy__transport = OneTransport(60, https=False)
        self.template_id = template_id

    def create(self) -> str:
        name = f"pyone-{uuid.uuid4().hex[:8]}"
        return str(self.one.template.instantiate(self.template_id, name, False, SMALL, False))

    def get(self, vm_id: str) -> None:
        if self.lean:
            invoke(self.one, "vm.info", (int(vm_id), False))
        else:
            self.one.vm.info(int(vm_id))

    def list100(self) -> None:
        arguments = (-4, 0, -100, -1)
        if self.lean:
            pool = invoke(self.one, "vmpool.infoextended", arguments)
        else:
            pool = self.one.vmpool.infoextended(*arguments)
        if len(pool.VM) != 100:
            raise SystemExit("pyone listed fewer than 100 VMs")

    def stop(self, vm_id: str) -> None:
        self.one.vm.action("poweroff", int(vm_id))


def wait_running(one: Any, vm_ids: list[str]) -> None:
    """Until oned runs every VM (a stop applies to running VMs)."""
    deadline = time.monotonic() + 300
    for vm_id in vm_ids:
        while int((vm := one.vm.info(int(vm_id))).LCM_STATE) != pyone.LCM_STATE.RUNNING:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"VM {vm_id} did not run within 5 minutes (STATE {vm.STATE}, "
                    f"LCM_STATE {vm.LCM_STATE})"
                )
            time.sleep(0.2)


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def report(name: str, occi: list[float], direct: list[float], lean: list[float]) -> None:
    def p(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000

    ratio = statistics.median(occi) / statistics.median(direct)
    added = (statistics.median(occi) - statistics.median(direct)) * 1000
    target = f"≤ {TARGETS[name]:.2f}" if name in TARGETS else ""
    server = f"{p(lean, 0.5):.1f} | {p(occi, 0.5) - p(lean, 0.5):+.1f}" if lean else " | "
    print(
        f"{name} | {p(occi, 0.5):.1f} | {p(occi, 0.9):.1f} | {p(direct, 0.5):.1f} | "
        f"{p(direct, 0.9):.1f} | {added:+.1f} | {ratio:.2f} | {target} | {server}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="creates and stops (30)")
    parser.add_argument("--reads", type=int, default=100, help="gets and lists (100)")
    parser.add_argument("--vms", type=int, default=110, help="VMs in the tenant's group (110)")
    arguments = parser.parse_args()
    rounds, reads = arguments.rounds, arguments.reads
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with (
        running_cloud() as cloud,
        tempfile.TemporaryDirectory(prefix="pyocci-bench-") as workdir,
        occi_server(occi_config(cloud), Path(workdir)) as url,
    ):
        made = cloud.provisioned
        assert made is not None
        occi = Occi(url, OS_TPL_SCHEME + template_term(made.template_id, made.template_name))
        first = occi.create()  # the tenant's group and user made, the templates cached
        direct = Direct(cloud, tenant_session(cloud), made.template_id)
        lean = Direct(cloud, tenant_session(cloud), made.template_id, lean=True)
        wait_running(direct.one, [first])
        filler: list[str] = []
        while len(filler) < max(arguments.vms - 1, 100):
            # A batch at a time: the dummy drivers deploy a few VMs at once.
            batch = [direct.create() for _ in range(10)]
            wait_running(direct.one, batch)
            filler += batch
        times: dict[str, tuple[list[float], list[float], list[float]]] = {}

        def both(name: str, *calls: Callable[[], Any]) -> None:
            """One call of each side (OCCI, pyone, and for reads pyone on the backend's
            transport), the side going first taking turns: oned is busier after some
            calls (a create's deploy goes on after its answer), and always going first
            or last would favour a side."""
            kept = times.setdefault(name, ([], [], []))
            turn = len(kept[0]) % len(calls)
            for side in [*range(turn, len(calls)), *range(turn)]:
                kept[side].append(timed(calls[side]))

        for _ in range(3):  # warm both sides up
            for side in (occi, direct, lean):
                side.get(first), side.list100()
        created: tuple[list[str], list[str]] = ([], [])
        for round_number in range(rounds):
            both(
                "create",
                lambda: created[0].append(occi.create()),
                lambda: created[1].append(direct.create()),
            )
            if round_number % 5 == 4 or round_number == rounds - 1:
                # Ten at a time, as the filler: oned's scheduler leaves a larger burst
                # pending. The reads then meet a quiet oned.
                wait_running(direct.one, created[0][-5:] + created[1][-5:])
        for round_number in range(reads):
            vm_id = filler[round_number % len(filler)]
            both(
                "get",
                lambda v=vm_id: occi.get(v),
                lambda v=vm_id: direct.get(v),
                lambda v=vm_id: lean.get(v),
            )
            both("list 100", occi.list100, direct.list100, lean.list100)
        for occi_vm, direct_vm in zip(created[0], created[1], strict=True):
            both("stop", lambda v=occi_vm: occi.stop(v), lambda v=direct_vm: direct.stop(v))
        print(
            f"oned {cloud.client().system.version()}, {len(filler) + 1} VMs, {rounds} creates and "
            f"stops, {reads} gets and lists of each side"
        )
        print(f"OCCI client: {Occi.client}; pyone: its own transport (requests)")
        print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
        print(
            "operation | OCCI p50 ms | OCCI p90 ms | pyone p50 ms | pyone p90 ms | "
            "OCCI adds ms | ratio | target | oned call p50 ms | server's own ms"
        )
        for name in ("create", "get", "list 100", "stop"):
            report(name, *times[name])


if __name__ == "__main__":
    main()
