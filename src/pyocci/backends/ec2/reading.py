"""Reading from EC2: one entity, and listings pushed down as EC2 filters and pages.

Nothing is cached here: what was changed in the console or with the AWS
CLI shows at once. A listing of computes (or of their links) makes one
DescribeInstances call per page, asking for as many instances as the OCCI
page still needs; the links come from the same answer. Filters that EC2
can apply (state, template, title, id, source) are sent as EC2 filters;
the query is still checked in Python, so a filter EC2 cannot express only
costs more pages, never a wrong answer.
"""

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
from pyocci.backends.ec2.placement import Place, Placement
from pyocci.backends.ec2.tenancy import NAME_TAG, Tenancy
from pyocci.backends.errors import EntityNotFoundError
from pyocci.model.entity import CORE_ID, CORE_SOURCE, CORE_TITLE, Entity, Resource
from pyocci.model.extensions import SECURITYGROUP, SECURITYGROUPLINK
from pyocci.model.infrastructure import (
    COMPUTE,
    NETWORK,
    NETWORKINTERFACE,
    STORAGE,
    STORAGELINK,
)

Locate = Callable[[str, str], str]
Filters = list[dict[str, Any]]

#: Resources first, then links, each kind in EC2's own order.
ORDER = (
    COMPUTE.id,
    STORAGE.id,
    NETWORK.id,
    SECURITYGROUP.id,
    STORAGELINK.id,
    NETWORKINTERFACE.id,
    SECURITYGROUPLINK.id,
)
_INSTANCE_KINDS = frozenset({COMPUTE.id, STORAGELINK.id, NETWORKINTERFACE.id, SECURITYGROUPLINK.id})
_MAX_PAGE = {"describe_volumes": 500}


