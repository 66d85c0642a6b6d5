"""Creating entities: one function per kind, and the links that come inline.

Everything runs in the caller's transaction, so a resource and its inline
links are created together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyocci.backends.errors import ConflictError, InvalidRequestError, NotSupportedError
from pyocci.backends.securityrules import normalise_rules
from pyocci.backends.sim import allocation, images, quotas, records
from pyocci.backends.sim.context import Work
from pyocci.backends.sim.inputs import (
    client_attributes,
    hostname_for,
    kept_mixins,
    new_id,
    path_of,
    positive,
    template_of,
)
from pyocci.backends.sim.records import Record
from pyocci.backends.sim.shared import PUBLIC_POOL
from pyocci.model.entity import CORE_SOURCE_KIND, CORE_TARGET_KIND, Entity, Link, Resource
from pyocci.model.extensions import (
    FLOATINGIPPOOL,
    IPRESERVATION,
    SECURITYGROUP,
    SECURITYGROUPLINK,
)
from pyocci.model.infrastructure import (
    COMPUTE,
    IPNETWORK,
    IPNETWORKINTERFACE,
    NETWORK,
    NETWORKINTERFACE,
    STORAGE,
    STORAGELINK,
)


def create(work: Work, entity: Entity) -> Record:
    """Create a resource with its inline links, or a link; return the stored record."""
    kind = entity.kind or ""
    if kind not in work.cloud.catalogue.capabilities.kinds:
        raise NotSupportedError(f"the simulated cloud cannot create entities of kind {kind!r}")
    if isinstance(entity, Link) or work.cloud.is_link_kind(kind):
        if not isinstance(entity, Link):
            raise InvalidRequestError(f"{kind!r} is a link kind; give a source and a target")
        return create_link(work, entity)
    creator = _RESOURCE_CREATORS[kind]
    record = creator(work, entity, new_id(work, entity))
    if isinstance(entity, Resource):
        location = work.cloud.location_of(record.kind, record.entity_id)
        for link in entity.links:
            given = path_of(link.source)
            if given and given != location:
                raise InvalidRequestError(
                    f"an inline link starts at the resource it is in ({location}), "
                    f"not at {link.source}"
                )
            create_link(work, link, source=record)
    return record


# --- resources ---------------------------------------------------------------------------------


def apply_template(work: Work, attributes: dict[str, Any], template_id: str | None) -> None:
    """Give a compute its sizes: the template's (the model applied them already; values
    the entity carries are kept), else the default template's where none was given."""
    catalogue = work.cloud.catalogue
    if template_id is not None:
        for name, value in catalogue.sizes(catalogue.templates[template_id]).items():
            attributes.setdefault(name, value)
    else:
        fallback = catalogue.default_template
        defaults = catalogue.sizes(fallback) if fallback is not None else {}
        attributes.setdefault("occi.compute.cores", defaults.get("occi.compute.cores", 1))
        attributes.setdefault("occi.compute.memory", defaults.get("occi.compute.memory", 1.0))
    positive(attributes["occi.compute.cores"], "occi.compute.cores", integer=True)
    positive(attributes["occi.compute.memory"], "occi.compute.memory")


def _create_compute(work: Work, entity: Entity, entity_id: str) -> Record:
    catalogue = work.cloud.catalogue
    mixins = kept_mixins(work, entity.mixins)
    image = images.image_of(work, entity.mixins)
    if image is None:
        if catalogue.default_image is None:
            raise InvalidRequestError(images.choices(work))
        image = catalogue.default_image.id
        mixins.insert(0, image)
    attributes = client_attributes(work, entity)
    template = template_of(work, entity.mixins)
    gave_sizes = "occi.compute.cores" in attributes or "occi.compute.memory" in attributes
    if template is None and not gave_sizes and catalogue.default_template is not None:
        template = catalogue.default_template.id
        mixins.append(template)
    apply_template(work, attributes, template)
    attributes.setdefault("occi.compute.architecture", "x64")
    attributes.setdefault(
        "occi.compute.hostname", hostname_for(attributes.get("occi.core.title"), entity_id)
    )
    quotas.check(
        work,
        quotas.Usage(
            computes=1,
            cores=attributes["occi.compute.cores"],
            memory=attributes["occi.compute.memory"],
        ),
    )
    return records.insert(
        work,
        kind=COMPUTE.id,
        entity_id=entity_id,
        mixins=mixins,
        attributes=attributes,
        state=None,
        transition_to="active",
    )


