"""Reading from EC2: one thing, pages of a describe call, and queries as EC2 filters.

Nothing is cached here: what was changed in the console or with the AWS
CLI shows at once. A listing of computes (or of their links) makes one
DescribeInstances call per page, asking for as many instances as the OCCI
page still needs; the links come from the same answer. Filters that EC2
can apply (state, template, title, id, source) are sent as EC2 filters;
the query is still checked in Python (`Ec2Backend.keeping`), so a filter
EC2 cannot express only costs more pages, never a wrong answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from pyocci.backends.api import Query, Tenant
from pyocci.backends.ec2 import entities, ids
from pyocci.backends.ec2.api import Ec2Api
from pyocci.backends.ec2.catalogue import (
    OS_TPL_SCHEME,
    RESOURCE_TPL_SCHEME,
    Catalogue,
    type_named,
)
from pyocci.backends.ec2.placement import Placement
from pyocci.backends.ec2.tenancy import NAME_TAG, Tenancy
from pyocci.backends.errors import EntityNotFoundError
from pyocci.model.entity import CORE_ID, CORE_SOURCE, CORE_TITLE, Resource
from pyocci.model.extensions import SECURITYGROUP
from pyocci.model.infrastructure import COMPUTE, NETWORK, NETWORKINTERFACE, STORAGE

Locate = Callable[[str, str], str]
Filters = list[dict[str, Any]]

_MAX_PAGE = {"describe_volumes": 500}


def not_found(kind_id: str, entity_id: str) -> EntityNotFoundError:
    """The error for an entity of this kind that is not there (or not the tenant's)."""
    return EntityNotFoundError(f"no {kind_id.rsplit('#', 1)[-1]} with id {entity_id!r}")


class Reader:
    """Reads a tenant's EC2 resources as OCCI entities."""

    def __init__(
        self,
        api: Ec2Api,
        catalogue: Catalogue,
        tenancy: Tenancy,
        placement: Placement,
        locate: Locate,
    ) -> None:
        self.api = api
        self.catalogue = catalogue
        self.tenancy = tenancy
        self.placement = placement
        self.locate = locate

    # --- one thing ---------------------------------------------------------------------------

    async def instance(self, tenant: Tenant, instance_id: str) -> dict[str, Any]:
        """The tenant's instance (not being terminated), else EntityNotFoundError."""
        response = await self.api.call("describe_instances", InstanceIds=[instance_id])
        for reservation in response.get("Reservations", ()):
            for instance in reservation.get("Instances", ()):
                if (
                    instance["InstanceId"] == instance_id
                    and not entities.is_gone(instance)
                    and self.tenancy.owns(tenant, instance.get("Tags"))
                ):
                    return instance
        raise not_found(COMPUTE.id, instance_id)

    async def volume(self, tenant: Tenant, volume_id: str) -> dict[str, Any]:
        """The tenant's volume (not being deleted), else EntityNotFoundError."""
        response = await self.api.call("describe_volumes", VolumeIds=[volume_id])
        for volume in response.get("Volumes", ()):
            if entities.is_gone_volume(volume):
                continue  # being deleted: gone as far as OCCI goes
            if self.tenancy.owns(tenant, volume.get("Tags")):
                return volume
        raise not_found(STORAGE.id, volume_id)

    async def subnet(self, tenant: Tenant, subnet_id: str) -> dict[str, Any]:
        """The tenant's subnet (or the shared one), else EntityNotFoundError."""
        place = await self.placement.place()
        response = await self.api.call("describe_subnets", SubnetIds=[subnet_id])
        for subnet in response.get("Subnets", ()):
            if place.is_shared(subnet_id) or self.tenancy.owns(tenant, subnet.get("Tags")):
                return subnet
        raise not_found(NETWORK.id, subnet_id)

    async def group(self, tenant: Tenant, group_id: str) -> dict[str, Any]:
        """The tenant's security group (or a shared one), else EntityNotFoundError."""
        place = await self.placement.place()
        response = await self.api.call("describe_security_groups", GroupIds=[group_id])
        for group in response.get("SecurityGroups", ()):
            if place.is_shared(group_id) or self.tenancy.owns(tenant, group.get("Tags")):
                return group
        raise not_found(SECURITYGROUP.id, group_id)

    async def compute(self, tenant: Tenant, instance_id: str) -> Resource:
        """One compute with its links."""
        instance = await self.instance(tenant, instance_id)
        return entities.compute(instance, await self.catalogue.offer(), self.locate)

    async def instance_of_interface(self, eni_id: str) -> str:
        """The instance an interface is attached to, else EntityNotFoundError."""
        response = await self.api.call("describe_network_interfaces", NetworkInterfaceIds=[eni_id])
        for eni in response.get("NetworkInterfaces", ()):
            instance_id = (eni.get("Attachment") or {}).get("InstanceId")
            if instance_id:
                return str(instance_id)
        raise not_found(NETWORKINTERFACE.id, eni_id)

    # --- listings ----------------------------------------------------------------------------

    async def pages(
        self, operation: str, key: str, filters: Filters, wanted: int | None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """EC2's pages of one describe call: the first as large as needed, then full ones."""
        largest = _MAX_PAGE.get(operation, 1000)
        size = largest if wanted is None else min(largest, max(5, wanted))
        parameters: dict[str, Any] = {"MaxResults": size}
        if filters:
            parameters["Filters"] = filters
        while True:
            response = await self.api.call(operation, **parameters)
            if key == "Reservations":
                items = [i for r in response.get(key, ()) for i in r.get("Instances", ())]
            else:
                items = list(response.get(key, ()))
            yield items
            token = response.get("NextToken")
            if not token:
                return
            parameters["NextToken"] = token
            parameters["MaxResults"] = largest

    async def computes(
        self, tenant: Tenant, filters: Filters, wanted: int | None
    ) -> AsyncIterator[Resource]:
        """The tenant's computes (with their links) EC2 finds with these filters, a page
        of DescribeInstances as large as `wanted` first."""
        filters = self.tenancy.filters(tenant) + filters
        offer = await self.catalogue.offer()
        async for instances in self.pages("describe_instances", "Reservations", filters, wanted):
            for instance in instances:
                if not entities.is_gone(instance):
                    yield entities.compute(instance, offer, self.locate)


def compute_filters(query: Query) -> Filters:
    """The query's filters on computes that EC2 can apply: state, title, id, templates."""
    attributes = query.attributes
    states = list(entities.SHOWN_STATES)
    if "occi.compute.state" in attributes:
        states = entities.ec2_states_for(attributes["occi.compute.state"])
    filters: Filters = [{"Name": "instance-state-name", "Values": states or ["none"]}]
    if isinstance(attributes.get(CORE_TITLE), str):
        filters.append({"Name": f"tag:{NAME_TAG}", "Values": [attributes[CORE_TITLE]]})
    wanted_ids = set(query.ids) if query.ids is not None else None
    if isinstance(attributes.get(CORE_ID), str):
        wanted_ids = {attributes[CORE_ID]} & (wanted_ids or {attributes[CORE_ID]})
    if wanted_ids is not None:
        filters.append({"Name": "instance-id", "Values": sorted(wanted_ids) or ["none"]})
    return filters + _template_filters(query)


def link_filters(query: Query) -> Filters:
    """The query's filters on links from computes that EC2 can apply: the source."""
    filters: Filters = [{"Name": "instance-state-name", "Values": list(entities.SHOWN_STATES)}]
    source = ids.ec2_id_of(query.attributes.get(CORE_SOURCE), "i")
    if source is not None:
        filters.append({"Name": "instance-id", "Values": [source]})
    return filters


def simple_filters(query: Query, id_filter: str) -> Filters:
    """Title and id filters, which every resource kind shares."""
    filters: Filters = []
    if isinstance(query.attributes.get(CORE_TITLE), str):
        filters.append({"Name": f"tag:{NAME_TAG}", "Values": [query.attributes[CORE_TITLE]]})
    if query.ids is not None:
        filters.append({"Name": id_filter, "Values": sorted(query.ids) or ["none"]})
    return filters


def _template_filters(query: Query) -> Filters:
    """os_tpl and resource_tpl mixins as image-id and instance-type filters."""
    filters: Filters = []
    templates = (
        (OS_TPL_SCHEME, "image-id", str),
        (RESOURCE_TPL_SCHEME, "instance-type", type_named),
    )
    for scheme, name, value_of in templates:
        required = {value_of(m[len(scheme) :]) for m in query.mixins if m.startswith(scheme)}
        if required:
            # Two templates of one kind at once: no instance has both.
            values = list(required) if len(required) == 1 else ["none"]
            filters.append({"Name": name, "Values": values})
        if query.any_mixins and all(m.startswith(scheme) for m in query.any_mixins):
            values = sorted(value_of(m[len(scheme) :]) for m in query.any_mixins)
            filters.append({"Name": name, "Values": values})
    return filters
