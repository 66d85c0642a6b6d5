"""Security groups on EC2: groups of the VPC, their rules, and their links to computes.

Rules use the OOI/rOCCI form checked by the sim's rule module (one rule
checker for every backend); they become IpPermissions, and an update
revokes and authorizes only the difference. A link from a compute to a
group adds the group to the instance's primary interface.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from pyocci.backends.api import Query, Tenant
from pyocci.backends.ec2 import entities, ids
from pyocci.backends.ec2.context import Ec2, Ec2Collection, target_id, unlinked
from pyocci.backends.ec2.links import InstanceLinks
from pyocci.backends.ec2.network import primary_interface
from pyocci.backends.ec2.placement import Place
from pyocci.backends.ec2.reading import simple_filters
from pyocci.backends.ec2.storage import retitle
from pyocci.backends.errors import ConflictError, InvalidRequestError
from pyocci.backends.securityrules import normalise_rules
from pyocci.model.entity import CORE_SUMMARY, Entity, Resource
from pyocci.model.extensions import SECURITYGROUP, SECURITYGROUPLINK

RULES = "occi.securitygroup.rules"
_PROTOCOLS = {"any": "-1", "tcp": "tcp", "udp": "udp", "icmp": "icmp"}


def _permission(rule: dict[str, str]) -> dict[str, Any]:
    permission: dict[str, Any] = {"IpProtocol": _PROTOCOLS[rule["protocol"]]}
    if "port" in rule:
        low, _, high = rule["port"].partition("-")
        permission["FromPort"], permission["ToPort"] = int(low), int(high or low)
    elif rule["protocol"] == "icmp":
        permission["FromPort"], permission["ToPort"] = -1, -1
    if rule["ipversion"] == "IPv6":
        permission["Ipv6Ranges"] = [{"CidrIpv6": rule["range"]}]
    else:
        permission["IpRanges"] = [{"CidrIp": rule["range"]}]
    return permission


def _key(rule: dict[str, str]) -> tuple[str, ...]:
    return tuple(rule.get(name, "") for name in ("type", "protocol", "port", "range", "ipversion"))


async def _apply_rules(ec2: Ec2, group_id: str, current: list[dict], desired: list[dict]) -> None:
    have = {_key(rule): rule for rule in current}
    want = {_key(rule): rule for rule in desired}
    for direction, suffix in (("inbound", "ingress"), ("outbound", "egress")):
        revoke = [_permission(r) for k, r in have.items() if k not in want and k[0] == direction]
        grant = [_permission(r) for k, r in want.items() if k not in have and k[0] == direction]
        if revoke:
            await ec2.api.call(
                f"revoke_security_group_{suffix}", GroupId=group_id, IpPermissions=revoke
            )
        if grant:
            await ec2.api.call(
                f"authorize_security_group_{suffix}", GroupId=group_id, IpPermissions=grant
            )


class Groups(Ec2Collection):
    """Security groups of the VPC: the provider's (every tenant's), then the tenant's."""

    kinds = (SECURITYGROUP.id,)

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The provider's groups, then the tenant's (title and id filters pushed down)."""
        ec2 = self.ec2

        async def shared_groups(place: Place) -> tuple[Place, dict[str, Any]]:
            groups = list(place.group_ids)
            return place, await ec2.api.call("describe_security_groups", GroupIds=groups)

        place, shared = await ec2.placement.using(shared_groups)
        for group in shared.get("SecurityGroups", ()):
            yield entities.security_group(group, ec2.reader.locate)
        filters = ec2.tenancy.filters(tenant) + simple_filters(query, "group-id")
        filters.append({"Name": "vpc-id", "Values": [place.vpc_id]})
        pages = ec2.reader.pages("describe_security_groups", "SecurityGroups", filters, query.limit)
        async for groups in pages:
            for group in groups:
                if group["GroupId"] not in place.group_ids:
                    yield entities.security_group(group, ec2.reader.locate)

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Resource:
        """One group with its rules."""
        group = await self.ec2.reader.group(tenant, entity_id)
        return entities.security_group(group, self.ec2.reader.locate)

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Create a group in the VPC and give it exactly the rules asked for."""
        unlinked(entity)
        ec2 = self.ec2
        rules = normalise_rules(entity.attributes.get(RULES, []))
        name = entity.title or f"occi-{uuid.uuid4().hex[:12]}"
        summary = entity.attributes.get(CORE_SUMMARY)

        async def make(place: Place) -> dict[str, Any]:
            return await ec2.api.call(
                "create_security_group",
                missing=InvalidRequestError,
                GroupName=name,
                Description=summary or f"OCCI security group {name}",
                VpcId=place.vpc_id,
                TagSpecifications=ec2.tenancy.specification(
                    "security-group", ec2.tenancy.tags(tenant, entity.title)
                ),
            )

        created = await ec2.placement.using(make)
        group_id = created["GroupId"]
        try:
            current = (await self.get(tenant, SECURITYGROUP.id, group_id)).attributes[RULES]
            await _apply_rules(ec2, group_id, current, rules)
        except Exception:
            await ec2.api.call("delete_security_group", GroupId=group_id)
            raise
        return await self.get(tenant, SECURITYGROUP.id, group_id)

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Change the rules (only the difference) and the title."""
        group_id = current.id or ""
        if (await self.ec2.placement.place()).is_shared(group_id):
            raise ConflictError(
                f"/securitygroup/{group_id} is the provider's and cannot be changed"
            )
        rules = normalise_rules(desired.attributes.get(RULES, []))
        await _apply_rules(self.ec2, group_id, list(current.attributes.get(RULES, [])), rules)
        await retitle(self.ec2, group_id, current, desired)
        return await self.get(tenant, SECURITYGROUP.id, group_id)

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete the group (409 while instances use it; never the provider's)."""
        group_id = entity.id or ""
        if (await self.ec2.placement.place()).is_shared(group_id):
            raise ConflictError(
                f"/securitygroup/{group_id} is the provider's and cannot be deleted"
            )
        # AWS refuses with DependencyViolation; not every EC2 implementation does, so ask.
        users = await self.ec2.api.call(
            "describe_network_interfaces", Filters=[{"Name": "group-id", "Values": [group_id]}]
        )
        if users.get("NetworkInterfaces"):
            raise ConflictError(
                f"DependencyViolation: {group_id} is in use by "
                f"{len(users['NetworkInterfaces'])} interface(s); unlink it from its computes first"
            )
        await self.ec2.api.call("delete_security_group", GroupId=group_id)