def _create_storage(work: Work, entity: Entity, entity_id: str) -> Record:
    attributes = client_attributes(work, entity)
    size = positive(attributes.get("occi.storage.size"), "occi.storage.size (GiB)")
    quotas.check(work, quotas.Usage(storage=size))
    return records.insert(
        work,
        kind=STORAGE.id,
        entity_id=entity_id,
        mixins=kept_mixins(work, entity.mixins),
        attributes=attributes,
        state="online",
    )


def _tenant_subnets(work: Work) -> list[Any]:
    taken = []
    for network in tenant_networks(work):
        try:
            taken.append(
                allocation.parse_network(network.attributes.get("occi.network.address"), "")
            )
        except InvalidRequestError:
            continue
    return taken


def tenant_networks(work: Work) -> list[Record]:
    """The tenant's own networks (not IP reservations)."""
    rows = work.connection.execute(
        records.select_records().where(
            records.ENTITIES.c.tenant_id == work.tenant_id,
            records.ENTITIES.c.kind == NETWORK.id,
        )
    )
    return [Record.from_row(row) for row in rows]


def _create_network(work: Work, entity: Entity, entity_id: str) -> Record:
    attributes = client_attributes(work, entity)
    given = attributes.get("occi.network.address")
    if given is not None:
        network = allocation.parse_network(given, "occi.network.address")
    else:
        space = allocation.parse_network(work.settings.tenant_network_space, "network space")
        shared = [network.network for network in work.cloud.shared.all]
        network = allocation.fresh_subnet(space, [*_tenant_subnets(work), *shared])
    gateway = allocation.gateway_of(network, attributes.get("occi.network.gateway"))
    attributes["occi.network.address"] = str(network)
    attributes["occi.network.gateway"] = str(gateway)
    attributes.setdefault("occi.network.allocation", "dynamic")
    quotas.check(work, quotas.Usage(networks=1))
    return records.insert(
        work,
        kind=NETWORK.id,
        entity_id=entity_id,
        mixins=[*kept_mixins(work, entity.mixins), IPNETWORK.id],
        attributes=attributes,
        state="active",
    )


def _create_security_group(work: Work, entity: Entity, entity_id: str) -> Record:
    attributes = client_attributes(work, entity)
    attributes["occi.securitygroup.rules"] = normalise_rules(
        attributes.get("occi.securitygroup.rules", [])
    )
    return records.insert(
        work,
        kind=SECURITYGROUP.id,
        entity_id=entity_id,
        mixins=kept_mixins(work, entity.mixins),
        attributes=attributes,
        state="active",
    )


def check_pool(work: Work, mixins: list[str]) -> None:
    """InvalidRequestError if the entity names a floating IP pool that is not ours."""
    pool = work.cloud.catalogue.pool
    for mixin_id in mixins:
        if mixin_id not in (pool.id, FLOATINGIPPOOL.id) and work.cloud.catalogue.model.depends_on(
            mixin_id, FLOATINGIPPOOL.id
        ):
            raise InvalidRequestError(
                f"{mixin_id!r} is not a floating IP pool of this cloud; use {pool.id}"
            )


def _create_ip_reservation(work: Work, entity: Entity, entity_id: str) -> Record:
    public = work.cloud.shared.public
    check_pool(work, entity.mixins)
    attributes = client_attributes(work, entity)
    mixins = kept_mixins(work, entity.mixins)
    if work.cloud.catalogue.pool.id not in mixins:
        mixins.append(work.cloud.catalogue.pool.id)
    quotas.check_public_ips(work)
    address = allocation.choose_address(
        work,
        PUBLIC_POOL,
        public.network,
        public.gateway,
        attributes.get("occi.ipreservation.address"),
    )
    attributes["occi.ipreservation.address"] = str(address)
    record = records.insert(
        work,
        kind=IPRESERVATION.id,
        entity_id=entity_id,
        mixins=mixins,
        attributes=attributes,
        state="active",
    )
    allocation.hold_address(work, PUBLIC_POOL, public.network, address, record.seq)
    return record


