"""The memory backend, driven through the backend interface as the service drives it."""

from __future__ import annotations

import re
import uuid

import pytest

from pyocci.backends.api import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
    Query,
    QuotaExceededError,
    Tenant,
)
from pyocci.backends.memory.backend import MemoryBackend, build
from pyocci.backends.memory.settings import MemorySettings
from pyocci.backends.registry import BackendSetup, BackendSetupError, build_backend
from pyocci.model import infrastructure as infra
from pyocci.model.entity import Entity, Link, Resource
from pyocci.model.extensions import SECURITYGROUP
from pyocci.model.standard import standard_model

pytestmark = pytest.mark.anyio

ALICE, BOB = Tenant(id="alice"), Tenant(id="bob")
DEBIAN = "http://schemas.pyocci.org/memory/os_tpl#debian-12"
TITLE = "occi.core.title"
COMPUTE_STATE, STORAGE_STATE = "occi.compute.state", "occi.storage.state"
MODEL = standard_model()


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend(model=MODEL)


def resource(kind: str, *mixins: str, links: list[Link] | None = None, **attributes) -> Resource:
    """A resource as the service hands it over: with an id and a location."""
    made = Resource(kind=kind, mixins=list(mixins), attributes=dict(attributes))
    made.id = str(uuid.uuid4())
    made.location = MODEL.location_of(kind, made.id)
    made.links = links or []
    return made


def link(kind: str, source: str, target: str) -> Link:
    made = Link(kind=kind)
    made.id = str(uuid.uuid4())
    made.location = MODEL.location_of(kind, made.id)
    made.source, made.target = source, target
    return made


def compute(**attributes) -> Resource:
    return resource(infra.COMPUTE.id, DEBIAN, **attributes)


def storage(size: float = 1.0) -> Resource:
    return resource(infra.STORAGE.id, **{"occi.storage.size": size})


async def listed(backend: MemoryBackend, tenant: Tenant, query: Query) -> list[Entity]:
    return [entity async for entity in backend.list_entities(tenant, query)]


# --- create, get, copies -------------------------------------------------------------------


async def test_a_created_compute_reads_back_started(backend: MemoryBackend) -> None:
    made = await backend.create_entity(ALICE, compute(**{TITLE: "web"}))
    got = await backend.get_entity(ALICE, infra.COMPUTE.id, made.id or "")
    assert got.attributes[TITLE] == "web"
    assert got.attributes[COMPUTE_STATE] == "active"
    assert got.mixins == [DEBIAN]
    assert got.location == f"/compute/{made.id}"


async def test_reads_are_copies_the_caller_may_change(backend: MemoryBackend) -> None:
    made = await backend.create_entity(ALICE, compute())
    made.mixins.append("http://example.org/user#mine")
    made.attributes[TITLE] = "changed by the caller"
    got = await backend.get_entity(ALICE, infra.COMPUTE.id, made.id or "")
    assert got.mixins == [DEBIAN]
    assert TITLE not in got.attributes


async def test_the_same_location_twice_is_a_conflict(backend: MemoryBackend) -> None:
    first = compute()
    await backend.create_entity(ALICE, first)
    with pytest.raises(ConflictError, match="already exists"):
        await backend.create_entity(ALICE, first)


async def test_storage_starts_online_with_its_size(backend: MemoryBackend) -> None:
    made = await backend.create_entity(ALICE, storage(0.5))
    assert made.attributes[STORAGE_STATE] == "online"
    assert made.attributes["occi.storage.size"] == 0.5


async def test_a_storage_size_must_be_positive(backend: MemoryBackend) -> None:
    with pytest.raises(InvalidRequestError, match=r"occi.storage.size must be a positive"):
        await backend.create_entity(ALICE, storage(-1))


async def test_user_data_must_be_base64(backend: MemoryBackend) -> None:
    bad = compute(**{"occi.compute.userdata": "not base64!"})
    with pytest.raises(InvalidRequestError, match="base64"):
        await backend.create_entity(ALICE, bad)


# --- not found ------------------------------------------------------------------------------


async def test_an_unknown_id_is_not_found(backend: MemoryBackend) -> None:
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(ALICE, infra.COMPUTE.id, "nothing-here")


