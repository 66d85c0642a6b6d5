"""Per-tenant quotas: what a tenant's resources add up to, and the limits on that.

Usage is kept in one row per tenant (`sim_usage`), adjusted in the same
transaction as every entity written, so checking a quota is one read however
many resources the tenant has. That row is also the tenant's write lock on
PostgreSQL (``SELECT ... FOR UPDATE``); SQLite's write transactions are
exclusive already. Public IPs are counted from the addresses held, since
they are freed by cascade when their holder goes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from pyocci.backends.errors import QuotaExceededError
from pyocci.backends.sim.shared import PUBLIC_POOL
from pyocci.backends.sim.tables import sim_addresses, sim_usage
from pyocci.model.infrastructure import COMPUTE, NETWORK, STORAGE
from pyocci.store.prepared import Prepared

if TYPE_CHECKING:
    from pyocci.backends.sim.context import Work

LABELS = {
    "computes": "computes",
    "cores": "cores",
    "memory": "memory (GiB)",
    "storage": "storage (GiB)",
    "networks": "networks",
    "public_ips": "public IP addresses",
}


@dataclass(frozen=True, slots=True)
class Usage:
    """Amounts that count against quotas (memory and storage in GiB)."""

    computes: int = 0
    cores: int = 0
    memory: float = 0.0
    storage: float = 0.0
    networks: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def contribution(
    kind: str, cores: int | None, memory: float | None, storage_size: float | None
) -> Usage:
    """What one entity counts for: computes their cores and memory, storage its size,
    networks one each (IP reservations count as public IPs instead)."""
    if kind == COMPUTE.id:
        return Usage(computes=1, cores=cores or 0, memory=memory or 0.0)
    if kind == STORAGE.id:
        return Usage(storage=storage_size or 0.0)
    if kind == NETWORK.id:
        return Usage(networks=1)
    return Usage()


_LOCK = Prepared(
    sa.select(sim_usage.c.tenant_id)
    .where(sim_usage.c.tenant_id == sa.bindparam("tenant_id"))
    .with_for_update()
)
_USAGE = sa.select(sim_usage).where(sim_usage.c.tenant_id == sa.bindparam("tenant_id"))
_ADD = Prepared(
    sim_usage.update()
    .where(sim_usage.c.tenant_id == sa.bindparam("row_tenant"))
    .values(
        {
            column: column + sa.bindparam("add_" + column.name)
            for column in (
                sim_usage.c.computes,
                sim_usage.c.cores,
                sim_usage.c.memory,
                sim_usage.c.storage,
                sim_usage.c.networks,
            )
        }
    )
)


def lock_tenant(work: Work) -> None:
    """Take the tenant's write lock, creating its usage row on its first write."""
    connection = work.connection
    parameters = {"tenant_id": work.tenant_id}
    if not work.fetch(_LOCK, parameters):
        insert = (
            postgresql.insert(sim_usage)
            if work.cloud.database.is_postgresql
            else sqlite.insert(sim_usage)
        )
        connection.execute(
            insert.values(tenant_id=work.tenant_id).on_conflict_do_nothing(
                index_elements=["tenant_id"]
            )
        )
        work.fetch(_LOCK, parameters)


def usage(work: Work) -> Usage:
    """What the tenant's resources add up to now."""
    row = work.connection.execute(_USAGE, {"tenant_id": work.tenant_id}).first()
    if row is None:
        return Usage()
    return Usage(
        computes=row.computes,
        cores=row.cores,
        memory=row.memory,
        storage=row.storage,
        networks=row.networks,
    )


def add(work: Work, delta: Usage) -> None:
    """Adjust the tenant's usage by `delta` (negative when something goes)."""
    if not delta:
        return
    parameters: dict[str, object] = {"row_tenant": work.tenant_id}
    parameters.update({"add_" + f.name: getattr(delta, f.name) for f in fields(delta)})
    work.change(_ADD, parameters)


def public_ips_in_use(work: Work) -> int:
    """How many public addresses the tenant holds (reservations and public links)."""
    return (
        work.connection.scalar(
            sa.select(sa.func.count()).where(
                sim_addresses.c.tenant_id == work.tenant_id, sim_addresses.c.pool == PUBLIC_POOL
            )
        )
        or 0
    )


def check(work: Work, more: Usage) -> None:
    """QuotaExceededError if adding `more` to the tenant's usage passes a limit."""
    quotas = work.settings.quotas
    if all(getattr(quotas, f.name) is None for f in fields(more) if getattr(more, f.name) > 0):
        return
    current = usage(work)
    for f in fields(more):
        requested = getattr(more, f.name)
        if requested > 0:
            _check_one(f.name, getattr(quotas, f.name), getattr(current, f.name), requested)


def check_public_ips(work: Work, requested: int = 1) -> None:
    """QuotaExceededError if the tenant may not hold `requested` more public addresses."""
    limit = work.settings.quotas.public_ips
    if limit is not None:
        _check_one("public_ips", limit, public_ips_in_use(work), requested)


def _check_one(name: str, limit: float | None, used: float, requested: float) -> None:
    if limit is None or used + requested <= limit:
        return
    label = LABELS[name]
    raise QuotaExceededError(
        f"quota exceeded for {label}: the limit is {_number(limit)}, {_number(used)} in use, "
        f"and this needs {_number(requested)} more; delete something first or ask for more"
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