_RESOURCE_CREATORS: dict[str, Callable[[Work, Entity, str], Record]] = {
    COMPUTE.id: _create_compute,
    STORAGE.id: _create_storage,
    NETWORK.id: _create_network,
    SECURITYGROUP.id: _create_security_group,
    IPRESERVATION.id: _create_ip_reservation,
}


# --- links -------------------------------------------------------------------------------------


def _term(kind_id: str) -> str:
    return kind_id.rsplit("#", 1)[-1]


def create_link(work: Work, link: Link, source: Record | None = None) -> Record:
    """Create a link from one of the tenant's computes; `source` is given for inline links."""
    kind = link.kind or ""
    if kind not in _LINK_CREATORS:
        raise NotSupportedError(f"the simulated cloud cannot create links of kind {kind!r}")
    entity_id = new_id(work, link)
    if source is None:
        source = records.load_location(work, path_of(link.source))
        if source is None:
            raise InvalidRequestError(
                f"the source {link.source!r} of the {_term(kind)} is not one of your computes"
            )
    if source.kind != COMPUTE.id:
        source_location = work.cloud.location_of(source.kind, source.entity_id)
        raise InvalidRequestError(
            f"a {_term(kind)} starts at a compute; {source_location} is a {_term(source.kind)}"
        )
    if not link.target:
        raise InvalidRequestError(f"a {_term(kind)} needs a target (occi.core.target)")
    return _LINK_CREATORS[kind](work, link, entity_id, source)


def _target_record(work: Work, link: Link, allowed: tuple[str, ...]) -> Record:
    target = records.load_location(work, path_of(link.target))
    if target is None or target.kind not in allowed:
        wanted = " or ".join(_term(kind) for kind in allowed)
        raise InvalidRequestError(
            f"the target {link.target!r} of the {_term(link.kind or '')} is not one of "
            f"your {wanted} resources"
        )
    return target


def outgoing(work: Work, source: Record, kind_id: str) -> list[Record]:
    """The links of one kind that start at a resource."""
    links = records.links_of(work, source.seq)
    return [link for link in links if link.kind == kind_id]


def _create_network_interface(work: Work, link: Link, entity_id: str, source: Record) -> Record:
    cloud = work.cloud
    attributes = client_attributes(work, link)
    mixins = kept_mixins(work, link.mixins)
    check_pool(work, mixins)
    requested = attributes.pop("occi.networkinterface.address", None)
    shared = cloud.shared.by_location(path_of(link.target))
    pool: str | None = None
    target_seq: int | None = None
    if shared is not None:
        pool, network, gateway = shared.pool, shared.network, shared.gateway
        target_location, target_kind = shared.location, NETWORK.id
        if pool == PUBLIC_POOL:
            quotas.check_public_ips(work)
    else:
        target = _target_record(work, link, (NETWORK.id, IPRESERVATION.id))
        target_seq, target_kind = target.seq, target.kind
        target_location = cloud.location_of(target.kind, target.entity_id)
        if target.kind == IPRESERVATION.id:
            if target.used:
                raise ConflictError(
                    f"the IP reservation {target_location} is already used by an interface; "
                    "detach that interface first"
                )
            reserved = target.attributes["occi.ipreservation.address"]
            if requested is not None and requested != reserved:
                raise InvalidRequestError(
                    f"an interface to {target_location} has its address {reserved}"
                )
            network, gateway = cloud.shared.public.network, cloud.shared.public.gateway
            address = allocation.parse_address(reserved, "occi.ipreservation.address")
        else:
            pool = allocation.network_pool(target.seq)
            network = allocation.parse_network(
                target.attributes.get("occi.network.address"), "occi.network.address"
            )
            gateway = allocation.parse_address(
                target.attributes.get("occi.network.gateway"), "occi.network.gateway"
            )
    if pool is not None:
        address = allocation.choose_address(work, pool, network, gateway, requested)
    mac = allocation.choose_mac(work, attributes.get("occi.networkinterface.mac"))
    taken = [
        nic.attributes.get("occi.networkinterface.interface")
        for nic in outgoing(work, source, NETWORKINTERFACE.id)
    ]
    attributes.update(
        {
            "occi.networkinterface.interface": allocation.next_interface(
                (name for name in taken if isinstance(name, str)),
                # A device name the client asked for (the cloud manages the rest).
                link.attributes.get("occi.networkinterface.interface"),
            ),
            "occi.networkinterface.mac": mac,
            "occi.networkinterface.address": str(address),
            "occi.networkinterface.gateway": str(gateway),
            "occi.networkinterface.allocation": "static" if requested else "dynamic",
        }
    )
    if IPNETWORKINTERFACE.id not in mixins:
        mixins.append(IPNETWORKINTERFACE.id)
    record = _insert_link(
        work,
        NETWORKINTERFACE.id,
        entity_id,
        mixins,
        attributes,
        source,
        (target_kind, target_seq, target_location),
    )
    allocation.hold_mac(work, mac, record.seq)
    if pool is not None:
        allocation.hold_address(work, pool, network, address, record.seq)
    return record


