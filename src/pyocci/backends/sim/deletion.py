"""Deleting entities: a resource takes its outgoing links along, never what others link to.

The links that start at a resource go with it, and the addresses and MACs
they hold go with them (ON DELETE CASCADE), which releases public IPs and
frees IP reservations. A resource that links still target (a storage still
attached, a network with interfaces) stays until they are detached.
"""

from __future__ import annotations

from pyocci.backends.errors import ConflictError, EntityNotFoundError
from pyocci.backends.sim import records
from pyocci.backends.sim.context import Work
from pyocci.model.entity import Entity


def delete(work: Work, entity: Entity) -> None:
    """Delete the tenant's entity (and its outgoing links)."""
    cloud = work.cloud
    shared = cloud.shared_network(entity.kind, entity.id)
    if shared is not None:
        raise ConflictError(f"{shared.location} belongs to the provider and cannot be deleted")
    record = records.load(work, entity.id or "", entity.kind)
    if record is None:
        raise EntityNotFoundError(f"no {entity.kind} with id {entity.id!r}")
    incoming = records.links_to(work, record.seq)
    if incoming:
        location = cloud.location_of(record.kind, record.entity_id)
        described = ", ".join(
            f"{cloud.location_of(link.kind, link.entity_id)} (from {link.source})"
            for link in incoming
        )
        raise ConflictError(
            f"cannot delete {location}: links still target it; detach first: {described}"
        )
    records.delete(work, record)