def _not_found(kind_id: str, entity_id: str) -> EntityNotFoundError:
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
        raise _not_found(COMPUTE.id, instance_id)

    async def volume(self, tenant: Tenant, volume_id: str) -> dict[str, Any]:
        """The tenant's volume (not being deleted), else EntityNotFoundError."""
        response = await self.api.call("describe_volumes", VolumeIds=[volume_id])
        for volume in response.get("Volumes", ()):
            if entities.is_gone_volume(volume):
                continue  # being deleted: gone as far as OCCI goes
            if self.tenancy.owns(tenant, volume.get("Tags")):
                return volume
        raise _not_found(STORAGE.id, volume_id)

    async def subnet(self, tenant: Tenant, subnet_id: str) -> dict[str, Any]:
        """The tenant's subnet (or the shared one), else EntityNotFoundError."""
        place = await self.placement.place()
        response = await self.api.call("describe_subnets", SubnetIds=[subnet_id])
        for subnet in response.get("Subnets", ()):
            if place.is_shared(subnet_id) or self.tenancy.owns(tenant, subnet.get("Tags")):
                return subnet
        raise _not_found(NETWORK.id, subnet_id)

    async def group(self, tenant: Tenant, group_id: str) -> dict[str, Any]:
        """The tenant's security group (or a shared one), else EntityNotFoundError."""
        place = await self.placement.place()
        response = await self.api.call("describe_security_groups", GroupIds=[group_id])
        for group in response.get("SecurityGroups", ()):
            if place.is_shared(group_id) or self.tenancy.owns(tenant, group.get("Tags")):
                return group
        raise _not_found(SECURITYGROUP.id, group_id)

    async def compute(self, tenant: Tenant, instance_id: str) -> Resource:
        """One compute with its links."""
        instance = await self.instance(tenant, instance_id)
        return entities.compute(instance, await self.catalogue.offer(), self.locate)

    async def get(self, tenant: Tenant, parsed: ids.ParsedId, entity_id: str) -> Entity:
        """The entity an id names, or EntityNotFoundError."""
        kind = parsed.kind
        if kind == COMPUTE.id:
            return await self.compute(tenant, parsed.first)
        if kind == STORAGE.id:
            return entities.storage(await self.volume(tenant, parsed.first), self.locate)
        if kind == NETWORK.id:
            if parsed.first == ids.PUBLIC:
                return entities.public_network(self.locate)
            return entities.network(await self.subnet(tenant, parsed.first), self.locate)
        if kind == SECURITYGROUP.id:
            return entities.security_group(await self.group(tenant, parsed.first), self.locate)
        # A link: read its source instance and pick the link out of it.
        instance_id = parsed.first
        if kind == NETWORKINTERFACE.id:
            instance_id = await self._instance_of_interface(parsed.first)
        source = await self.compute(tenant, instance_id)
        for link in source.links:
            if link.id == entity_id and link.kind == kind:
                return link
        raise _not_found(kind, entity_id)

    async def _instance_of_interface(self, eni_id: str) -> str:
        response = await self.api.call("describe_network_interfaces", NetworkInterfaceIds=[eni_id])
        for eni in response.get("NetworkInterfaces", ()):
            instance_id = (eni.get("Attachment") or {}).get("InstanceId")
            if instance_id:
                return str(instance_id)
        raise _not_found(NETWORKINTERFACE.id, eni_id)

    # --- listings ----------------------------------------------------------------------------

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The entities matching `query`, paged: EC2 pages are as large as the OCCI page
        still needs, and reading stops when the page is full."""
        if query.limit == 0:
            return
        skip = query.offset
        left = query.limit
        for kind in ORDER:
            if kind not in query.kinds:
                continue
            # What the OCCI page still needs, for EC2's page size.
            wanted = None if left is None else skip + left
            async for entity in self._kind(tenant, kind, query, wanted):
                if not query.matches(entity):
                    continue
                if skip:
                    skip -= 1
                    continue
                yield entity
                if left is not None:
                    left -= 1
                    if left == 0:
                        return

    def _kind(
        self, tenant: Tenant, kind: str, query: Query, wanted: int | None
    ) -> AsyncIterator[Entity]:
        if kind in _INSTANCE_KINDS:
            return self._from_instances(tenant, kind, query, wanted)
        if kind == STORAGE.id:
            return self._volumes(tenant, query, wanted)
        if kind == NETWORK.id:
            return self._networks(tenant, query, wanted)
        return self._groups(tenant, query, wanted)

    async def _pages(
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

    async def _from_instances(
        self, tenant: Tenant, kind: str, query: Query, wanted: int | None
    ) -> AsyncIterator[Entity]:
        filters = self.tenancy.filters(tenant) + self._instance_filters(kind, query)
        offer = await self.catalogue.offer()
        async for instances in self._pages("describe_instances", "Reservations", filters, wanted):
            for instance in instances:
                if entities.is_gone(instance):
                    continue
                resource = entities.compute(instance, offer, self.locate)
                if kind == COMPUTE.id:
                    yield resource
                    continue
                for link in resource.links:
                    if link.kind == kind:
                        yield link

    def _instance_filters(self, kind: str, query: Query) -> Filters:
        states = list(entities.SHOWN_STATES)
        filters: Filters = []
        if kind == COMPUTE.id:
            attributes = query.attributes
            if "occi.compute.state" in attributes:
                states = entities.ec2_states_for(attributes["occi.compute.state"])
            if isinstance(attributes.get(CORE_TITLE), str):
                filters.append({"Name": f"tag:{NAME_TAG}", "Values": [attributes[CORE_TITLE]]})
            wanted_ids = set(query.ids) if query.ids is not None else None
            if isinstance(attributes.get(CORE_ID), str):
                wanted_ids = {attributes[CORE_ID]} & (wanted_ids or {attributes[CORE_ID]})
            if wanted_ids is not None:
                filters.append({"Name": "instance-id", "Values": sorted(wanted_ids) or ["none"]})
            filters += _template_filters(query)
        else:
            source = ids.ec2_id_of(query.attributes.get(CORE_SOURCE), "i")
            if source is not None:
                filters.append({"Name": "instance-id", "Values": [source]})
        return [{"Name": "instance-state-name", "Values": states or ["none"]}, *filters]

    async def _volumes(
        self, tenant: Tenant, query: Query, wanted: int | None
    ) -> AsyncIterator[Entity]:
        filters = self.tenancy.filters(tenant) + _simple_filters(query, "volume-id")
        filters.append({"Name": "status", "Values": list(entities.SHOWN_VOLUME_STATES)})
        async for volumes in self._pages("describe_volumes", "Volumes", filters, wanted):
            for volume in volumes:
                # Checked here too: an EC2-compatible cloud may ignore the filter.
                if not entities.is_gone_volume(volume):
                    yield entities.storage(volume, self.locate)

    async def _networks(
        self, tenant: Tenant, query: Query, wanted: int | None
    ) -> AsyncIterator[Entity]:
        yield entities.public_network(self.locate)

        async def shared_subnet(place: Place) -> tuple[Place, dict[str, Any]]:
            return place, await self.api.call("describe_subnets", SubnetIds=[place.subnet_id])

        place, shared = await self.placement.using(shared_subnet)
        for subnet in shared.get("Subnets", ()):
            yield entities.network(subnet, self.locate)
        if not self.tenancy.by_tag:
            # Every subnet is the tenant's: the shared one is among them, skip it there.
            filters = _simple_filters(query, "subnet-id")
        else:
            filters = self.tenancy.filters(tenant) + _simple_filters(query, "subnet-id")
        async for subnets in self._pages("describe_subnets", "Subnets", filters, wanted):
            for subnet in subnets:
                if subnet["SubnetId"] != place.subnet_id:
                    yield entities.network(subnet, self.locate)

    async def _groups(
        self, tenant: Tenant, query: Query, wanted: int | None
    ) -> AsyncIterator[Entity]:
        async def shared_groups(place: Place) -> tuple[Place, dict[str, Any]]:
            groups = list(place.group_ids)
            return place, await self.api.call("describe_security_groups", GroupIds=groups)

        place, shared = await self.placement.using(shared_groups)
        for group in shared.get("SecurityGroups", ()):
            yield entities.security_group(group, self.locate)
        filters = self.tenancy.filters(tenant) + _simple_filters(query, "group-id")
        filters.append({"Name": "vpc-id", "Values": [place.vpc_id]})
        pages = self._pages("describe_security_groups", "SecurityGroups", filters, wanted)
        async for groups in pages:
            for group in groups:
                if group["GroupId"] not in place.group_ids:
                    yield entities.security_group(group, self.locate)


def _simple_filters(query: Query, id_filter: str) -> Filters:
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