# --- links ---------------------------------------------------------------------------------


async def _set_groups(ec2: Ec2, instance: dict[str, Any], groups: list[str]) -> None:
    eni = primary_interface(instance)
    await ec2.api.call(
        "modify_network_interface_attribute",
        NetworkInterfaceId=eni["NetworkInterfaceId"],
        Groups=groups,
    )


class GroupLinks(InstanceLinks):
    """Security groups on the primary interface of instances."""

    kinds = (SECURITYGROUPLINK.id,)

    async def attach(self, tenant: Tenant, instance: dict[str, Any], link: Entity) -> str:
        """Add the group to the instance."""
        group_id = target_id(link, "sg", "a security group")
        await self.ec2.reader.group(tenant, group_id)
        groups = [g["GroupId"] for g in primary_interface(instance).get("Groups", ())]
        if group_id not in groups:
            await _set_groups(self.ec2, instance, [*groups, group_id])
        return ids.pair(instance["InstanceId"], group_id)

    async def detach(self, tenant: Tenant, link: Entity) -> None:
        """Take the group off the instance (EC2 keeps at least one)."""
        parsed = ids.parse(link.id or "")
        if parsed is None or parsed.second is None:
            raise InvalidRequestError(f"{link.id!r} is not a securitygrouplink of this cloud")
        instance = await self.ec2.reader.instance(tenant, parsed.first)
        groups = [g["GroupId"] for g in primary_interface(instance).get("Groups", ())]
        remaining = [g for g in groups if g != parsed.second]
        if not remaining:
            raise ConflictError(
                "an EC2 instance keeps at least one security group; link another one first"
            )
        await _set_groups(self.ec2, instance, remaining)