def _create_storage_link(work: Work, link: Link, entity_id: str, source: Record) -> Record:
    cloud = work.cloud
    target = _target_record(work, link, (STORAGE.id,))
    target_location = cloud.location_of(target.kind, target.entity_id)
    for attached in records.links_to(work, target.seq):
        if attached.kind == STORAGELINK.id:
            raise ConflictError(
                f"{target_location} is already attached to {attached.source} "
                f"({cloud.location_of(attached.kind, attached.entity_id)}); detach it first"
            )
    attributes = client_attributes(work, link)
    taken = {
        existing.attributes.get("occi.storagelink.deviceid")
        for existing in outgoing(work, source, STORAGELINK.id)
    }
    device = attributes.get("occi.storagelink.deviceid")
    if device is None:
        device = allocation.next_device(name for name in taken if isinstance(name, str))
    elif device in taken:
        raise ConflictError(f"device {device} is already used on the compute; choose another")
    attributes["occi.storagelink.deviceid"] = device
    return _insert_link(
        work,
        STORAGELINK.id,
        entity_id,
        kept_mixins(work, link.mixins),
        attributes,
        source,
        (STORAGE.id, target.seq, target_location),
    )


def _create_security_group_link(work: Work, link: Link, entity_id: str, source: Record) -> Record:
    cloud = work.cloud
    target = _target_record(work, link, (SECURITYGROUP.id,))
    target_location = cloud.location_of(target.kind, target.entity_id)
    for existing in outgoing(work, source, SECURITYGROUPLINK.id):
        if existing.target_seq == target.seq:
            raise ConflictError(
                f"{target_location} already applies to the compute "
                f"({cloud.location_of(existing.kind, existing.entity_id)})"
            )
    return _insert_link(
        work,
        SECURITYGROUPLINK.id,
        entity_id,
        kept_mixins(work, link.mixins),
        client_attributes(work, link),
        source,
        (SECURITYGROUP.id, target.seq, target_location),
    )


def _insert_link(
    work: Work,
    kind: str,
    entity_id: str,
    mixins: list[str],
    attributes: dict[str, Any],
    source: Record,
    target: tuple[str, int | None, str],
) -> Record:
    """Store a link from a compute, active at once; `target` is (kind, row or None for a
    shared network, location). Every sim link starts at a compute."""
    target_kind, target_seq, target_location = target
    attributes.update({CORE_SOURCE_KIND: COMPUTE.id, CORE_TARGET_KIND: target_kind})
    return records.insert(
        work,
        kind=kind,
        entity_id=entity_id,
        mixins=mixins,
        attributes=attributes,
        state="active",
        source=source,
        target_seq=target_seq,
        target=target_location,
    )


_LINK_CREATORS: dict[str, Callable[[Work, Link, str, Record], Record]] = {
    NETWORKINTERFACE.id: _create_network_interface,
    STORAGELINK.id: _create_storage_link,
    SECURITYGROUPLINK.id: _create_security_group_link,
}
