"""Neutron security groups as OCCI securitygroups, and their links to computes.

A securitygroup is a Neutron security group of the tenant (tagged with it);
``occi.securitygroup.rules`` (the OOI/rOCCI rule objects, checked by
`pyocci.backends.securityrules` as on every backend) are its rules, and an
update deletes and adds only the difference. Neutron gives a new group
rules letting all traffic out: a group made through OCCI has exactly the
rules asked for. Rules that name another group as their remote end (such as
the ``default`` group's) have no OCCI form; they are not shown and an update
leaves them alone.

A securitygrouplink from a compute to a group is the group on the server,
added and removed through Nova's ``addSecurityGroup`` and
``removeSecurityGroup`` actions (Nova puts it on every port of the server).
Its id is the server's id and the group's joined by ``_`` (as on EC2). Nova's
server records name their groups, so the links of a page of servers cost one
Neutron call (those names, in one query); since they are known by name, a
tenant's group names are kept unique.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
)
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.backends.openstack.compute import Locate, ServerLinks, tenant_tag
from pyocci.backends.openstack.interfaces import last_segment, links_of_computes, tenant_server
from pyocci.backends.openstack.network import Record, is_neutron_id, neutron_request
from pyocci.backends.securityrules import normalise_rules
from pyocci.model.entity import (
    CORE_ID,
    CORE_SOURCE,
    CORE_SUMMARY,
    CORE_TARGET,
    CORE_TITLE,
    Entity,
    Link,
    Resource,
)
from pyocci.model.extensions import SECURITYGROUP, SECURITYGROUPLINK
from pyocci.model.infrastructure import COMPUTE

RULES = "occi.securitygroup.rules"
#: Neutron's other names of the OCCI protocols (it calls ICMP for IPv6 ipv6-icmp).
_PROTOCOL_NAMES = {
    "6": "tcp",
    "17": "udp",
    "1": "icmp",
    "58": "icmp",
    "ipv6-icmp": "icmp",
    "icmpv6": "icmp",
}
_DIRECTIONS = {"ingress": "inbound", "egress": "outbound"}
_EVERYWHERE = {"IPv4": "0.0.0.0/0", "IPv6": "::/0"}

RuleKey = tuple[str, ...]


def link_id(server_id: str, group_id: str) -> str:
    """The id of the link from a server to a group."""
    return f"{server_id}_{group_id}"


def occi_rule(rule: Record) -> dict[str, str] | None:
    """A Neutron rule in the OCCI rule form; None for rules naming a remote group."""
    if rule.get("remote_group_id") or rule.get("remote_address_group_id"):
        return None
    protocol = rule.get("protocol")
    protocol = "any" if protocol in (None, "", "any") else str(protocol).lower()
    protocol = _PROTOCOL_NAMES.get(protocol, protocol)
    version = rule.get("ethertype") or "IPv4"
    prefix = rule.get("remote_ip_prefix") or _EVERYWHERE.get(version, "0.0.0.0/0")
    found = {
        "type": _DIRECTIONS.get(rule.get("direction", ""), "inbound"),
        "protocol": protocol,
        "range": str(ipaddress.ip_network(prefix, strict=False)),
        "ipversion": version,
    }
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if protocol in ("tcp", "udp") and low is not None:
        high = low if high is None else high
        found["port"] = str(low) if low == high else f"{low}-{high}"
    return found


def neutron_rule(group_id: str, rule: Mapping[str, str]) -> dict[str, Any]:
    """The Neutron rule (to create) of a normalised OCCI rule."""
    body: dict[str, Any] = {
        "security_group_id": group_id,
        "direction": "ingress" if rule["type"] == "inbound" else "egress",
        "ethertype": rule["ipversion"],
        "remote_ip_prefix": rule["range"],
    }
    if rule["protocol"] != "any":
        body["protocol"] = rule["protocol"]
    if "port" in rule:
        low, _, high = rule["port"].partition("-")
        body["port_range_min"], body["port_range_max"] = int(low), int(high or low)
    return body


def rule_key(rule: Mapping[str, str]) -> RuleKey:
    """What makes two rules the same rule."""
    return tuple(rule.get(name, "") for name in ("type", "protocol", "port", "range", "ipversion"))


def to_group(group: Record, locate: Locate) -> Resource:
    """A Neutron security group as an OCCI securitygroup."""
    rules = [rule for rule in map(occi_rule, group.get("security_group_rules") or ()) if rule]
    attributes: dict[str, Any] = {
        CORE_ID: group["id"],
        RULES: rules,
        "occi.securitygroup.state": "active",
    }
    if group.get("name"):
        attributes[CORE_TITLE] = group["name"]
    if group.get("description"):
        attributes[CORE_SUMMARY] = group["description"]
    resource = Resource(kind=SECURITYGROUP.id, attributes=attributes)
    resource.location = locate(SECURITYGROUP.id, group["id"])
    return resource


class SecurityGroups(ServerLinks):
    """Everything the backend does with security groups and their links."""

    kinds = (SECURITYGROUP.id, SECURITYGROUPLINK.id)

    def __init__(self, api: OpenStackApi, locate: Locate) -> None:
        self.api = api
        self.locate = locate

    def _owns(self, tenant: Tenant, group: Record) -> bool:
        # Callers acting in their own projects own whatever Neutron shows them.
        return not self.api.isolates_tenants or tenant_tag(tenant) in (group.get("tags") or [])

    def _filters(self, tenant: Tenant) -> dict[str, Any]:
        return {"tags": tenant_tag(tenant)} if self.api.isolates_tenants else {}

    async def group(self, tenant: Tenant, group_id: str) -> Record:
        """The tenant's Neutron security group; not found for other tenants' too."""
        if not is_neutron_id(group_id):
            raise EntityNotFoundError(f"no securitygroup with id {group_id!r}")

        def read(connection: Any) -> Record:
            path = f"/security-groups/{group_id}"
            return neutron_request(connection, "GET", path)["security_group"]

        try:
            group = await self.api.call(read)
        except EntityNotFoundError:
            group = None
        if group is None or not self._owns(tenant, group):
            raise EntityNotFoundError(f"no securitygroup with id {group_id!r}")
        return group

    # --- reading -----------------------------------------------------------------------

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """A group, or a link (read from its server)."""
        if kind_id == SECURITYGROUPLINK.id:
            return await self._link(tenant, entity_id)
        return to_group(await self.group(tenant, entity_id), self.locate)

    async def _link(self, tenant: Tenant, entity_id: str) -> Link:
        server_id, _, group_id = entity_id.partition("_")
        if not group_id:
            raise EntityNotFoundError(f"no securitygrouplink with id {entity_id!r}")
        server = await tenant_server(self.api, tenant, server_id)
        for link in (await self.links_of(tenant, [server])).get(server.id, ()):
            if link.id == entity_id:
                return link
        raise EntityNotFoundError(f"no securitygrouplink with id {entity_id!r}")

    async def links_of(self, tenant: Tenant, sources: Sequence[Any]) -> dict[str, list[Link]]:
        """The groups on a page of servers: the names their records carry, looked up in
        one Neutron call."""
        names = {
            str(group["name"])
            for server in sources
            for group in (getattr(server, "security_groups", None) or ())
            if group.get("name")
        }
        if not names:
            return {}
        params = {**self._filters(tenant), "name": sorted(names)}

        def read(connection: Any) -> list[Record]:
            found = neutron_request(connection, "GET", "/security-groups", params=params)
            return found["security_groups"]

        by_name: dict[str, Record] = {}
        for group in await self.api.call(read):
            # Names are unique among a tenant's groups; the oldest wins otherwise.
            by_name.setdefault(group["name"], group)
        links: dict[str, list[Link]] = {}
        for server in sources:
            seen: set[str] = set()
            for named in getattr(server, "security_groups", None) or ():
                group = by_name.get(str(named.get("name")))
                if group is None or group["id"] in seen:
                    continue
                seen.add(group["id"])
                links.setdefault(server.id, []).append(self._to_link(server.id, group["id"]))
        return links

    def _to_link(self, server_id: str, group_id: str) -> Link:
        identifier = link_id(server_id, group_id)
        link = Link(
            kind=SECURITYGROUPLINK.id,
            attributes={
                CORE_ID: identifier,
                CORE_SOURCE: self.locate(COMPUTE.id, server_id),
                CORE_TARGET: self.locate(SECURITYGROUP.id, group_id),
                "occi.securitygrouplink.state": "active",
            },
        )
        link.location = self.locate(SECURITYGROUPLINK.id, identifier)
        return link

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's groups (one Neutron call per page, rules included), then the links
        of its computes (a page of servers at a time)."""
        if SECURITYGROUP.id in query.kinds:
            async for group in query.apage(self._groups(tenant, query)):
                yield group
        if SECURITYGROUPLINK.id in query.kinds:
            found = links_of_computes(self.api, tenant, query, self.links_of, detail=True)
            async for link in query.apage(found):
                yield link

    async def _groups(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        params = self._filters(tenant)
        title = query.attributes.get(CORE_TITLE)
        if isinstance(title, str):
            params["name"] = title
        if query.ids is not None:
            if not query.ids:
                return
            params["id"] = sorted(query.ids)
        size = self.api.settings.page_size

        def page(connection: Any, marker: str | None) -> tuple[list[Record], bool]:
            asked = {**params, "limit": size}
            if marker is not None:
                asked["marker"] = marker
            body = neutron_request(connection, "GET", "/security-groups", params=asked)
            links = body.get("security_groups_links") or []
            return body["security_groups"], any(link.get("rel") == "next" for link in links)

        marker = None
        while True:
            found, more = await self.api.call(page, marker)
            for group in found:
                yield to_group(group, self.locate)
            if not (more and found):
                return
            marker = found[-1]["id"]

    # --- groups ------------------------------------------------------------------------

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """A group with exactly the rules asked for; or a link (the group on a server)."""
        if entity.kind == SECURITYGROUPLINK.id:
            return await self._create_link(tenant, entity)
        rules = normalise_rules(entity.attributes.get(RULES, []))
        name = entity.title
        if not name:
            raise InvalidRequestError("a security group on OpenStack needs a title (its name)")
        await self._check_name_free(tenant, name)
        body: dict[str, Any] = {"name": name}
        if entity.attributes.get(CORE_SUMMARY):
            body["description"] = str(entity.attributes[CORE_SUMMARY])
        tag = tenant_tag(tenant)

        def make(connection: Any) -> Record:
            group = neutron_request(
                connection, "POST", "/security-groups", json={"security_group": body}
            )["security_group"]
            try:
                # Neutron takes tags in a POST for ports only.
                neutron_request(connection, "PUT", f"/security-groups/{group['id']}/tags/{tag}")
                _apply_rules(connection, group, rules)
            except Exception:
                neutron_request(connection, "DELETE", f"/security-groups/{group['id']}")
                raise
            return group

        group = await self.api.call(make)
        return await self.get(tenant, SECURITYGROUP.id, group["id"])

    async def _check_name_free(self, tenant: Tenant, name: str) -> None:
        params = {**self._filters(tenant), "name": name}

        def read(connection: Any) -> list[Record]:
            found = neutron_request(connection, "GET", "/security-groups", params=params)
            return found["security_groups"]

        if await self.api.call(read):
            raise ConflictError(f"there is already a security group named {name!r}")

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Change the rules (only the difference), the title and the summary."""
        if current.kind == SECURITYGROUPLINK.id:
            raise InvalidRequestError(
                "a securitygrouplink has nothing to change; delete it and link again"
            )
        group = await self.group(tenant, current.id or "")
        rules = normalise_rules(desired.attributes.get(RULES, current.attributes.get(RULES, [])))
        changes: dict[str, Any] = {}
        if desired.title and desired.title != group.get("name"):
            await self._check_name_free(tenant, desired.title)
            changes["name"] = desired.title
        summary = desired.attributes.get(CORE_SUMMARY)
        if summary is not None and summary != group.get("description"):
            changes["description"] = str(summary)

        def change(connection: Any) -> None:
            if changes:
                neutron_request(
                    connection,
                    "PUT",
                    f"/security-groups/{group['id']}",
                    json={"security_group": changes},
                )
            _apply_rules(connection, group, rules)

        await self.api.call(change)
        return await self.get(tenant, SECURITYGROUP.id, group["id"])

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete a group (409 while servers use it), or take it off a server."""
        if entity.kind == SECURITYGROUPLINK.id:
            await self._delete_link(tenant, entity)
            return
        group = await self.group(tenant, entity.id or "")
        await self.api.call(
            lambda c: neutron_request(c, "DELETE", f"/security-groups/{group['id']}")
        )

    # --- links -------------------------------------------------------------------------

    async def boot_options(self, tenant: Tenant, links: Sequence[Link]) -> dict[str, Any]:
        """Nova's ``security_groups`` boot argument for the groups linked at creation (the
        server's ports get these instead of the project's ``default``)."""
        groups = []
        for link in links:
            group = await self.group(tenant, last_segment(link.attributes.get(CORE_TARGET)))
            # Nova takes a group's name or id; ids are unique.
            groups.append({"name": group["id"]})
        return {"security_groups": groups} if groups else {}

    async def _create_link(self, tenant: Tenant, entity: Entity) -> Link:
        server = await tenant_server(
            self.api, tenant, last_segment(entity.attributes.get(CORE_SOURCE))
        )
        group = await self.group(tenant, last_segment(entity.attributes.get(CORE_TARGET)))
        await self.api.call(lambda c: c.compute.add_security_group_to_server(server, group["id"]))
        return await self._link(tenant, link_id(server.id, group["id"]))

    async def _delete_link(self, tenant: Tenant, entity: Entity) -> None:
        link = await self._link(tenant, entity.id or "")
        server_id = last_segment(link.source)
        group_id = last_segment(link.target)
        await self.api.call(
            lambda c: c.compute.remove_security_group_from_server(server_id, group_id)
        )


def _apply_rules(connection: Any, group: Record, wanted: Sequence[Mapping[str, str]]) -> None:
    """Make the group's rules (those with an OCCI form) exactly `wanted`."""
    have: dict[RuleKey, str] = {}
    for rule in group.get("security_group_rules") or ():
        found = occi_rule(rule)
        if found is not None:
            have.setdefault(rule_key(found), rule["id"])
    want = {rule_key(rule): rule for rule in wanted}
    for key, rule_id in have.items():
        if key not in want:
            neutron_request(connection, "DELETE", f"/security-group-rules/{rule_id}")
    for key, rule in want.items():
        if key not in have:
            body = {"security_group_rule": neutron_rule(group["id"], rule)}
            neutron_request(connection, "POST", "/security-group-rules", json=body)