async def test_another_tenants_entity_is_not_found(backend: MemoryBackend) -> None:
    made = await backend.create_entity(ALICE, compute())
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(BOB, infra.COMPUTE.id, made.id or "")
    assert await listed(backend, BOB, Query(kinds=(infra.COMPUTE.id,))) == []


async def test_an_entity_of_another_kind_is_not_found(backend: MemoryBackend) -> None:
    made = await backend.create_entity(ALICE, storage())
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(ALICE, infra.COMPUTE.id, made.id or "")


async def test_a_parent_kind_finds_the_entity(backend: MemoryBackend) -> None:
    made = await backend.create_entity(ALICE, storage())
    got = await backend.get_entity(ALICE, "http://schemas.ogf.org/occi/core#resource", made.id)
    assert got.kind == infra.STORAGE.id


# --- listings: filters and paging -----------------------------------------------------------


@pytest.fixture
async def population(backend: MemoryBackend) -> tuple[list[str], list[str]]:
    """Five computes titled c0..c4, then two storages: their ids, in creation order."""
    computes = [
        (await backend.create_entity(ALICE, compute(**{TITLE: f"c{n}"}))).id for n in range(5)
    ]
    storages = [(await backend.create_entity(ALICE, storage())).id for _ in range(2)]
    return computes, storages  # type: ignore[return-value]


async def test_a_page_of_one_kind(backend: MemoryBackend, population) -> None:
    computes, _ = population
    page = await listed(backend, ALICE, Query(kinds=(infra.COMPUTE.id,), offset=1, limit=2))
    assert [e.id for e in page] == computes[1:3]


async def test_a_page_across_kinds_is_one_sequence(backend: MemoryBackend, population) -> None:
    computes, storages = population
    kinds = (infra.COMPUTE.id, infra.STORAGE.id)
    page = await listed(backend, ALICE, Query(kinds=kinds, offset=4, limit=2))
    assert [e.id for e in page] == [computes[4], storages[0]]
    assert await backend.count_entities(ALICE, Query(kinds=kinds, offset=4, limit=2)) == 7


async def test_filters_by_attribute_mixin_and_id(backend: MemoryBackend, population) -> None:
    computes, _ = population
    kinds = (infra.COMPUTE.id, infra.STORAGE.id)
    by_title = await listed(backend, ALICE, Query(kinds=kinds, attributes={TITLE: "c3"}))
    assert [e.id for e in by_title] == [computes[3]]
    by_mixin = await listed(backend, ALICE, Query(kinds=kinds, mixins=(DEBIAN,)))
    assert [e.id for e in by_mixin] == computes
    by_ids = Query(kinds=kinds, ids=frozenset(computes[:2]))
    assert [e.id for e in await listed(backend, ALICE, by_ids)] == computes[:2]
    assert await backend.count_entities(ALICE, by_ids) == 2


# --- update ---------------------------------------------------------------------------------


async def test_an_update_keeps_attributes_and_the_state(backend: MemoryBackend) -> None:
    made = await backend.create_entity(ALICE, compute(**{TITLE: "before"}))
    desired = await backend.get_entity(ALICE, infra.COMPUTE.id, made.id or "")
    desired.attributes[TITLE] = "after"
    desired.attributes[COMPUTE_STATE] = "suspended"  # only actions move the state
    updated = await backend.update_entity(ALICE, made, desired)
    assert updated.attributes[TITLE] == "after"
    assert updated.attributes[COMPUTE_STATE] == "active"
    got = await backend.get_entity(ALICE, infra.COMPUTE.id, made.id or "")
    assert got.attributes[TITLE] == "after"


async def test_a_link_keeps_its_ends(backend: MemoryBackend) -> None:
    source = await backend.create_entity(ALICE, compute())
    disk = await backend.create_entity(ALICE, storage())
    other = await backend.create_entity(ALICE, storage())
    made = await backend.create_entity(
        ALICE, link(infra.STORAGELINK.id, source.location or "", disk.location or "")
    )
    desired = await backend.get_entity(ALICE, infra.STORAGELINK.id, made.id or "")
    assert isinstance(desired, Link)
    desired.target = other.location
    with pytest.raises(ConflictError, match="keeps its ends"):
        await backend.update_entity(ALICE, made, desired)


