"""Nova servers as OCCI computes: read, listed, created, resized, acted on, deleted.

Each server is tagged with its OCCI tenant (a Nova server tag, a hash of
the tenant id), so tenants sharing the service account's project see only
their own servers; listings push the tag down to Nova as a filter. When
callers' own Keystone tokens are passed through, each caller acts in their
own project and sees every server of it: the tag then only marks the
servers made through OCCI.

State mapping: ACTIVE is active; SHUTOFF is inactive; SUSPENDED and PAUSED
are suspended; BUILD, REBOOT, HARD_REBOOT, RESIZE, REVERT_RESIZE and the
migrations are waiting; ERROR and anything unknown is error. VERIFY_RESIZE
is active: the server runs on its new flavor, and it stays so until someone
confirms or reverts the resize (the backend confirms its own resizes; one
made by hand, or whose confirm failed, waits for a person, so it is not
``waiting``, a state the service tells clients to retry in). A server Nova
is still working on (a task state such as powering-off or image_snapshot)
is waiting too, whatever its status.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import hashlib
import uuid
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import anyio
import openstack.exceptions as sdk_exceptions
from openstack.compute.v2.server import Server

from pyocci.backends.api import ActionOutcome, Query, Tenant
from pyocci.backends.errors import (
    BackendUnavailableError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
)
from pyocci.backends.kit import ActionHandler, Collection
from pyocci.backends.kit.catalogue import Offer
from pyocci.backends.kit.context import CONTEXT_MIXINS, chosen, public_key, user_data
from pyocci.backends.kit.zones import Zones, chosen_zone, keep_zone
from pyocci.backends.openstack.api import OpenStackApi, current_tenant
from pyocci.backends.openstack.catalogue import (
    OS_TPL_SCHEME,
    RESOURCE_TPL_SCHEME,
    Catalogue,
    Flavor,
)
from pyocci.backends.openstack.zones import ZONE_SCHEME
from pyocci.model.category import Mixin
from pyocci.model.entity import CORE_ID, CORE_TITLE, Entity, Link, Resource
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

Locate = Callable[[str, str], str]

#: The mixins computes understand: their templates and contextualization.
COMPUTE_MIXINS = frozenset(mixin.id for mixin in (OS_TPL, RESOURCE_TPL, *CONTEXT_MIXINS))
#: The names of the key pairs made for computes start with this: deleting a compute
#: deletes its key pair only if it is one of these (never a key pair made by hand).
KEY_PAIR_PREFIX = "occi-compute-"
SIZE_ATTRIBUTES = ("occi.compute.cores", "occi.compute.memory")
_STATES = {
    "ACTIVE": "active",
    "SHUTOFF": "inactive",
    "SUSPENDED": "suspended",
    "PAUSED": "suspended",
    "BUILD": "waiting",
    "REBOOT": "waiting",
    "HARD_REBOOT": "waiting",
    "RESIZE": "waiting",
    # Not "waiting": Nova leaves it only when told to (see the module's docstring).
    "VERIFY_RESIZE": "active",
    "REVERT_RESIZE": "waiting",
    "MIGRATING": "waiting",
    "REBUILD": "waiting",
}
#: The compute API version of listings: 2.26 filters by tag, 2.47 embeds the flavor.
LIST_MICROVERSION = "2.47"
#: Listing positions remembered (see `Computes.listing`), the least recent dropped first.
MARKERS_KEPT = 1024
#: OCCI restart methods to Nova reboot types: a cold restart is a hard reboot.
_REBOOT_TYPES = {"graceful": "SOFT", "warm": "SOFT", "cold": "HARD"}


#: The Glance image property naming the tenant (its `tenant_tag`) whose save made the image.
SAVED_BY = "occi_saved_by"


def tenant_tag(tenant: Tenant) -> str:
    """The Nova server tag of a tenant (tags are short and may not hold '/' or ',')."""
    return "occi-tenant-" + hashlib.sha256(tenant.id.encode()).hexdigest()[:40]


def compute_state(status: str | None, task_state: str | None = None) -> str:
    """The occi.compute.state of a Nova server status and task state."""
    state = _STATES.get(status or "", "error")
    # Nova keeps the old status while a task (stopping, suspending, saving...) runs:
    # until it ends, the server is neither in its old state nor in the next one, and
    # Nova refuses another action on it.
    if task_state and state != "error":
        return "waiting"
    return state


def _reference_id(reference: Any) -> str | None:
    if isinstance(reference, Mapping):
        value = reference.get("id")
        return str(value) if value else None
    return None


def to_compute(
    server: Any, offer: Offer[Flavor], locate: Locate, links: Sequence[Link] = ()
) -> Resource:
    """A Nova server as a compute, with the links read for it (no further call needed)."""
    task_state = getattr(server, "task_state", None)
    message = f"Nova status {server.status}" + (f", task {task_state}" if task_state else "")
    attributes: dict[str, Any] = {
        CORE_ID: server.id,
        "occi.compute.state": compute_state(server.status, task_state),
        "occi.compute.state.message": message,
    }
    if server.name:
        attributes[CORE_TITLE] = server.name
    if getattr(server, "hostname", None):
        attributes["occi.compute.hostname"] = server.hostname
    mixins: list[str] = []
    image_id = _reference_id(server.image)
    if image_id:
        mixins.append(OS_TPL_SCHEME + image_id)
    flavor = server.flavor or {}
    # Since compute API 2.47 a server embeds its flavor's name and sizes, not its id
    # (openstacksdk then puts the name where the id was).
    name = flavor.get("original_name") or flavor.get("name") or flavor.get("id")
    flavor_id = next((known.id for known in offer.sizes.values() if known.name == name), None)
    if flavor_id is None and flavor.get("id") in offer.sizes:
        flavor_id = flavor["id"]
    if flavor_id:
        mixins.append(RESOURCE_TPL_SCHEME + str(flavor_id))
    if flavor.get("vcpus") is not None:
        attributes["occi.compute.cores"] = int(flavor["vcpus"])
        attributes["occi.compute.memory"] = (flavor.get("ram") or 0) / 1024
    elif flavor_id in offer.sizes:
        attributes["occi.compute.cores"] = offer.sizes[flavor_id].cores
        attributes["occi.compute.memory"] = offer.sizes[flavor_id].memory
    resource = Resource(kind=COMPUTE.id, mixins=mixins, attributes=attributes, links=list(links))
    resource.location = locate(COMPUTE.id, server.id)
    return resource


def being_deleted(server: Any) -> bool:
    """Whether Nova has accepted to delete the server: it is finishing the job (task
    ``deleting``), or has done it and not yet dropped the record (status ``DELETED``,
    or ``SOFT_DELETED`` where deletes are deferred)."""
    return getattr(server, "task_state", None) == "deleting" or server.status in (
        "DELETED",
        "SOFT_DELETED",
    )


async def server_pages(
    api: OpenStackApi,
    tenant: Tenant,
    *,
    marker: str | None = None,
    size: int | None = None,
    detail: bool = True,
) -> AsyncIterator[list[Any]]:
    """The tenant's Nova servers after `marker`, a page (one request) at a time, Nova's
    markers followed: full records, or with `detail` False ids and names only.

    Whether another page follows is Nova's word (its ``next`` link), not the
    length of the page: a cloud may cap pages below `size` (``[api]
    max_limit``), so a short page is not necessarily the last (openstacksdk's
    own paging would also ask once more after the last page). Servers Nova is
    deleting are gone for OCCI already (see `Computes.server`) and left out.
    """
    parameters: dict[str, Any] = {"limit": size or api.settings.page_size}
    if api.isolates_tenants:
        parameters["tags"] = tenant_tag(tenant)
    path = "/servers/detail" if detail else "/servers"

    def page(connection: Any, after: str | None) -> tuple[list[Any], bool]:
        asked = parameters if after is None else {**parameters, "marker": after}
        response = connection.compute.get(path, params=asked, microversion=LIST_MICROVERSION)
        sdk_exceptions.raise_from_response(response)
        body = response.json()
        servers = [
            Server.existing(connection=connection, **item) for item in body.get("servers", [])
        ]
        links = body.get("servers_links") or []
        return servers, any(link.get("rel") == "next" for link in links)

    while True:
        found, more = await api.call(page, marker)
        # Nova's paging goes by what it listed, deleting or not.
        kept = [server for server in found if not being_deleted(server)]
        if kept:
            yield kept
        if not (more and found):
            return
        marker = found[-1].id


class ServerLinks(Collection):
    """A collection of links from computes: read with each page of servers (`links_of`),
    and made with a new compute as Nova boot options (`boot_options`)."""

    @abstractmethod
    async def boot_options(self, tenant: Tenant, links: Sequence[Link]) -> dict[str, Any]:
        """Nova `create_server` arguments for the links of this collection's kinds that a
        new compute is created with."""


#: What an action does to a server: given the server, the compute and the action's
#: parameters, what it made (the os_tpl of a saved image), if anything.
ServerAction = Callable[[Any, Entity, Mapping[str, Any]], Awaitable[Mixin | None]]


class Computes(Collection):
    """Everything the backend does with Nova servers."""

    kinds = (COMPUTE.id,)
    mixins = COMPUTE_MIXINS

    def __init__(
        self,
        api: OpenStackApi,
        catalogue: Catalogue,
        locate: Locate,
        zones: Zones[str] | None = None,
    ) -> None:
        self.api = api
        self.catalogue = catalogue
        self.locate = locate
        self.settings = api.settings
        #: Nova's availability zones as mixins, when the backend offers them (their
        #: mixins must then be among the provider mixins, or a compute showing its
        #: zone could not be updated).
        self.zones = zones
        if zones is not None:
            self.mixins = COMPUTE_MIXINS | {AVAILABILITY_ZONE.id}
        #: The collections whose links start at computes (volumes, ports...): asked for
        #: the links of each page of servers, and for boot options at creation.
        self.link_sources: Sequence[ServerLinks] = ()
        #: (tenant tag, position) -> the id of the server just before that position.
        self._markers: OrderedDict[tuple[str, int], str] = OrderedDict()

    async def server(self, tenant: Tenant, server_id: str) -> Any:
        """The tenant's Nova server; not found for other tenants' servers too."""
        server = await self.api.call(lambda c: c.compute.get_server(server_id))
        if self.api.isolates_tenants and tenant_tag(tenant) not in (server.tags or []):
            raise EntityNotFoundError(f"no compute with id {server_id!r}")
        if being_deleted(server):
            # Deleted already, as far as OCCI goes: Nova only finishes the job (a second
            # DELETE, or DELETE on the collection going round again, finds nothing).
            raise EntityNotFoundError(f"the compute {server_id!r} is being deleted")
        return server

    async def get(self, tenant: Tenant, kind_id: str, entity_id: str) -> Resource:
        """One compute, with its links."""
        server = await self.server(tenant, entity_id)
        offer = await self.catalogue.offer()
        return (await self._computes(tenant, [server], offer))[0]

    async def _computes(
        self, tenant: Tenant, servers: Sequence[Any], offer: Offer[Flavor]
    ) -> list[Resource]:
        """A page of servers as computes, their links read once for the whole page."""
        links: dict[str, list[Link]] = {}
        if servers:
            for source in self.link_sources:
                for server_id, found in (await source.links_of(tenant, servers)).items():
                    links.setdefault(server_id, []).extend(found)
        computes = [to_compute(s, offer, self.locate, links.get(s.id, ())) for s in servers]
        if self.zones is not None and servers:
            offered = await self.zones.names()
            for server, compute in zip(servers, computes, strict=True):
                zone = getattr(server, "availability_zone", None)
                if zone in offered:
                    compute.mixins.append(ZONE_SCHEME + zone)
        return computes

    async def listing(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The tenant's computes, one Nova call per page, Nova's markers followed.

        OCCI pages by offset, Nova by marker: where a listing of the same tenant
        stopped, the id of its last server is remembered, so the next OCCI page
        starts from that marker instead of reading the servers before it again.
        """
        if COMPUTE.id not in query.kinds:
            return
        offer = await self.catalogue.offer()
        tag = tenant_tag(tenant)
        # Filters Nova cannot apply are applied here, which shifts positions: seek
        # by marker only when every server listed is a server shown.
        plain = not (query.mixins or query.any_mixins or query.attributes or query.ids is not None)
        marker = self._markers.get((tag, query.offset)) if plain and query.offset else None
        position = query.offset if marker is not None else 0
        try:
            limit = query.limit if plain else None
            pages = self._pages(tenant, marker, limit, query.offset - position)
            if not plain:
                async for entity in query.apage(self._entities(tenant, pages, offer)):
                    yield entity
                return
            shown = 0
            last = None
            async for servers in pages:
                # Servers before the offset are passed over without reading their links.
                first = max(0, query.offset - position)
                wanted = servers[first:]
                if query.limit is not None:
                    wanted = wanted[: query.limit - shown]
                consumed = min(len(servers), first + len(wanted))
                for compute in await self._computes(tenant, wanted, offer):
                    yield compute
                shown += len(wanted)
                position += consumed
                if consumed:
                    last = servers[consumed - 1].id
                if query.limit is not None and shown >= query.limit:
                    break
            if last is not None:
                self._remember((tag, position), last)
        except InvalidRequestError:
            if marker is None:
                raise
            # The remembered server is gone (Nova: marker not found): read from the start.
            self._markers.pop((tag, query.offset), None)
            async for entity in self.listing(tenant, query):
                yield entity

    def _pages(
        self, tenant: Tenant, marker: str | None, limit: int | None, skip: int
    ) -> AsyncIterator[list[Any]]:
        """The tenant's servers after `marker`, never asking for more than the OCCI page
        still needs."""
        size = self.settings.page_size
        if limit is not None:
            size = min(size, skip + limit)
        return server_pages(self.api, tenant, marker=marker, size=size)

    async def _entities(
        self, tenant: Tenant, pages: AsyncIterator[list[Any]], offer: Offer[Flavor]
    ) -> AsyncIterator[Entity]:
        async for servers in pages:
            for compute in await self._computes(tenant, servers, offer):
                yield compute

    def _remember(self, key: tuple[str, int], server_id: str) -> None:
        self._markers[key] = server_id
        self._markers.move_to_end(key)
        while len(self._markers) > MARKERS_KEPT:
            self._markers.popitem(last=False)

    async def create(self, tenant: Tenant, entity: Entity) -> Resource:
        """Boot a server from the os_tpl's image with the resource_tpl's flavor; the links
        it is created with become boot options (volumes, networks) of the services that
        keep them."""
        if not isinstance(entity, Resource):
            raise InvalidRequestError("a compute is a resource, not a link")
        boot_links = await self._boot_options(tenant, entity.links)
        offer = await self.catalogue.offer()
        image = chosen(entity.mixins, OS_TPL_SCHEME) or self.settings.default_image
        flavor = chosen(entity.mixins, RESOURCE_TPL_SCHEME) or self.settings.default_flavor
        if image is None or flavor is None:
            missing = "an os_tpl (image)" if image is None else "a resource_tpl (flavor)"
            raise InvalidRequestError(
                f"choose {missing} for the compute on OpenStack (this site sets no default)"
            )
        if flavor not in offer.sizes:
            raise InvalidRequestError(f"no flavor {flavor!r}; see the resource_tpl mixins")
        if OS_TPL_SCHEME + image not in offer.images:
            # Not offered: an image Glance is still writing (a save not yet uploaded)
            # is refused until it can boot; for any other, Nova's answer decides.
            busy = await self.catalogue.not_ready(image, self.settings.retry_after)
            if busy is not None:
                raise busy
        parameters: dict[str, Any] = {
            "name": entity.title or "occi-compute",
            "image_id": image,
            "flavor_id": flavor,
            # Without network interfaces asked for, no network: a cloud's "auto" would
            # attach whatever it picks, which the client did not ask for.
            "networks": "none",
            "tags": [tenant_tag(tenant)],
            **boot_links,
        }
        if "block_device_mapping_v2" in boot_links:
            # With volumes mapped, the client puts the image's root disk first (Nova does not).
            root = {
                "uuid": image,
                "source_type": "image",
                "destination_type": "local",
                "boot_index": 0,
                "delete_on_termination": True,
            }
            parameters["block_device_mapping_v2"] = [root, *boot_links["block_device_mapping_v2"]]
        script = user_data(entity.attributes)
        if script is not None:
            # Nova takes user data base64-encoded, as OCCI clients send it.
            parameters["user_data"] = script
        zone = await chosen_zone(self.zones, ZONE_SCHEME, entity.mixins)
        if zone is not None:
            parameters["availability_zone"] = zone
        key_name = await self._key_pair(entity.attributes)
        if key_name is not None:
            parameters["key_name"] = key_name
        try:
            server = await self.api.call(lambda c: c.compute.create_server(**parameters))
        except Exception:
            # A refused boot leaves no key pair behind.
            if key_name is not None:
                await self._delete_key_pair(key_name)
            raise
        # Nova's answer to the boot holds little more than the id: read the server.
        created = server.id
        server = await self.api.call(lambda c: c.compute.get_server(created))
        return (await self._computes(tenant, [server], offer))[0]

    async def _key_pair(self, attributes: Mapping[str, Any]) -> str | None:
        """A new Nova key pair holding the SSH key given for a compute, if one was.

        One key pair per compute: Nova names a server's key pair, it does not keep
        the key, and a key pair shared by computes could not be deleted with one of
        them. Nova chooses the server's id only when it boots, so the key pair gets
        a name of its own, which the server then carries (``key_name``)."""
        key = public_key(attributes)
        if key is None:
            return None
        name = KEY_PAIR_PREFIX + uuid.uuid4().hex
        # Nova checks the key (400 with its reason for one it cannot read).
        await self.api.call(lambda c: c.compute.create_keypair(name=name, public_key=key))
        return name

    async def _delete_key_pair(self, name: str) -> None:
        # Another user of the project may delete the compute: Nova's key pairs are
        # its owner's, so this user may not see it (then it stays, as Nova leaves it).
        with contextlib.suppress(EntityNotFoundError):
            await self.api.call(lambda c: c.compute.delete_keypair(name, ignore_missing=True))

    async def _boot_options(self, tenant: Tenant, links: Sequence[Link]) -> dict[str, Any]:
        """Nova boot arguments for the links a compute is created with; 501 for links of
        kinds no service here keeps."""
        options: dict[str, Any] = {}
        for link in links:
            if not any(source.serves(link.kind) for source in self.link_sources):
                raise NotSupportedError(
                    f"links of kind {link.kind} cannot be made with a compute on OpenStack"
                )
        for source in self.link_sources:
            mine = [link for link in links if source.serves(link.kind)]
            if mine:
                options.update(await source.boot_options(tenant, mine))
        return options

    async def update(self, tenant: Tenant, current: Entity, desired: Entity) -> Resource:
        """Resize to another flavor (resize, then confirm), or rename."""
        server = await self.server(tenant, current.id or "")
        new_image = chosen(desired.mixins, OS_TPL_SCHEME)
        if new_image is not None and new_image != chosen(current.mixins, OS_TPL_SCHEME):
            raise NotSupportedError("changing a compute's os_tpl (rebuild) is not supported")
        keep_zone(self.zones, current.mixins, desired.mixins)
        old_flavor = chosen(current.mixins, RESOURCE_TPL_SCHEME)
        new_flavor = chosen(desired.mixins, RESOURCE_TPL_SCHEME)
        if new_flavor == old_flavor:
            for name in SIZE_ATTRIBUTES:
                if desired.attributes.get(name, current.attributes.get(name)) != (
                    current.attributes.get(name)
                ):
                    raise InvalidRequestError(
                        f"{name} comes with the flavor on OpenStack; associate another "
                        "resource_tpl to resize"
                    )
        elif new_flavor is not None:
            await self.resize(server, new_flavor)
        if desired.title and desired.title != current.title:
            await self.api.call(lambda c: c.compute.update_server(server, name=desired.title))
        return await self.get(tenant, COMPUTE.id, server.id)

    async def resize(self, server: Any, flavor_id: str) -> None:
        """Resize to a flavor and confirm it once Nova asks (VERIFY_RESIZE)."""
        offer = await self.catalogue.offer()
        if flavor_id not in offer.sizes:
            raise InvalidRequestError(f"no flavor {flavor_id!r}; see the resource_tpl mixins")
        if server.status not in ("ACTIVE", "SHUTOFF"):
            raise ConflictError(f"Nova resizes active or stopped servers, not {server.status}")
        await self.api.call(lambda c: c.compute.resize_server(server, flavor_id))
        await self._wait_status(server.id, {"VERIFY_RESIZE"}, "resize")
        await self.api.call(lambda c: c.compute.confirm_server_resize(server))
        # Confirming is asynchronous too; the resize is done once Nova settles.
        await self._wait_status(server.id, {"ACTIVE", "SHUTOFF"}, "confirm the resize of")

    async def _wait_status(self, server_id: str, wanted: set[str], doing: str) -> None:
        try:
            with anyio.fail_after(self.settings.action_timeout):
                while True:
                    current = await self.api.call(lambda c: c.compute.get_server(server_id))
                    if current.status in wanted:
                        return
                    if current.status == "ERROR":
                        raise ConflictError(f"Nova failed to {doing} {server_id}")
                    await anyio.sleep(0.5)
        except TimeoutError:
            raise BackendUnavailableError(
                f"Nova did not {doing} {server_id} within {self.settings.action_timeout:g} s",
                retry_after=self.settings.retry_after,
            ) from None

    async def delete(self, tenant: Tenant, entity: Entity) -> None:
        """Delete the server (Nova finishes it asynchronously), and the key pair made for it."""
        server = await self.server(tenant, entity.id or "")
        await self.api.call(lambda c: c.compute.delete_server(server))
        key_name = getattr(server, "key_name", None) or ""
        if key_name.startswith(KEY_PAIR_PREFIX):
            # Nova copied the key into the server when it booted: the pair is not needed.
            await self._delete_key_pair(key_name)

    @property
    def actions(self) -> Mapping[str, ActionHandler]:
        """start, stop, restart (soft or hard by method), suspend, save (snapshot)."""
        acts: dict[str, ServerAction] = {
            START.id: self._start,
            STOP.id: lambda server, *_: self._call(lambda c: c.compute.stop_server(server)),
            RESTART.id: self._restart,
            SUSPEND.id: lambda server, *_: self._call(lambda c: c.compute.suspend_server(server)),
            SAVE.id: self._save,
        }
        return {action: functools.partial(self._perform, act) for action, act in acts.items()}

    async def _perform(
        self, act: ServerAction, tenant: Tenant, entity: Entity, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        server = await self.server(tenant, entity.id or "")
        created = await act(server, entity, parameters)
        # The answer renders the server as Nova has it now (waiting, mostly: the action
        # is under way), not as it was before the action.
        try:
            shown: Entity = await self.get(tenant, COMPUTE.id, server.id)
        except EntityNotFoundError:
            shown = dataclasses.replace(entity, attributes=dict(entity.attributes))
        return ActionOutcome(entity=shown, created=created)

    async def _call(self, request: Callable[[Any], Any]) -> None:
        await self.api.call(request)

    async def _start(self, server: Any, entity: Entity, parameters: Mapping[str, Any]) -> None:
        # OCCI starts a suspended compute too; Nova resumes (or unpauses) it instead.
        if server.status == "SUSPENDED":
            await self._call(lambda c: c.compute.resume_server(server))
        elif server.status == "PAUSED":
            await self._call(lambda c: c.compute.unpause_server(server))
        else:
            await self._call(lambda c: c.compute.start_server(server))

    async def _restart(self, server: Any, entity: Entity, parameters: Mapping[str, Any]) -> None:
        reboot = _REBOOT_TYPES.get(str(parameters.get("method") or "graceful"))
        if reboot is None:
            raise InvalidRequestError("restart method must be graceful, warm or cold")
        await self._call(lambda c: c.compute.reboot_server(server, reboot))

    async def _save(self, server: Any, entity: Entity, parameters: Mapping[str, Any]) -> Mixin:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        name = str(parameters.get("name") or f"{entity.title or server.id}-{stamp}")
        # Nova answers with the new image's id (2.45+) before Glance has the data:
        # the os_tpl exists at once, and is offered (and boots) once the image is active.
        # The image carries its maker's tenant tag: what lets that tenant delete it
        # (`GlanceImages.delete_saved`) where tenants share one project.
        tenant = current_tenant()
        metadata = {SAVED_BY: tenant_tag(tenant)} if tenant is not None else None
        image_id = await self.api.call(
            lambda c: server.create_image(c.compute, name, metadata=metadata)
        )
        return self.catalogue.add_image(image_id, name)
