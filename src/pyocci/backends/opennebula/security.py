"""OpenNebula security groups as OCCI securitygroups, and their links to computes.

A securitygroup is an OpenNebula security group of the tenant's group
(shared with it, ``GROUP_U`` and ``GROUP_M``, like everything the backend
makes), its ``occi.securitygroup.rules`` the group's ``RULE`` vectors
(`rules` maps them both ways). Changing the rules replaces them
(``secgroup.update``), which oned commits to every VM using the group at
once; rules with no OCCI form are kept. Groups shared with every user
(``OTHER_U``: OpenNebula's own ``default``, id 0, that oned puts on every
new network's NICs) are shown too, as the provider's: they can be linked and
unlinked, not changed or deleted.

A securitygrouplink is a group on a VM's NICs (each NIC's
``SECURITY_GROUPS``), id ``<VM id>-sg-<group id>``. Made with a compute, the
group goes on every NIC of the instantiation; afterwards, ``vm.attachsg``
puts it on each NIC lacking it, and deleting the link takes it off them all
(``vm.detachsg``). The groups are read from the VM record itself; which of
them the tenant can see is read once per ``template_ttl`` per group
(`VisibleGroups`), so that no link ends at a group the tenant cannot read
and no VM read costs another oned call.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from collections.abc import Collection as Sized
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import anyio

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import (
    BusyError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    QuotaExceededError,
)
from pyocci.backends.kit import Collection
from pyocci.backends.opennebula import catalogue as catalogues
from pyocci.backends.opennebula import states
from pyocci.backends.opennebula.api import USABLE_FILTER, OneApi
from pyocci.backends.opennebula.compute import GROUP_SHARED, MOVING_POLL, MOVING_WAIT
from pyocci.backends.opennebula.records import (
    body,
    ids_of,
    one_list,
    security_groups,
    template_text,
)
from pyocci.backends.opennebula.rules import occi_rules, one_rules
from pyocci.backends.opennebula.tenancy import Acting, Tenancy, one_id
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

if TYPE_CHECKING:
    from pyocci.backends.opennebula.compute import Computes

RULES = "occi.securitygroup.rules"
#: Seconds between two reads of a group's visible security groups prompted by a VM
#: carrying one not known (made a moment ago by another server process, say).
RECHECK_SECONDS = 2.0
#: Tenant groups whose visible security groups are kept at once.
GROUPS_KEPT = 1024
#: LCM states in which oned refuses to change a VM's security groups, and which it
#: leaves by itself in moments (booting, migrating, hot-plugging a NIC).
_MOVING = {
    states.LCM.BOOT,
    states.LCM.BOOT_MIGRATE,
    states.LCM.BOOT_POWEROFF,
    states.LCM.BOOT_SUSPENDED,
    states.LCM.BOOT_STOPPED,
    states.LCM.BOOT_UNDEPLOY,
    states.LCM.MIGRATE,
    states.LCM.HOTPLUG_NIC,
    states.LCM.HOTPLUG_NIC_POWEROFF,
}


def _last(location: Any) -> str | None:
    last = str(location or "").rstrip("/").rsplit("/", 1)[-1]
    return last if last.isdigit() else None


def is_shared(record: Any) -> bool:
    """Whether a security group is shared with every user (``OTHER_U``)."""
    permissions = getattr(record, "PERMISSIONS", None)
    return int(getattr(permissions, "OTHER_U", 0) or 0) == 1


def is_visible(record: Any, group_id: int) -> bool:
    """Whether a tenant group sees a security group: its own, or one every user may use."""
    return int(getattr(record, "GID", -1)) == group_id or is_shared(record)


class VisibleGroups:
    """The ids of the security groups each tenant group sees, read at most once per
    `ttl` seconds, and again (at most once per `recheck` seconds) when a VM carries a
    group not among them."""

    def __init__(
        self,
        api: OneApi,
        ttl: float,
        *,
        recheck: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.ttl = ttl
        self.recheck = recheck
        self._clock = clock
        self._kept: OrderedDict[int, tuple[float, set[int]]] = OrderedDict()
        self._lock = anyio.Lock()

    def known(self, group_id: int) -> frozenset[int]:
        """The ids last read for a tenant group, without asking oned (none if never)."""
        kept = self._kept.get(group_id)
        return frozenset(kept[1]) if kept is not None else frozenset()

    def _needs_reading(self, group_id: int, wanted: Sized[int]) -> bool:
        kept = self._kept.get(group_id)
        if kept is None:
            return True
        age = self._clock() - kept[0]
        return age >= self.ttl or (age >= self.recheck and not set(wanted) <= kept[1])

    async def ids(self, acting: Acting, wanted: Sized[int] = ()) -> frozenset[int]:
        """The ids the tenant group sees, read again when old, or when some of `wanted`
        are missing and they were not read a moment ago."""
        group_id = acting.group_id
        if self._needs_reading(group_id, wanted):
            async with self._lock:
                if self._needs_reading(group_id, wanted):
                    found = set()
                    records = self.api.pool(
                        acting.session, "secgrouppool.info", "SECURITY_GROUP", owners=USABLE_FILTER
                    )
                    async with aclosing(records):
                        async for record in records:
                            if is_visible(record, group_id):
                                found.add(int(record.ID))
                    self._keep(group_id, found)
        return self.known(group_id)

    def _keep(self, group_id: int, ids: set[int]) -> None:
        self._kept.pop(group_id, None)
        self._kept[group_id] = (self._clock(), ids)
        while len(self._kept) > GROUPS_KEPT:
            self._kept.popitem(last=False)

    def add(self, group_id: int, security_group_id: int) -> None:
        """A group the tenant made or read: visible from now on, without a read."""
        kept = self._kept.get(group_id)
        if kept is not None:
            kept[1].add(security_group_id)

    def discard(self, group_id: int, security_group_id: int) -> None:
        """A group the tenant deleted."""
        kept = self._kept.get(group_id)
        if kept is not None:
            kept[1].discard(security_group_id)


class SecurityGroups(Collection):
    """The tenant group's security groups, and those shared with every user."""

    kinds = (SECURITYGROUP.id,)

    def __init__(self, api: OneApi, tenancy: Tenancy, locate: Any, visible: VisibleGroups) -> None:
        self.api = api
        self.tenancy = tenancy
        self.locate = locate
        self.visible = visible

    def securitygroup(self, record: Any, group_id: int) -> Resource:
        """An OpenNebula security group as a securitygroup."""
        template = body(record)
        rules, _ = occi_rules(one_list(template.get("RULE")))
        failed = ids_of(getattr(record, "ERROR_VMS", None))
        updating = ids_of(getattr(record, "UPDATING_VMS", None))
        message = "OpenNebula security group"
        if int(getattr(record, "GID", -1)) != group_id:
            message += " shared by the provider (link it; it cannot be changed here)"
        if updating:
            message += f"; rules being applied to VMs {', '.join(map(str, updating))}"
        if failed:
            message += f"; rules could not be applied to VMs {', '.join(map(str, failed))}"
        attributes: dict[str, Any] = {
            CORE_ID: str(record.ID),
            CORE_TITLE: record.NAME,
            RULES: rules,
            "occi.securitygroup.state": "error" if failed else "active",
            "occi.securitygroup.state.message": message,
        }
        if template.get("DESCRIPTION"):
            attributes[CORE_SUMMARY] = str(template["DESCRIPTION"])
        resource = Resource(kind=SECURITYGROUP.id, attributes=attributes, links=[])
        resource.location = self.locate(SECURITYGROUP.id, str(record.ID))
        return resource

    async def record(self, acting: Acting, entity_id: str) -> Any:
        """A security group the tenant sees; not found for any other."""
        group_id = one_id(entity_id, "securitygroup")
        try:
            record = await self.api.call(acting.session, "secgroup.info", group_id, False)
        except QuotaExceededError:
            raise EntityNotFoundError(f"no securitygroup with id {entity_id!r}") from None
        if not is_visible(record, acting.group_id):
            raise EntityNotFoundError(f"no securitygroup with id {entity_id!r}")
        return record

    async def owned(self, acting: Acting, entity_id: str, doing: str) -> Any:
        """A security group of the tenant's own; 409 for one the provider shares."""
        record = await self.record(acting, entity_id)
        if int(record.GID) != acting.group_id:
            raise ConflictError(
                f"/securitygroup/{entity_id} ({record.NAME}) is shared by the provider and "
                f"cannot be {doing} here; link and unlink it, or make a group of your own"
            )
        return record

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The groups the tenant sees, a page of oned's pool at a time."""
        if SECURITYGROUP.id not in query.kinds:
            return
        acting = await self.tenancy.acting(tenant)

        async def every() -> AsyncIterator[Entity]:
            records = self.api.pool(
                acting.session, "secgrouppool.info", "SECURITY_GROUP", owners=USABLE_FILTER
            )
            async with aclosing(records):
                async for record in records:
                    if is_visible(record, acting.group_id):
                        yield self.securitygroup(record, acting.group_id)

        async for entity in query.apage(every()):
            yield entity

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One group with its rules."""
        acting = await self.tenancy.acting(tenant)
        record = await self.record(acting, entity_id)
        self.visible.add(acting.group_id, int(record.ID))
        return self.securitygroup(record, acting.group_id)

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """A security group of the tenant's group with exactly the rules asked for."""
        acting = await self.tenancy.acting(tenant)
        vectors = one_rules(normalise_rules(entity.attributes.get(RULES, [])))
        # Security group names are unique per user: an untitled group gets its own.
        template: dict[str, Any] = {"NAME": entity.title or f"occi-sg-{uuid.uuid4().hex[:12]}"}
        if entity.attributes.get(CORE_SUMMARY):
            template["DESCRIPTION"] = str(entity.attributes[CORE_SUMMARY])
        template["RULE"] = vectors
        made = await self.api.call(acting.session, "secgroup.allocate", template_text(template))
        await self.api.call(acting.session, "secgroup.chmod", made, *GROUP_SHARED)
        self.visible.add(acting.group_id, int(made))
        return self.securitygroup(await self.record(acting, str(made)), acting.group_id)

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """New rules (the group's rules replaced; oned applies them to the VMs using it),
        a new summary, a new title."""
        acting = await self.tenancy.acting(tenant)
        record = await self.owned(acting, current.id or "", "changed")
        template = body(record)
        shown, unshown = occi_rules(one_list(template.get("RULE")))
        wanted = normalise_rules(desired.attributes.get(RULES, current.attributes.get(RULES, [])))
        summary = desired.attributes.get(CORE_SUMMARY)
        new_summary = summary is not None and str(summary) != str(template.get("DESCRIPTION", ""))
        if _as_set(wanted) != _as_set(shown) or new_summary:
            vectors = one_rules(wanted)
            replaced = {key: value for key, value in template.items() if key != "RULE"}
            if new_summary:
                replaced["DESCRIPTION"] = str(summary)
            replaced["RULE"] = [*unshown, *vectors]
            await self.api.call(
                acting.session, "secgroup.update", int(record.ID), template_text(replaced), 0
            )
        if desired.title and desired.title != record.NAME:
            await self.api.call(acting.session, "secgroup.rename", int(record.ID), desired.title)
        return self.securitygroup(await self.record(acting, str(record.ID)), acting.group_id)

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete the group (oned refuses while VMs use it: a conflict)."""
        acting = await self.tenancy.acting(tenant)
        record = await self.owned(acting, entity.id or "", "deleted")
        try:
            await self.api.call(acting.session, "secgroup.delete", int(record.ID))
        except ConflictError as refused:
            raise ConflictError(f"{refused}; delete its securitygrouplinks first") from None
        self.visible.discard(acting.group_id, int(record.ID))


def _as_set(rules: list[dict[str, str]]) -> set[tuple[tuple[str, str], ...]]:
    return {tuple(sorted(rule.items())) for rule in rules}


class SecurityGroupLinks(Collection):
    """The security groups on the tenant's VMs' NICs."""

    kinds = (SECURITYGROUPLINK.id,)
    _pattern = re.compile(r"(\d+)-sg-(\d+)")

    def __init__(self, computes: Computes, groups: SecurityGroups) -> None:
        self.computes = computes
        self.groups = groups
        self.visible = groups.visible
        self.api = computes.api
        self.tenancy = computes.tenancy
        self.locate = computes.locate
        self.settings = computes.settings

    def may_hold(self, kind_id: str, entity_id: str) -> bool:
        """Only ids of this collection's shape."""
        return self._pattern.fullmatch(entity_id) is not None

    @staticmethod
    def on_nics(vm: Any) -> dict[int, list[int]]:
        """The security groups on a VM's NICs, each with the ids of the NICs it is on."""
        found: dict[int, list[int]] = {}
        for nic in one_list(body(vm).get("NIC")):
            for group_id in security_groups(nic):
                found.setdefault(group_id, []).append(int(nic.get("NIC_ID", 0)))
        return found

    async def ready(self, vm: Any) -> None:
        """Make sure the groups the tenant sees are known for `links_in` (read at most
        once per TTL, or again soon when the VM carries a group not known yet)."""
        acting = catalogues.current.get()
        carried = self.on_nics(vm).keys()
        if acting is not None and carried:
            await self.visible.ids(acting, carried)

    def links_in(self, vm: Any) -> list[Link]:
        """The VM's security groups the tenant sees, as links (see `ready`)."""
        seen = self.visible.known(int(vm.GID))
        return [
            self.link(vm, group_id, nics)
            for group_id, nics in self.on_nics(vm).items()
            if group_id in seen
        ]

    def link(self, vm: Any, group_id: int, nics: list[int]) -> Link:
        """One group on a VM as a link."""
        link_id = f"{vm.ID}-sg-{group_id}"
        link = Link(
            kind=SECURITYGROUPLINK.id,
            attributes={
                CORE_ID: link_id,
                CORE_SOURCE: self.locate(COMPUTE.id, str(vm.ID)),
                CORE_TARGET: self.locate(SECURITYGROUP.id, str(group_id)),
                "occi.securitygrouplink.state": "active",
                "occi.securitygrouplink.state.message": "OpenNebula: on NIC "
                + ", ".join(map(str, nics)),
            },
        )
        link.location = self.locate(SECURITYGROUPLINK.id, link_id)
        return link

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The links of the group's VMs, read a page of VMs at a time."""
        if SECURITYGROUPLINK.id not in query.kinds:
            return

        async def every() -> AsyncIterator[Entity]:
            async for vm in self.computes.vms(tenant):
                await self.ready(vm)
                for link in self.links_in(vm):
                    yield link

        async for entity in query.apage(every()):
            yield entity

    async def _found(self, tenant: Tenant, entity_id: str) -> tuple[Acting, Any, Link]:
        match = self._pattern.fullmatch(entity_id)
        if match is None:
            raise EntityNotFoundError(f"no securitygrouplink with id {entity_id!r}")
        acting = await self.tenancy.acting(tenant)
        try:
            vm = await self.computes.vm(acting, match.group(1))
        except EntityNotFoundError:
            raise EntityNotFoundError(f"no securitygrouplink with id {entity_id!r}") from None
        await self.ready(vm)
        for link in self.links_in(vm):
            if link.id == entity_id:
                return acting, vm, link
        raise EntityNotFoundError(f"no securitygrouplink with id {entity_id!r}")

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One link."""
        return (await self._found(tenant, entity_id))[2]

    async def target(self, tenant: Tenant, location: Any) -> int:
        """The id of a security group the tenant sees at `location`; a 400 otherwise."""
        group_id = _last(location)
        try:
            if group_id is None:
                raise EntityNotFoundError(str(location))
            await self.groups.get(tenant, SECURITYGROUP.id, group_id)
        except EntityNotFoundError:
            raise InvalidRequestError(
                f"a securitygrouplink here ends at one of your security groups (or one the "
                f"provider shares); {location!r} is none"
            ) from None
        return int(group_id)

    async def group_at_creation(self, tenant: Tenant, link: Link) -> int:
        """The security group a link made with a compute puts on its NICs."""
        return await self.target(tenant, link.attributes.get(CORE_TARGET))

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Put the group on every NIC of the source VM that lacks it."""
        source = _last(entity.attributes.get(CORE_SOURCE))
        if source is None:
            raise InvalidRequestError(
                "a securitygrouplink here starts at one of your computes; got "
                f"{entity.attributes.get(CORE_SOURCE)!r}"
            )
        group_id = await self.target(tenant, entity.attributes.get(CORE_TARGET))
        acting = await self.tenancy.acting(tenant)
        vm = await self.computes.vm(acting, source)
        nics = [int(nic.get("NIC_ID", 0)) for nic in one_list(body(vm).get("NIC"))]
        if not nics:
            raise ConflictError(
                f"the compute {source} has no network interface: OpenNebula puts security "
                "groups on a VM's NICs; link it to a network first"
            )
        having = self.on_nics(vm).get(group_id, [])
        lacking = [nic for nic in nics if nic not in having]
        if not lacking:
            raise ConflictError(
                f"the security group {group_id} is already on every NIC of compute {source}"
            )
        for nic in lacking:
            await self._changing(acting, vm, "vm.attachsg", nic, group_id)
        self.visible.add(acting.group_id, group_id)
        return await self.get(tenant, SECURITYGROUPLINK.id, f"{vm.ID}-sg-{group_id}")

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Take the group off every NIC of the VM."""
        acting, vm, link = await self._found(tenant, entity.id or "")
        group_id = int(_last(link.attributes[CORE_TARGET]) or -1)
        for nic in self.on_nics(vm).get(group_id, []):
            await self._changing(acting, vm, "vm.detachsg", nic, group_id)

    async def _changing(self, acting: Acting, vm: Any, method: str, nic: int, group: int) -> None:
        """``vm.attachsg`` or ``vm.detachsg``, asked again while oned is moving the VM (a
        boot, a NIC hot-plug: moments), then a 409 with Retry-After naming the state."""
        deadline = anyio.current_time() + min(MOVING_WAIT, self.settings.timeout)
        while True:
            try:
                await self.api.call(acting.session, method, int(vm.ID), nic, group)
                return
            except ConflictError:
                now = await self.computes.vm(acting, str(vm.ID))
                if int(now.LCM_STATE) not in _MOVING or int(now.STATE) != states.VM.ACTIVE:
                    raise
                if anyio.current_time() >= deadline:
                    moving = states.state_message(int(now.STATE), int(now.LCM_STATE))
                    retry = self.settings.retry_after
                    raise BusyError(
                        f"OpenNebula changes a VM's security groups once it has booted "
                        f"(now {moving}); try again in {retry} s",
                        retry_after=retry,
                    ) from None
                await anyio.sleep(MOVING_POLL)

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """A link keeps its ends: nothing to change."""
        ends = (CORE_SOURCE, CORE_TARGET)
        if any(_last(desired.attributes.get(e)) != _last(current.attributes.get(e)) for e in ends):
            raise InvalidRequestError(f"{current.location} keeps its ends; delete it and link anew")
        return await self.get(tenant, SECURITYGROUPLINK.id, current.id or "")