# --- links and delete -----------------------------------------------------------------------


async def test_inline_links_come_with_their_compute(backend: MemoryBackend) -> None:
    disk = await backend.create_entity(ALICE, storage())
    attached = link(infra.STORAGELINK.id, "", disk.location or "")
    made = await backend.create_entity(ALICE, compute_with(attached))
    assert isinstance(made, Resource)
    assert [one.id for one in made.links] == [attached.id]
    got = await backend.get_entity(ALICE, infra.STORAGELINK.id, attached.id or "")
    assert got.attributes["occi.storagelink.state"] == "active"


def compute_with(*links: Link) -> Resource:
    made = compute()
    for one in links:
        one.source = made.location
    made.links = list(links)
    return made


async def test_a_bad_inline_link_leaves_nothing(backend: MemoryBackend) -> None:
    wrong = link(infra.NETWORKINTERFACE.id, "", "/network/nowhere")
    made = compute_with(wrong)
    with pytest.raises(InvalidRequestError, match="target '/network/nowhere'"):
        await backend.create_entity(ALICE, made)
    assert await listed(backend, ALICE, Query(kinds=(infra.COMPUTE.id,))) == []


async def test_a_link_starts_at_a_compute(backend: MemoryBackend) -> None:
    disk = await backend.create_entity(ALICE, storage())
    net = await backend.create_entity(ALICE, resource(infra.NETWORK.id))
    backwards = link(infra.NETWORKINTERFACE.id, disk.location or "", net.location or "")
    with pytest.raises(InvalidRequestError, match="source"):
        await backend.create_entity(ALICE, backwards)


async def test_deleting_a_compute_takes_its_links(backend: MemoryBackend) -> None:
    disk = await backend.create_entity(ALICE, storage())
    attached = link(infra.STORAGELINK.id, "", disk.location or "")
    made = await backend.create_entity(ALICE, compute_with(attached))
    await backend.delete_entity(ALICE, made)
    for kind, entity_id in ((infra.COMPUTE.id, made.id), (infra.STORAGELINK.id, attached.id)):
        with pytest.raises(EntityNotFoundError):
            await backend.get_entity(ALICE, kind, entity_id or "")
    await backend.delete_entity(ALICE, disk)  # no longer attached


async def test_an_attached_storage_is_not_deleted(backend: MemoryBackend) -> None:
    disk = await backend.create_entity(ALICE, storage())
    await backend.create_entity(ALICE, compute_with(link(infra.STORAGELINK.id, "", disk.location)))
    with pytest.raises(ConflictError, match="detach it first"):
        await backend.delete_entity(ALICE, disk)


# --- actions --------------------------------------------------------------------------------


async def test_actions_move_the_state_as_the_model_says(backend: MemoryBackend) -> None:
    made = await backend.create_entity(ALICE, compute())
    stopped = await backend.trigger_action(ALICE, made, infra.STOP.id, {})
    assert stopped.entity.attributes[COMPUTE_STATE] == "inactive"
    started = await backend.trigger_action(ALICE, made, infra.START.id, {})
    assert started.entity.attributes[COMPUTE_STATE] == "active"
    suspended = await backend.trigger_action(ALICE, made, infra.SUSPEND.id, {})
    assert suspended.entity.attributes[COMPUTE_STATE] == "suspended"
    with pytest.raises(ConflictError, match="cannot stop"):
        await backend.trigger_action(ALICE, made, infra.STOP.id, {})


async def test_resize_sets_the_size(backend: MemoryBackend) -> None:
    disk = await backend.create_entity(ALICE, storage())
    outcome = await backend.trigger_action(ALICE, disk, infra.RESIZE.id, {"size": 3})
    assert outcome.entity.attributes["occi.storage.size"] == 3.0
    assert outcome.entity.attributes[STORAGE_STATE] == "online"
    with pytest.raises(InvalidRequestError, match="size must be a positive"):
        await backend.trigger_action(ALICE, disk, infra.RESIZE.id, {"size": 0})


