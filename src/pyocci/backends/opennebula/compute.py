"""OpenNebula VMs as OCCI computes: instantiated, read, listed, resized, acted on, terminated.

A compute is a VM instantiated from the os_tpl's VM template, sized by the
resource_tpl (CPU, VCPU, MEMORY) and contextualized with the user data and
SSH key given (the template's ``CONTEXT`` kept, ``USER_DATA`` base64 and
``SSH_PUBLIC_KEY`` added); the links it is created with are disks and NICs
of the instantiation, after the template's own, and security groups on
every NIC. Actions: start resumes a
powered-off, suspended, stopped or undeployed VM (and releases a held one);
stop powers off (hard with ``method=poweroff``); restart reboots (hard with
``method=cold``); suspend suspends; save copies the OS disk to a new image
(disk-saveas) and makes a VM template of it at once, offered as an os_tpl
once oned has written the image. Listings are one ``vmpool.infoextended``
call per page, the tenant's group and the page's offset and size pushed
down to oned.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import Any

import anyio

from pyocci.backends.api import ActionOutcome, Query, Tenant
from pyocci.backends.errors import (
    BusyError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.backends.kit import ActionHandler, Collection
from pyocci.backends.kit.catalogue import Offer
from pyocci.backends.kit.context import CONTEXT_MIXINS, chosen, public_key, user_data
from pyocci.backends.kit.zones import Zones, chosen_zone, keep_zone
from pyocci.backends.opennebula import states
from pyocci.backends.opennebula.api import OneApi
from pyocci.backends.opennebula.catalogue import (
    OS_TPL_SCHEME,
    RESOURCE_TPL_SCHEME,
    Catalogue,
    template_id_of,
)
from pyocci.backends.opennebula.clusters import ZONE_SCHEME, placed_in, with_cluster
from pyocci.backends.opennebula.records import body, one_list, template_text, with_groups
from pyocci.backends.opennebula.settings import Size
from pyocci.backends.opennebula.tenancy import Acting, Tenancy, read_owned
from pyocci.model.entity import CORE_ID, CORE_TITLE, Entity, Resource
from pyocci.model.extensions import AVAILABILITY_ZONE
from pyocci.model.infrastructure import (
    COMPUTE,
    OS_TPL,
    RESOURCE_TPL,
    RESTART,
    SAVE,
    START,
    STOP,
    SUSPEND,
)

#: The VM pool call of listings: full records (``vmpool.info``'s short ones lack what
#: disks and NICs say of themselves).
LISTING = "vmpool.infoextended"
#: The VM pool's state filter for every VM but those DONE.
NOT_DONE = -1
#: What a compute's size comes from: its resource template.
SIZE_ATTRIBUTES = ("occi.compute.cores", "occi.compute.memory")
#: Permissions given to what a tenant makes: its group uses and manages it (every
#: user of the tenant's group, with callers' credentials passed through, sees it).
GROUP_SHARED = (-1, -1, -1, 1, 1, -1, -1, -1, -1)
#: Seconds a delete keeps asking oned to terminate a VM it is moving (a boot, a save,
#: a hot-plug: moments), and the pause between two asks.
MOVING_WAIT = 10.0
MOVING_POLL = 0.5
#: VM states start resumes from, and the action that does it.
_STARTS = {
    states.VM.POWEROFF: "resume",
    states.VM.SUSPENDED: "resume",
    states.VM.STOPPED: "resume",
    states.VM.UNDEPLOYED: "resume",
    states.VM.HOLD: "release",
}


def pushed_down(query: Query) -> bool:
    """Whether oned applies all of the query (no filter but the group's and the page): then
    a listing stops at its limit; else the kit filters (`OpenNebulaBackend.keeping`) and
    the limit is only the size of the pages read."""
    return not (query.mixins or query.any_mixins or query.attributes or query.ids is not None)


def size_of(vm_body: Mapping[str, Any], offer: Offer[Size]) -> str | None:
    """The configured size a VM has (same CPU, VCPU and MEMORY), if any."""
    try:
        cpu = float(vm_body.get("CPU", 0))
        vcpu = int(vm_body.get("VCPU", 1))
        memory = float(vm_body.get("MEMORY", 0)) / 1024
    except ValueError:
        return None
    for term, size in offer.sizes.items():
        if (size.cpu, size.vcpu, size.memory) == (cpu, vcpu, memory):
            return term
    return None


def size_template(size: Size) -> dict[str, Any]:
    """A size as VM template attributes (MEMORY in MiB)."""
    return {"CPU": f"{size.cpu:g}", "VCPU": size.vcpu, "MEMORY": round(size.memory * 1024)}


def _why(occi_state: str, notes: Mapping[str, Any]) -> str:
    """What oned noted of a VM in error (the driver's failure) or still waiting (why the
    scheduler has not placed it), for the state message."""
    note = {"error": notes.get("ERROR"), "waiting": notes.get("SCHED_MESSAGE")}.get(occi_state)
    return f": {note}" if isinstance(note, str) and note else ""


class Computes(Collection):
    """The tenant group's VMs."""

    kinds = (COMPUTE.id,)
    mixins = frozenset(mixin.id for mixin in (OS_TPL, RESOURCE_TPL, *CONTEXT_MIXINS))

    def __init__(
        self,
        api: OneApi,
        tenancy: Tenancy,
        catalogue: Catalogue,
        locate: Any,
        zones: Zones[int] | None = None,
    ) -> None:
        self.api = api
        self.tenancy = tenancy
        self.catalogue = catalogue
        self.locate = locate
        self.settings = api.settings
        #: The clusters as availability zones, when the backend offers them.
        self.zones = zones
        if zones is not None:
            self.mixins = self.mixins | {AVAILABILITY_ZONE.id}
        #: The link collections whose links are read from a VM record: each gives
        #: `links_in(vm)` (after an awaited `ready(vm)`, where it has one); at creation,
        #: disks and NICs are entries of a vector (`entry_at_creation`), security groups
        #: go on the NICs (`group_at_creation`).
        self.link_sources: Sequence[Any] = ()

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """start, stop, restart, suspend and save."""
        return {
            START.id: self._start,
            STOP.id: self._stop,
            RESTART.id: self._restart,
            SUSPEND.id: self._suspend,
            SAVE.id: self._save,
        }

    # --- reading ------------------------------------------------------------------

    async def clusters(self) -> dict[int, str]:
        """The names of the clusters offered as zones, by id (none without zones)."""
        if self.zones is None:
            return {}
        return {cluster_id: name for name, cluster_id in (await self.zones.offered()).items()}

    async def shown(self, vm: Any) -> Resource:
        """A VM as a compute, with the current offer and zones."""
        offer, clusters = await self.catalogue.offer(), await self.clusters()
        await self.links_ready(vm)
        return self.compute(vm, offer, clusters)

    async def links_ready(self, vm: Any) -> None:
        """Let the link collections that need to learn something (from a cache, mostly)
        before showing a VM's links do so."""
        for source in self.link_sources:
            ready = getattr(source, "ready", None)
            if ready is not None:
                await ready(vm)

    def compute(self, vm: Any, offer: Offer[Size], clusters: Mapping[int, str]) -> Resource:
        """A VM as a compute; `clusters` names the zones offered."""
        vm_body = body(vm)
        state, lcm_state = int(vm.STATE), int(vm.LCM_STATE)
        occi_state = states.compute_state(state, lcm_state)
        attributes: dict[str, Any] = {
            CORE_ID: str(vm.ID),
            CORE_TITLE: vm.NAME,
            "occi.compute.state": occi_state,
            "occi.compute.state.message": states.state_message(state, lcm_state)
            + _why(occi_state, body(vm, "USER_TEMPLATE")),
        }
        if "VCPU" in vm_body or "CPU" in vm_body:
            attributes["occi.compute.cores"] = int(vm_body.get("VCPU") or 1)
        if "MEMORY" in vm_body:
            attributes["occi.compute.memory"] = float(vm_body["MEMORY"]) / 1024
        context = vm_body.get("CONTEXT")
        if isinstance(context, dict) and context.get("SET_HOSTNAME"):
            attributes["occi.compute.hostname"] = context["SET_HOSTNAME"]
        mixins: list[str] = []
        template_id = vm_body.get("TEMPLATE_ID")
        if template_id is not None:
            by_id = {template_id_of(m.term): m for m in offer.images.values()}
            offered = by_id.get(int(template_id)) if str(template_id).isdigit() else None
            if offered is not None:
                mixins.append(offered.id)
        size = size_of(vm_body, offer)
        if size is not None:
            mixins.append(RESOURCE_TPL_SCHEME + size)
        cluster = placed_in(vm)
        if cluster in clusters:
            mixins.append(ZONE_SCHEME + clusters[cluster])
        links = [link for source in self.link_sources for link in source.links_in(vm)]
        resource = Resource(kind=COMPUTE.id, mixins=mixins, attributes=attributes, links=links)
        resource.location = self.locate(COMPUTE.id, str(vm.ID))
        return resource

    async def vm(self, acting: Acting, entity_id: str) -> Any:
        """The tenant's VM; not found for other groups' VMs, and for terminated ones."""
        vm = await read_owned(self.api, acting, "vm.info", entity_id, "compute")
        if states.terminating(int(vm.STATE), int(vm.LCM_STATE)):
            raise EntityNotFoundError(f"the compute {entity_id!r} is terminated")
        return vm

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """One compute."""
        acting = await self.tenancy.acting(tenant)
        vm = await self.vm(acting, entity_id)
        return await self.shown(vm)

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's computes, one vmpool.info per page: the group, the offset and the
        page size are oned's to apply (filters oned cannot express are the kit's, see
        `OpenNebulaBackend.keeping`, and then `query.limit` is only a page size)."""
        if COMPUTE.id not in query.kinds:
            return
        acting = await self.tenancy.acting(tenant)
        offer = await self.catalogue.offer()
        clusters = await self.clusters()
        if query.limit is not None:
            size = min(query.limit, self.settings.page_size)
        else:
            size = self.settings.page_size
        stops = pushed_down(query)
        shown = 0
        vms = self.api.pool(acting.session, LISTING, "VM", NOT_DONE, offset=query.offset, size=size)
        async with aclosing(vms):
            async for vm in vms:
                # Counted by oned's offset, but gone for OCCI (see `states.terminating`).
                if states.terminating(int(vm.STATE), int(vm.LCM_STATE)):
                    continue
                await self.links_ready(vm)
                yield self.compute(vm, offer, clusters)
                shown += 1
                if stops and query.limit is not None and shown >= query.limit:
                    return

    async def vms(self, tenant: Tenant) -> AsyncIterator[Any]:
        """Every VM of the tenant's group, read a page at a time (in full: the short
        records of ``vmpool.info`` lack what disks and NICs say of themselves)."""
        acting = await self.tenancy.acting(tenant)
        vms = self.api.pool(acting.session, LISTING, "VM", NOT_DONE)
        async with aclosing(vms):
            async for vm in vms:
                if not states.terminating(int(vm.STATE), int(vm.LCM_STATE)):
                    yield vm

    # --- writing ------------------------------------------------------------------

    async def create(self, tenant: Tenant, entity: Entity) -> Entity:
        """Instantiate the os_tpl's VM template with the size and context asked for."""
        if not isinstance(entity, Resource):
            raise InvalidRequestError("a compute is a resource, not a link")
        acting = await self.tenancy.acting(tenant)
        born, groups = await self._born_links(tenant, entity.links)
        offer = await self.catalogue.offer()
        term = chosen(entity.mixins, OS_TPL_SCHEME)
        if term is None:
            offered = ", ".join(m.term for m in offer.images.values()) or "none"
            raise InvalidRequestError(
                f"choose an os_tpl (a VM template) for the compute; offered: {offered}"
            )
        template_id = template_id_of(term)
        if OS_TPL_SCHEME + term not in offer.images or template_id is None:
            waiting = await self.busy_template(term)
            if waiting is not None:
                raise waiting
            raise InvalidRequestError(f"no os_tpl {term!r} is offered; see /mixin/os_tpl/")
        extra: dict[str, Any] = {}
        size_term = chosen(entity.mixins, RESOURCE_TPL_SCHEME) or self.settings.default_size
        if size_term is not None:
            if size_term not in offer.sizes:
                raise InvalidRequestError(
                    f"no resource_tpl {size_term!r}; see /mixin/resource_tpl/"
                )
            extra.update(size_template(offer.sizes[size_term]))
        context = await self._context(acting, template_id, entity.attributes)
        if context is not None:
            extra["CONTEXT"] = context
        cluster_id = await chosen_zone(self.zones, ZONE_SCHEME, entity.mixins)
        if born or groups or cluster_id is not None:
            # An instantiation's DISK, NIC or SCHED_REQUIREMENTS replaces the
            # template's: theirs are kept.
            template = body(
                await self.api.call(acting.session, "template.info", template_id, False, False)
            )
            for vector in {*born, *(["NIC"] if groups else [])}:
                extra[vector] = [*one_list(template.get(vector)), *born.get(vector, [])]
            if groups:
                if not extra["NIC"]:
                    raise InvalidRequestError(
                        "OpenNebula puts security groups on a VM's NICs, and this compute would "
                        "have none: link it to a network (a networkinterface) in the same request"
                    )
                extra["NIC"] = [with_groups(nic, groups) for nic in extra["NIC"]]
            if cluster_id is not None:
                extra["SCHED_REQUIREMENTS"] = with_cluster(
                    template.get("SCHED_REQUIREMENTS"), cluster_id
                )
        name = entity.title or ""
        vm_id = await self.api.call(
            acting.session,
            "template.instantiate",
            template_id,
            name,
            False,
            template_text(extra),
            False,
        )
        await self.api.call(acting.session, "vm.chmod", vm_id, *GROUP_SHARED)
        return await self.shown(await self.vm(acting, str(vm_id)))

    async def _born_links(
        self, tenant: Tenant, links: Sequence[Any]
    ) -> tuple[dict[str, list[Any]], list[int]]:
        """The DISK and NIC entries of the links a compute is created with (by vector),
        and the security groups to put on its NICs; 501 for links of kinds no collection
        here makes."""
        born: dict[str, list[Any]] = {}
        groups: list[int] = []
        for link in links:
            source = next((s for s in self.link_sources if s.serves(link.kind)), None)
            if source is None:
                raise NotSupportedError(
                    f"links of kind {link.kind} cannot be made with a compute on OpenNebula"
                )
            if hasattr(source, "group_at_creation"):
                group_id = await source.group_at_creation(tenant, link)
                if group_id not in groups:
                    groups.append(group_id)
                continue
            entry = await source.entry_at_creation(tenant, link)
            born.setdefault(source.vector, []).append(entry)
        return born, groups

    async def busy_template(self, term: str) -> BusyError | None:
        """Why an os_tpl cannot start a VM yet (its images still being written), if so."""
        template_id = template_id_of(term)
        if template_id is None:
            return None
        if not await self.catalogue.still_writing(str(template_id)):
            return None
        retry = self.settings.retry_after
        return BusyError(
            f"the os_tpl {term!r} cannot start a compute yet: OpenNebula is still writing "
            f"its image; try again in {retry} s",
            retry_after=retry,
        )

    async def _context(
        self, acting: Acting, template_id: int, attributes: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The template's CONTEXT with the user data and SSH key given; None when neither
        is (the template's own CONTEXT then applies as it is)."""
        data, key = user_data(attributes), public_key(attributes)
        if data is None and key is None:
            return None
        template = await self.api.call(acting.session, "template.info", template_id, False, False)
        context = body(template).get("CONTEXT")
        merged = dict(context) if isinstance(context, dict) else {}
        if data is not None:
            merged["USER_DATA"] = data
            merged["USER_DATA_ENCODING"] = "base64"
        if key is not None:
            merged["SSH_PUBLIC_KEY"] = key
        return merged

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """Resize to another resource_tpl (one.vm.resize), rename."""
        acting = await self.tenancy.acting(tenant)
        vm = await self.vm(acting, current.id or "")
        offer = await self.catalogue.offer()
        new_image = chosen(desired.mixins, OS_TPL_SCHEME)
        if new_image is not None and new_image != chosen(current.mixins, OS_TPL_SCHEME):
            raise NotSupportedError(
                "a VM keeps the template it was made from on OpenNebula; save it and create "
                "a compute with the new os_tpl"
            )
        keep_zone(self.zones, current.mixins, desired.mixins)
        old_size = chosen(current.mixins, RESOURCE_TPL_SCHEME)
        new_size = chosen(desired.mixins, RESOURCE_TPL_SCHEME)
        for name in () if new_size != old_size else SIZE_ATTRIBUTES:
            if desired.attributes.get(name, current.attributes.get(name)) != current.attributes.get(
                name
            ):
                raise InvalidRequestError(
                    f"{name} comes with the resource_tpl on OpenNebula; associate another one "
                    "to resize"
                )
        if new_size is not None and new_size != old_size:
            if new_size not in offer.sizes:
                raise InvalidRequestError(f"no resource_tpl {new_size!r}; see /mixin/resource_tpl/")
            resized = template_text(size_template(offer.sizes[new_size]))
            await self.api.call(acting.session, "vm.resize", int(vm.ID), resized, False)
        if desired.title and desired.title != current.title:
            await self.api.call(acting.session, "vm.rename", int(vm.ID), desired.title)
        return await self.shown(await self.vm(acting, str(vm.ID)))

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Terminate the VM (oned finishes it by itself). oned refuses while it is moving
        the VM (booting, saving, hot-plugging...), which it ends by itself in moments: the
        terminate is tried again for up to `MOVING_WAIT` seconds, then answered 409 with
        Retry-After, the state named."""
        acting = await self.tenancy.acting(tenant)
        vm = await self.vm(acting, entity.id or "")
        deadline = anyio.current_time() + min(MOVING_WAIT, self.settings.timeout)
        while True:
            try:
                await self.api.call(acting.session, "vm.action", "terminate-hard", int(vm.ID))
                return
            except ConflictError as refused:
                if anyio.current_time() < deadline:
                    await anyio.sleep(MOVING_POLL)
                    continue
                now = await self.vm(acting, str(vm.ID))
                moving = states.state_message(int(now.STATE), int(now.LCM_STATE))
                raise BusyError(
                    f"{refused}; OpenNebula is moving the VM (now {moving}), try again in "
                    f"{self.settings.retry_after} s",
                    retry_after=self.settings.retry_after,
                ) from None

    # --- actions ------------------------------------------------------------------

    async def _act(self, tenant: Tenant, entity: Entity, action: str) -> ActionOutcome:
        acting = await self.tenancy.acting(tenant)
        vm = await self.vm(acting, entity.id or "")
        await self.api.call(acting.session, "vm.action", action, int(vm.ID))
        after = await self.vm(acting, str(vm.ID))
        return ActionOutcome(entity=await self.shown(after))

    async def _start(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        acting = await self.tenancy.acting(tenant)
        vm = await self.vm(acting, entity.id or "")
        action = _STARTS.get(int(vm.STATE))
        if action is None:
            raise ConflictError(
                f"OpenNebula starts powered-off, suspended, stopped, undeployed or held VMs; "
                f"{entity.id} is {states.state_message(int(vm.STATE), int(vm.LCM_STATE))}"
            )
        return await self._act(tenant, entity, action)

    async def _stop(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        hard = parameters.get("method") == "poweroff"
        return await self._act(tenant, entity, "poweroff-hard" if hard else "poweroff")

    async def _restart(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        hard = parameters.get("method") == "cold"
        return await self._act(tenant, entity, "reboot-hard" if hard else "reboot")

    async def _suspend(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        return await self._act(tenant, entity, "suspend")

    async def _save(
        self, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """Copy the OS disk to a new image and make a VM template of it: the new os_tpl,
        named at once and offered once oned has written the image."""
        acting = await self.tenancy.acting(tenant)
        vm = await self.vm(acting, entity.id or "")
        vm_body = body(vm)
        disks = one_list(vm_body.get("DISK"))
        if not disks:
            raise ConflictError(f"the compute {entity.id} has no disk to save")
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        name = str(parameters.get("name") or f"{vm.NAME}-{stamp}")
        disk_id = int(disks[0].get("DISK_ID", 0))
        image_id = await self.api.call(
            acting.session, "vm.disksaveas", int(vm.ID), disk_id, name, "", -1
        )
        await self.api.call(acting.session, "image.chmod", image_id, *GROUP_SHARED)
        template = {key: vm_body[key] for key in ("CPU", "VCPU", "MEMORY", "OS") if key in vm_body}
        template.update(NAME=name, DISK={"IMAGE_ID": image_id})
        template_id = await self.api.call(
            acting.session, "template.allocate", template_text(template)
        )
        await self.api.call(acting.session, "template.chmod", template_id, *GROUP_SHARED)
        created = self.catalogue.add_image(str(template_id), name)
        after = await self.vm(acting, str(vm.ID))
        return ActionOutcome(entity=await self.shown(after), created=created)
