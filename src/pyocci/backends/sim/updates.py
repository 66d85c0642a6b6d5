"""Updating entities: from what is stored to what the client wants, per kind.

What a client may change is taken from `desired`; what the cloud manages
(ids, states, link ends, immutable attributes, the mixins the sim adds) is
kept from the stored entity. Swapping the resource template resizes a
compute, swapping the OS template rebuilds it; storage grows; a network's
range changes only while nothing is attached to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
)
from pyocci.backends.kit.context import CONTEXT_ATTRIBUTES
from pyocci.backends.securityrules import normalise_rules
from pyocci.backends.sim import allocation, images, quotas, records, transitions
from pyocci.backends.sim.catalogue import CONTEXT_MIXIN_IDS, MANAGED_MIXINS
from pyocci.backends.sim.context import Work
from pyocci.backends.sim.inputs import (
    client_attributes,
    kept_mixins,
    path_of,
    positive,
    template_of,
)
from pyocci.backends.sim.records import Record
from pyocci.backends.sim.shared import PRIVATE_POOL, PUBLIC_POOL
from pyocci.model.entity import Entity, Link
from pyocci.model.extensions import IPRESERVATION, SECURITYGROUP
from pyocci.model.infrastructure import (
    COMPUTE,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL,
    RESOURCE_TPL,
    STORAGE,
    STORAGELINK,
)


def update(work: Work, current: Entity, desired: Entity) -> Record:
    """Bring the stored entity to what `desired` says, as far as the cloud allows."""
    cloud = work.cloud
    if current.id is None:
        raise EntityNotFoundError("the entity to update has no id")
    shared = cloud.shared_network(current.kind, current.id)
    if shared is not None:
        raise ConflictError(f"{shared.location} belongs to the provider and cannot be changed")
    record = records.load(work, current.id, current.kind)
    if record is None:
        raise EntityNotFoundError(f"no {current.kind} with id {current.id!r}")
    return apply(work, record, desired)


def apply(work: Work, record: Record, desired: Entity) -> Record:
    """Bring a stored entity, read in this transaction, to what `desired` says."""
    location = work.cloud.location_of(record.kind, record.entity_id)
    if isinstance(desired, Link):
        for name, stored in (("source", record.source), ("target", record.target)):
            wanted = path_of(getattr(desired, name))
            if wanted and wanted != stored:
                raise InvalidRequestError(
                    f"the {name} of {location} cannot change ({stored}); "
                    "delete the link and create another"
                )
    attributes = _merged_attributes(work, record, desired)
    mixins = _merged_mixins(work, record, desired, location)
    updater = _UPDATERS.get(record.kind)
    if updater is not None:
        updater(work, record, desired, attributes, mixins)
    record.attributes = attributes
    record.mixins = mixins
    records.save(work, record)
    return record


def _merged_attributes(work: Work, record: Record, desired: Entity) -> dict[str, Any]:
    managed = work.cloud.managed_attributes(record.kind)
    # Immutable in the entity's mixins too: a template's sizes, the sim's history.
    definitions = work.cloud.catalogue.model.attribute_definitions(record.kind, record.mixins)
    attributes = client_attributes(work, desired, record.kind)
    for name, value in record.attributes.items():
        definition = definitions.get(name)
        if name in managed or (definition is not None and not definition.mutable):
            attributes[name] = value
    # Contextualization attributes: supplied once, when the compute is created.
    for name in CONTEXT_ATTRIBUTES:
        stored = record.attributes.get(name)
        wanted = attributes.get(name)
        if wanted is not None and wanted != stored:
            raise InvalidRequestError(
                f"{name} is supplied once, when the compute is created; it cannot change"
            )
        if stored is not None:
            attributes[name] = stored
    return attributes


def _merged_mixins(work: Work, record: Record, desired: Entity, location: str) -> list[str]:
    mixins = kept_mixins(work, desired.mixins)
    for mixin_id in mixins:
        if mixin_id in CONTEXT_MIXIN_IDS and mixin_id not in record.mixins:
            raise InvalidRequestError(
                f"{mixin_id} can only be given when the compute is created, not to {location}"
            )
    for mixin_id in record.mixins:
        if (mixin_id in MANAGED_MIXINS or mixin_id in CONTEXT_MIXIN_IDS) and mixin_id not in mixins:
            mixins.append(mixin_id)
    return mixins


# --- per kind ---------------------------------------------------------------------------------


def _current_image(work: Work, record: Record) -> str | None:
    saved_scheme = work.settings.saved_image_scheme
    for mixin_id in record.mixins:
        if mixin_id in work.cloud.catalogue.images or mixin_id.startswith(saved_scheme):
            return mixin_id
    return None


def _current_template(work: Work, record: Record) -> str | None:
    return next((m for m in record.mixins if m in work.cloud.catalogue.templates), None)


def _without_templates(work: Work, mixins: list[str], parent: str) -> list[str]:
    catalogue = work.cloud.catalogue
    saved_scheme = work.settings.saved_image_scheme
    return [
        mixin_id
        for mixin_id in mixins
        if not (
            catalogue.model.depends_on(mixin_id, parent)
            or (parent == OS_TPL.id and mixin_id.startswith(saved_scheme))
        )
    ]


def _update_compute(
    work: Work, record: Record, desired: Entity, attributes: dict[str, Any], mixins: list[str]
) -> None:
    catalogue = work.cloud.catalogue
    old_image = _current_image(work, record)
    new_image = images.image_of(work, desired.mixins) or old_image
    old_template = _current_template(work, record)
    new_template = template_of(work, desired.mixins)
    if new_template != old_template:
        if old_template is not None:
            # The old template's attributes go with it (ephemeral storage...).
            for name in catalogue.sizes(catalogue.templates[old_template]):
                attributes.pop(name, None)
        if new_template is not None:
            attributes.update(catalogue.sizes(catalogue.templates[new_template]))
    for name in ("occi.compute.cores", "occi.compute.memory"):
        # Without a template the sizes are the client's to change.
        if name not in attributes:
            attributes[name] = desired.attributes.get(name, record.attributes.get(name))
    kept = _without_templates(work, _without_templates(work, mixins, OS_TPL.id), RESOURCE_TPL.id)
    mixins[:] = [
        *([new_image] if new_image else []),
        *kept,
        *([new_template] if new_template else []),
    ]
    cores, memory = attributes["occi.compute.cores"], attributes["occi.compute.memory"]
    old_cores = record.attributes.get("occi.compute.cores") or 0
    old_memory = record.attributes.get("occi.compute.memory") or 0.0
    resize = cores != old_cores or memory != old_memory or new_template != old_template
    rebuild = new_image != old_image
    if not (resize or rebuild):
        return
    doing = "resize" if resize else "rebuild"
    location = work.cloud.location_of(record.kind, record.entity_id)
    transitions.require_settled(work, record, doing)
    if record.state == "error":
        raise ConflictError(f"cannot {doing} {location}: it is in error; delete it instead")
    positive(cores, "occi.compute.cores", integer=True)
    positive(memory, "occi.compute.memory")
    quotas.check(
        work, quotas.Usage(cores=max(0, cores - old_cores), memory=max(0.0, memory - old_memory))
    )
    if record.state == "active":
        transitions.move(work, record, "active")


def _update_storage(
    work: Work, record: Record, desired: Entity, attributes: dict[str, Any], mixins: list[str]
) -> None:
    old = record.attributes.get("occi.storage.size") or 0.0
    new = attributes.get("occi.storage.size", old)
    resize_storage(work, record, new)
    attributes["occi.storage.size"] = record.attributes["occi.storage.size"]


def resize_storage(work: Work, record: Record, size: Any) -> None:
    """Grow a storage to `size` GiB (checking the quota); shrinking is refused."""
    location = work.cloud.location_of(record.kind, record.entity_id)
    if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0:
        raise InvalidRequestError(f"occi.storage.size must be a positive number; got {size!r}")
    old = record.attributes.get("occi.storage.size") or 0.0
    if size < old:
        raise InvalidRequestError(
            f"{location} can only grow: it has {old:g} GiB, so {size:g} GiB is too small"
        )
    if size > old:
        quotas.check(work, quotas.Usage(storage=size - old))
    record.attributes = {**record.attributes, "occi.storage.size": size}


def _update_network(
    work: Work, record: Record, desired: Entity, attributes: dict[str, Any], mixins: list[str]
) -> None:
    stored_address = record.attributes.get("occi.network.address")
    stored_gateway = record.attributes.get("occi.network.gateway")
    address = attributes.get("occi.network.address", stored_address)
    gateway = attributes.get("occi.network.gateway", stored_gateway)
    if address == stored_address and gateway == stored_gateway:
        return
    location = work.cloud.location_of(record.kind, record.entity_id)
    if allocation.pool_in_use(work, allocation.network_pool(record.seq)):
        raise ConflictError(
            f"the addresses of {location} cannot change while interfaces use it; detach them first"
        )
    network = allocation.parse_network(address, "occi.network.address")
    if address != stored_address and gateway == stored_gateway:
        gateway = None  # the old gateway belongs to the old range
    attributes["occi.network.address"] = str(network)
    attributes["occi.network.gateway"] = str(allocation.gateway_of(network, gateway))


def _update_security_group(
    work: Work, record: Record, desired: Entity, attributes: dict[str, Any], mixins: list[str]
) -> None:
    attributes["occi.securitygroup.rules"] = normalise_rules(
        attributes.get(
            "occi.securitygroup.rules", record.attributes.get("occi.securitygroup.rules")
        )
    )


def _update_ip_reservation(
    work: Work, record: Record, desired: Entity, attributes: dict[str, Any], mixins: list[str]
) -> None:
    stored = record.attributes.get("occi.ipreservation.address")
    if attributes.get("occi.ipreservation.address", stored) != stored:
        raise InvalidRequestError(
            "the address of an IP reservation cannot change; reserve another and delete this one"
        )
    attributes["occi.ipreservation.address"] = stored


def _update_network_interface(
    work: Work, record: Record, desired: Entity, attributes: dict[str, Any], mixins: list[str]
) -> None:
    stored = record.attributes
    location = work.cloud.location_of(record.kind, record.entity_id)
    for name in ("occi.networkinterface.gateway", "occi.networkinterface.allocation"):
        if name in stored:
            attributes[name] = stored[name]
    mac = attributes.get("occi.networkinterface.mac", stored.get("occi.networkinterface.mac"))
    if mac is not None and mac != stored.get("occi.networkinterface.mac"):
        mac = allocation.choose_mac(work, mac)
        allocation.release(work, record.seq, allocation.MAC_POOL)
        allocation.hold_mac(work, mac, record.seq)
        attributes["occi.networkinterface.mac"] = mac
    old_address = stored.get("occi.networkinterface.address")
    address = attributes.get("occi.networkinterface.address", old_address)
    if address == old_address:
        attributes["occi.networkinterface.address"] = old_address
        return
    pool, network, gateway = _interface_pool(work, record)
    if pool is None or network is None:
        raise InvalidRequestError(
            f"the address of {location} comes from its target ({record.target}) and cannot change"
        )
    chosen = allocation.choose_address(work, pool, network, gateway, address)
    allocation.release(work, record.seq, pool)
    allocation.hold_address(work, pool, network, chosen, record.seq)
    attributes["occi.networkinterface.address"] = str(chosen)
    attributes["occi.networkinterface.allocation"] = "static"


def _interface_pool(work: Work, record: Record) -> tuple[str | None, Any, Any]:
    """The pool an interface's address came from, if a client may pick another in it."""
    shared = work.cloud.shared.by_location(record.target)
    if shared is not None:
        if shared.pool == PUBLIC_POOL:
            return None, None, None
        return PRIVATE_POOL, shared.network, shared.gateway
    if record.target_seq is None:
        return None, None, None
    target = records.load_location(work, record.target)
    if target is None or target.kind != NETWORK.id:
        return None, None, None
    network = allocation.parse_network(target.attributes.get("occi.network.address"), "network")
    gateway = allocation.parse_address(target.attributes.get("occi.network.gateway"), "gateway")
    return allocation.network_pool(target.seq), network, gateway


def _update_storage_link(
    work: Work, record: Record, desired: Entity, attributes: dict[str, Any], mixins: list[str]
) -> None:
    stored = record.attributes.get("occi.storagelink.deviceid")
    device = attributes.get("occi.storagelink.deviceid", stored)
    attributes["occi.storagelink.deviceid"] = device
    if device == stored:
        return
    for sibling in records.links_of(work, record.source_seq or 0):
        if (
            sibling.kind == STORAGELINK.id
            and sibling.seq != record.seq
            and sibling.attributes.get("occi.storagelink.deviceid") == device
        ):
            raise ConflictError(f"device {device} is already used on {record.source}")


_UPDATERS: dict[str, Callable[[Work, Record, Entity, dict[str, Any], list[str]], None]] = {
    COMPUTE.id: _update_compute,
    STORAGE.id: _update_storage,
    NETWORK.id: _update_network,
    SECURITYGROUP.id: _update_security_group,
    IPRESERVATION.id: _update_ip_reservation,
    NETWORKINTERFACE.id: _update_network_interface,
    STORAGELINK.id: _update_storage_link,
}
