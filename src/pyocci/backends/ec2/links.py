"""Links from computes: storagelinks, networkinterfaces and securitygrouplinks.

EC2 describes them with their source instance, so they are read from it: a
listing of links is one DescribeInstances call per page (`Reader.computes`),
and one link is picked out of its instance. What EC2 has no field for (a
title, a mount point) is kept as tags of the instance (`linkmeta`). Each
kind says how it is made (`attach`) and undone (`detach`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import Any

from pyocci.backends.api import Query, Tenant
from pyocci.backends.ec2 import ids, linkmeta
from pyocci.backends.ec2.context import Ec2Collection, source_instance
from pyocci.backends.ec2.reading import link_filters, not_found
from pyocci.backends.errors import NotSupportedError
from pyocci.model.entity import CORE_SOURCE, Entity


class InstanceLinks(Ec2Collection):
    """The links of one kind (`kinds` names one) whose source is an EC2 instance."""

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The links of this kind from the tenant's computes, the source filter pushed
        down; `query.limit` is the size of the first page of instances."""
        filters = link_filters(query)
        async for source in self.ec2.reader.computes(tenant, filters, query.limit):
            for link in source.links:
                if link.kind in self.kinds:
                    yield link

    async def source_of(self, parsed: ids.ParsedId) -> str:
        """The instance a link with this id starts at: the first EC2 id in it."""
        return parsed.first

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """The link, picked out of its source instance."""
        parsed = ids.parse(entity_id)
        if parsed is None:
            raise not_found(kind_id, entity_id)
        source = await self.ec2.reader.compute(tenant, await self.source_of(parsed))
        for link in source.links:
            if link.id == entity_id and link.kind == kind_id:
                return link
        raise not_found(kind_id, entity_id)

    @abstractmethod
    async def attach(self, tenant: Tenant, instance: dict[str, Any], link: Entity) -> str:
        """Make the link from this instance in EC2; its id."""

    @abstractmethod
    async def detach(self, tenant: Tenant, link: Entity) -> None:
        """Undo the link in EC2."""

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Make the link at run time, keeping what EC2 has no field for as tags."""
        instance = await self.ec2.reader.instance(tenant, source_instance(entity))
        link_id = await self.attach(tenant, instance, entity)
        await linkmeta.keep(self.ec2.api, instance["InstanceId"], link_id, entity.attributes)
        return await self.get(tenant, self.kinds[0], link_id)

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Change what is kept as tags (title, summary, mount point); a link's ends and
        EC2's own attributes cannot change."""
        changed = sorted(
            name
            for name in set(current.attributes) | set(desired.attributes)
            if current.attributes.get(name) != desired.attributes.get(name)
            and not name.endswith(".state")
            and not name.endswith(".message")
        )
        fixed = [name for name in changed if name not in linkmeta.KEPT]
        if fixed:
            raise NotSupportedError(
                f"EC2 cannot change {', '.join(fixed)} of a link; delete it and link again"
            )
        instance_id = ids.ec2_id_of(current.attributes.get(CORE_SOURCE), "i")
        if not changed or instance_id is None:
            return current
        await linkmeta.keep(
            self.ec2.api,
            instance_id,
            current.id or "",
            {name: desired.attributes.get(name) for name in changed},
        )
        return await self.get(tenant, current.kind or "", current.id or "")

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Undo the link, and forget its tags."""
        await self.detach(tenant, entity)
        instance_id = ids.ec2_id_of(entity.attributes.get(CORE_SOURCE), "i")
        if instance_id is not None:
            await linkmeta.forget(self.ec2.api, instance_id, entity.id or "")
