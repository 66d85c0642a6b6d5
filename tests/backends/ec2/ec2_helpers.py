"""Builders shared by the EC2 backend tests."""

from __future__ import annotations

from typing import Any

from pyocci.backends.api import Query, Tenant
from pyocci.backends.ec2 import Ec2Backend
from pyocci.backends.ec2.catalogue import OS_TPL_SCHEME, RESOURCE_TPL_SCHEME
from pyocci.model import Entity, Link, Resource

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"
STORAGE = INFRA + "storage"
NETWORK = INFRA + "network"
NETWORKINTERFACE = INFRA + "networkinterface"
STORAGELINK = INFRA + "storagelink"
SECURITYGROUP = INFRA + "securitygroup"
SECURITYGROUPLINK = INFRA + "securitygrouplink"
IPNETWORK = "http://schemas.ogf.org/occi/infrastructure/network#ipnetwork"
COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
STORAGE_ACTION = "http://schemas.ogf.org/occi/infrastructure/storage/action#"
ALL_KINDS = (
    COMPUTE,
    STORAGE,
    NETWORK,
    SECURITYGROUP,
    STORAGELINK,
    NETWORKINTERFACE,
    SECURITYGROUPLINK,
)


def image(ami: str) -> str:
    """The os_tpl mixin id of an AMI."""
    return OS_TPL_SCHEME + ami


def flavour(instance_type: str) -> str:
    """The resource_tpl mixin id of an instance type."""
    return RESOURCE_TPL_SCHEME + instance_type.replace(".", "_")


def compute(
    ami: str, instance_type: str = "t3.micro", links: list[Link] | None = None, **attributes: Any
) -> Resource:
    """A compute to create, as the service hands it to the backend."""
    return Resource(
        kind=COMPUTE,
        mixins=[image(ami), flavour(instance_type)],
        attributes=dict(attributes),
        links=links or [],
    )


def link(kind: str, target: str, source: str | None = None, **attributes: Any) -> Link:
    """A link to create (inline when `source` is None)."""
    made = Link(kind=kind, attributes=dict(attributes))
    made.target = target
    if source is not None:
        made.source = source
    return made


async def listed(backend: Ec2Backend, tenant: Tenant, query: Query) -> list[Entity]:
    """Every entity a listing yields."""
    return [entity async for entity in backend.list_entities(tenant, query)]


def count_calls(backend: Ec2Backend) -> list[str]:
    """The EC2 operations the backend's boto3 client makes from now on, in order."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    backend.ec2.api.client.meta.events.register("before-call.ec2.*", record)
    return calls
