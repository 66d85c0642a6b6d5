"""Concurrent writers: quotas hold and addresses stay unique (threads on both databases)."""

from __future__ import annotations

import threading

import anyio
import pytest
from sim_helpers import COMPUTE, compute, listing, nic

from pyocci.backends.api import Tenant
from pyocci.backends.errors import QuotaExceededError
from pyocci.backends.sim import Quotas

pytestmark = pytest.mark.anyio


async def test_concurrent_creates_respect_quotas_and_share_pools(make_backend, tenant):
    backend = make_backend(quotas=Quotas(computes=6, public_ips=None))
    outcomes: list[str] = []

    async def create(n: int) -> None:
        try:
            await backend.create_entity(
                tenant, compute(title=f"vm{n}", links=[nic(None, "/network/public")])
            )
            outcomes.append("created")
        except QuotaExceededError:
            outcomes.append("refused")

    async with anyio.create_task_group() as group:
        for n in range(10):
            group.start_soon(create, n)
    assert sorted(outcomes) == ["created"] * 6 + ["refused"] * 4
    computes = await listing(backend, tenant, COMPUTE)
    addresses = [vm.links[0].attributes["occi.networkinterface.address"] for vm in computes]
    assert len(computes) == 6 and len(set(addresses)) == 6


def test_writers_in_threads_never_hand_out_an_address_twice(make_backend):
    # Several tenants at once: the public pool and MACs are shared between them.
    entities = make_backend(quotas=Quotas(public_ips=None)).entities
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            tenant = Tenant(f"tenant-{n % 3}")
            for _ in range(4):
                # What `Database.write` runs in a worker thread on PostgreSQL: one
                # transaction per write, several threads at once.
                with entities.database.transaction() as connection:
                    entities._in_write(
                        connection,
                        tenant,
                        entities._create,
                        compute(links=[nic(None, "/network/public")]),
                    )
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seen_addresses, seen_macs = set(), set()
    for n in range(3):
        computes = entities.read(
            Tenant(f"tenant-{n}"),
            lambda work, n=n: [
                entities._get(work, COMPUTE, row)
                for row in work.connection.exec_driver_sql(
                    "SELECT entity_id FROM sim_entities WHERE kind = "
                    "'http://schemas.ogf.org/occi/infrastructure#compute' AND tenant_id = "
                    f"'tenant-{n}'"
                ).scalars()
            ],
        )
        for vm in computes:
            attributes = vm.links[0].attributes
            seen_addresses.add(attributes["occi.networkinterface.address"])
            seen_macs.add(attributes["occi.networkinterface.mac"])
    assert len(seen_addresses) == 24 and len(seen_macs) == 24