async def test_a_saved_image_is_offered_to_its_tenant_alone(backend: MemoryBackend) -> None:
    made = await backend.create_entity(ALICE, compute())
    outcome = await backend.trigger_action(ALICE, made, infra.SAVE.id, {"name": "Web Server"})
    image = outcome.created
    assert image is not None and image.term == "web_server"
    assert image.depends == (infra.OS_TPL.id,)
    assert image.id in {m.id for m in await backend.provider_mixins(ALICE)}
    assert image.id not in {m.id for m in await backend.provider_mixins(BOB)}
    again = await backend.trigger_action(ALICE, made, infra.SAVE.id, {"name": "Web Server"})
    assert again.created is not None and again.created.term == "web_server-2"


# --- what it cannot do (501) ----------------------------------------------------------------


async def test_backup_and_snapshot_are_not_offered(backend: MemoryBackend) -> None:
    actions = backend.capabilities.actions
    assert infra.BACKUP.id not in actions and infra.SNAPSHOT.id not in actions
    disk = await backend.create_entity(ALICE, storage())
    with pytest.raises(NotSupportedError, match="backup"):
        await backend.trigger_action(ALICE, disk, infra.BACKUP.id, {})


async def test_kinds_it_does_not_keep_are_501(backend: MemoryBackend) -> None:
    group = resource(SECURITYGROUP.id)
    with pytest.raises(NotSupportedError, match="securitygroup"):
        await backend.create_entity(ALICE, group)
    assert not backend.capabilities.supports_kind(group.kind or "")


# --- settings and the entry point -----------------------------------------------------------


async def test_the_compute_quota(backend: MemoryBackend) -> None:
    limited = MemoryBackend(model=MODEL, settings=MemorySettings(computes=1))
    await limited.create_entity(ALICE, compute())
    with pytest.raises(QuotaExceededError, match="1 computes"):
        await limited.create_entity(ALICE, compute())
    await limited.create_entity(BOB, compute())  # per tenant


async def test_the_entry_point_builds_from_settings() -> None:
    setup = BackendSetup(model=MODEL, database=None, settings={"images": ["Alpine 3.20"]})
    backend = build_backend("memory", setup)
    assert isinstance(backend, MemoryBackend)
    terms = {m.term for m in await backend.provider_mixins(ALICE)}
    assert terms == {"alpine_3_20", "small", "medium", "large"}


def test_a_wrong_setting_is_named() -> None:
    setup = BackendSetup(model=MODEL, database=None, settings={"sizes": ["huge"]})
    with pytest.raises(BackendSetupError, match=r"backend_settings\.sizes\.0.*'huge'"):
        build_backend("memory", setup)
    with pytest.raises(ValueError, match="did you mean 'computes'"):
        build(BackendSetup(model=MODEL, database=None, settings={"compute": 3}))


async def test_links_get_the_devices_gfd224_gives_every_link(backend: MemoryBackend) -> None:
    # GFD.224: a storage link's device id, an interface's name and MAC (multiplicity 1).
    vm = await backend.create_entity(ALICE, compute())
    disks = [await backend.create_entity(ALICE, storage()) for _ in range(2)]
    net = await backend.create_entity(ALICE, resource(infra.NETWORK.id))
    attached = [
        await backend.create_entity(ALICE, link(infra.STORAGELINK.id, vm.location, d.location))
        for d in disks
    ]
    assert [a.attributes["occi.storagelink.deviceid"] for a in attached] == [
        "/dev/vdb",
        "/dev/vdc",
    ]
    nic = await backend.create_entity(
        ALICE, link(infra.NETWORKINTERFACE.id, vm.location, net.location)
    )
    assert nic.attributes["occi.networkinterface.interface"] == "eth0"
    assert re.fullmatch(r"02(:[0-9a-f]{2}){5}", nic.attributes["occi.networkinterface.mac"])


async def test_a_device_the_client_names_is_kept(backend: MemoryBackend) -> None:
    vm = await backend.create_entity(ALICE, compute())
    disk = await backend.create_entity(ALICE, storage())
    wanted = link(infra.STORAGELINK.id, vm.location, disk.location)
    wanted.attributes["occi.storagelink.deviceid"] = "/dev/sdq"
    made = await backend.create_entity(ALICE, wanted)
    assert made.attributes["occi.storagelink.deviceid"] == "/dev/sdq"
