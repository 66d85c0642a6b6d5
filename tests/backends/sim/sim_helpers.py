"""Builders and checks shared by the sim backend tests."""

from __future__ import annotations

from typing import Any

from clocks import FakeClock as FakeClock  # re-exported: the sim tests import it from here
from pyocci.backends.api import Query, Tenant
from pyocci.backends.sim import SimBackend
from pyocci.model import Entity, Link, Model, Resource, standard_model

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"
STORAGE = INFRA + "storage"
NETWORK = INFRA + "network"
NETWORKINTERFACE = INFRA + "networkinterface"
STORAGELINK = INFRA + "storagelink"
SECURITYGROUP = INFRA + "securitygroup"
SECURITYGROUPLINK = INFRA + "securitygrouplink"
IPRESERVATION = INFRA + "ipreservation"
IPNETWORK = "http://schemas.ogf.org/occi/infrastructure/network#ipnetwork"
IPNETWORKINTERFACE = (
    "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface"
)
USER_DATA = "http://schemas.ogf.org/occi/infrastructure/compute#user_data"
SSH_KEY = "http://schemas.ogf.org/occi/infrastructure/credentials#ssh_key"
LEGACY_USER_DATA = "http://schemas.openstack.org/compute/instance#user_data"
LEGACY_KEY = "http://schemas.openstack.org/instance/credentials#public_key"
OS_TPL = INFRA + "os_tpl"
RESOURCE_TPL = INFRA + "resource_tpl"

IMAGES = "http://schemas.pyocci.org/sim/os_tpl#"
SAVED = "http://schemas.pyocci.org/sim/os_tpl/saved#"
UBUNTU = IMAGES + "ubuntu-24_04"
DEBIAN = IMAGES + "debian-12"
CRTP = "http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#"
SMALL, MEDIUM, LARGE = CRTP + "small", CRTP + "medium", CRTP + "large"
POOL = "http://schemas.openstack.org/network/floatingippool#public"
ZONE = "http://schemas.pyocci.org/sim/availability_zone#default"

COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
STORAGE_ACTION = "http://schemas.ogf.org/occi/infrastructure/storage/action#"
NETWORK_ACTION = "http://schemas.ogf.org/occi/infrastructure/network/action#"
NIC_ACTION = "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#"
STORAGELINK_ACTION = "http://schemas.ogf.org/occi/infrastructure/storagelink/action#"
IPRESERVATION_ACTION = "http://schemas.ogf.org/occi/infrastructure/ipreservation/action#"


def _values(title: str | None, attributes: dict[str, Any] | None) -> dict[str, Any]:
    values = dict(attributes or {})
    if title is not None:
        values["occi.core.title"] = title
    return values


def compute(
    *mixins: str,
    links: tuple[Link, ...] | list[Link] = (),
    title: str | None = None,
    attributes: dict[str, Any] | None = None,
    image: bool = True,
) -> Resource:
    """A compute to create; its image is Ubuntu unless an os_tpl is among `mixins`."""
    chosen = list(mixins)
    if image and not any(m.startswith((IMAGES, SAVED)) for m in chosen):
        chosen.insert(0, UBUNTU)
    return Resource(
        kind=COMPUTE, mixins=chosen, attributes=_values(title, attributes), links=list(links)
    )


def storage(size: Any = 10.0, title: str | None = None, **extra: Any) -> Resource:
    values = _values(title, extra.pop("attributes", None))
    if size is not None:
        values["occi.storage.size"] = size
    return Resource(kind=STORAGE, mixins=list(extra.pop("mixins", [])), attributes=values)


def network(
    address: str | None = None, title: str | None = None, attributes: dict | None = None
) -> Resource:
    values = _values(title, attributes)
    if address is not None:
        values["occi.network.address"] = address
    return Resource(kind=NETWORK, mixins=[IPNETWORK], attributes=values)


def link(
    kind: str,
    source: str | None,
    target: str,
    *mixins: str,
    attributes: dict[str, Any] | None = None,
) -> Link:
    values = dict(attributes or {})
    if source is not None:
        values["occi.core.source"] = source
    values["occi.core.target"] = target
    return Link(kind=kind, mixins=list(mixins), attributes=values)


def nic(
    source: str | None, target: str, *mixins: str, attributes: dict[str, Any] | None = None
) -> Link:
    return link(NETWORKINTERFACE, source, target, *mixins, attributes=attributes)


def attach(source: str | None, target: str, attributes: dict[str, Any] | None = None) -> Link:
    return link(STORAGELINK, source, target, attributes=attributes)


def security_group(rules: Any, title: str | None = None) -> Resource:
    values = _values(title, None)
    values["occi.securitygroup.rules"] = rules
    return Resource(kind=SECURITYGROUP, attributes=values)


def reservation(*mixins: str, attributes: dict[str, Any] | None = None) -> Resource:
    return Resource(kind=IPRESERVATION, mixins=list(mixins), attributes=dict(attributes or {}))


async def listing(backend: SimBackend, tenant: Tenant, *kinds: str, **query: Any) -> list[Entity]:
    return [entity async for entity in backend.list_entities(tenant, Query(kinds=kinds, **query))]


async def served_model(backend: SimBackend, tenant: Tenant) -> Model:
    """The standard model with every provider mixin the tenant sees, as a service builds it."""
    return Model(await backend.provider_mixins(tenant), base=standard_model())


async def assert_declared(backend: SimBackend, tenant: Tenant, entity: Entity) -> None:
    """Every attribute and mixin of an entity (and its links) is declared (rOCCI-style)."""
    model = await served_model(backend, tenant)
    model.validate(entity, creating=False)


def offered(backend: SimBackend, entity: Entity) -> list[str]:
    """The actions the service shows on an entity in the state the sim gives it: those the
    model's state machines allow now, among the sim's capabilities."""
    supported = backend.capabilities.supports_action
    return [a for a in backend.model.applicable_actions(entity) if supported(a)]
