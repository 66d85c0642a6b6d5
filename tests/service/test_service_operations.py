"""Create, read, update, replace and delete (GFD.223 §3.4.2-3.4.4) through the service,
over the memory backend: what is checked before the cloud is asked, what defaults and
templates add, what a partial update and a replacing PUT may change, and what goes
with a deleted resource."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path

import pytest
from service_driver import (
    COMPUTE_ID,
    DEBIAN,
    NETWORKINTERFACE_ID,
    STATE,
    STORAGE_ID,
    STORAGELINK_ID,
    UBUNTU,
    ServiceDriver,
    memory_service,
    new_tenant,
    refused,
)

from pyocci.backends.errors import NotSupportedError
from pyocci.model.category import Kind, Mixin
from pyocci.model.core import ENTITY, RESOURCE
from pyocci.model.entity import Link, Resource
from pyocci.model.errors import ValidationError
from pyocci.model.extensions import CRTP_SCHEME, SECURITYGROUP
from pyocci.model.infrastructure import IPNETWORK, USER_DATA
from pyocci.service.errors import BadRequestError, NotFoundError
from pyocci.service.occi import _undone
from pyocci.store import Database
from pyocci.store.errors import StoreUnavailableError
from pyocci.store.mixins import MixinRepository

pytestmark = pytest.mark.anyio

SMALL = CRTP_SCHEME + "small"
LARGE = CRTP_SCHEME + "large"
TITLE = "occi.core.title"
SUMMARY = "occi.core.summary"
CORES = "occi.compute.cores"


# --- create -----------------------------------------------------------------------------


async def test_a_new_compute_gets_an_id_its_location_and_the_actions_of_its_state(
    occi: ServiceDriver,
) -> None:
    created = await occi.compute(**{TITLE: "web"})
    assert created.id is not None
    uuid.UUID(created.id)  # the service names it when the client does not
    assert created.location == f"/compute/{created.id}"
    assert created.attributes[STATE] == "active"
    assert [a.rsplit("#", 1)[1] for a in created.actions] == ["stop", "restart", "suspend", "save"]
    read = await occi.get(created.location)
    assert read.attributes == created.attributes
    assert read.actions == created.actions


async def test_a_client_chosen_id_becomes_the_location(occi: ServiceDriver) -> None:
    created = await occi.compute(**{"occi.core.id": "web-1"})
    assert created.location == "/compute/web-1"
    assert (await occi.get("/compute/web-1")).id == "web-1"


@pytest.mark.parametrize("entity_id", ["..", "a b", "x" * 300])
async def test_an_id_that_cannot_be_a_path_segment_is_refused(
    occi: ServiceDriver, entity_id: str
) -> None:
    with refused(400, "id"):
        await occi.compute(**{"occi.core.id": entity_id})
    assert await occi.locations(COMPUTE_ID) == []


async def test_an_entity_of_a_sub_kind_is_created_through_a_parent_collection(
    occi: ServiceDriver,
) -> None:
    created = await occi.create(Resource(kind=COMPUTE_ID), collection=RESOURCE.id)
    assert created.kind == COMPUTE_ID
    assert created.location == f"/compute/{created.id}"


async def test_an_entity_of_another_kind_than_the_collections_is_refused(
    occi: ServiceDriver,
) -> None:
    with refused(400, "/compute/ holds compute entities"):
        await occi.create(
            Resource(kind=STORAGE_ID, attributes={"occi.storage.size": 1}), COMPUTE_ID
        )
    assert await occi.locations(RESOURCE.id) == []


async def test_an_entity_of_an_unknown_kind_is_refused(occi: ServiceDriver) -> None:
    with refused(400, "http://example.org/occi#gadget"):
        await occi.create(Resource(kind="http://example.org/occi#gadget"), RESOURCE.id)
    assert await occi.locations(RESOURCE.id) == []


async def test_an_entity_naming_no_kind_is_refused(occi: ServiceDriver) -> None:
    with refused(400, "say which kind"):
        await occi.create(Resource(kind=None), COMPUTE_ID)


async def test_the_abstract_entity_kind_cannot_be_created(occi: ServiceDriver) -> None:
    with pytest.raises(NotSupportedError, match="cannot create"):
        await occi.create(Resource(kind=ENTITY.id), ENTITY.id)


async def test_a_standard_kind_the_backend_does_not_serve_is_not_supported(
    occi: ServiceDriver,
) -> None:
    with refused(501, "cannot create"):
        await occi.create(Resource(kind=SECURITYGROUP.id), RESOURCE.id)


async def test_a_missing_required_attribute_is_refused_and_nothing_is_created(
    occi: ServiceDriver,
) -> None:
    with refused(400, "occi.storage.size is required") as raised:
        await occi.create(Resource(kind=STORAGE_ID))
    assert isinstance(raised.value, ValidationError)
    assert await occi.locations(STORAGE_ID) == []


async def test_a_mixin_brings_its_required_attributes(occi: ServiceDriver) -> None:
    with refused(400, "occi.compute.userdata is required"):
        await occi.create(Resource(kind=COMPUTE_ID, mixins=[USER_DATA.id]))


async def test_a_value_of_the_wrong_type_is_refused(occi: ServiceDriver) -> None:
    with refused(400, CORES):
        await occi.compute(**{CORES: "many"})


async def test_an_attribute_no_category_of_the_entity_defines_is_refused(
    occi: ServiceDriver,
) -> None:
    with refused(400, "add the mixin that defines it"):
        await occi.compute(**{"org.example.colour": "blue"})


async def test_an_attribute_of_a_standard_mixin_brings_the_mixin(occi: ServiceDriver) -> None:
    created = await occi.network(**{"occi.network.address": "10.0.0.0/24"})
    assert IPNETWORK.id in created.mixins
    assert created.attributes["occi.network.address"] == "10.0.0.0/24"


async def test_server_managed_attributes_given_at_creation_are_ignored(
    occi: ServiceDriver,
) -> None:
    created = await occi.compute(**{"occi.compute.state.message": "made by hand"})
    assert "occi.compute.state.message" not in created.attributes
    assert created.attributes[STATE] == "active"


@pytest.mark.parametrize(
    ("mixins", "message"),
    [
        (["http://example.org/occi/nothing#here"], "unknown mixin"),
        ([IPNETWORK.id], "cannot be applied"),
        ([DEBIAN, UBUNTU], "at most one os_tpl template"),
    ],
    ids=["unknown", "not-applicable", "two-images"],
)
async def test_mixins_a_compute_cannot_take_are_refused(
    occi: ServiceDriver, mixins: list[str], message: str
) -> None:
    with refused(400, message):
        await occi.create(Resource(kind=COMPUTE_ID, mixins=mixins))
    assert await occi.locations(COMPUTE_ID) == []


async def test_templates_are_kept_and_a_resource_template_sets_its_sizes(
    occi: ServiceDriver,
) -> None:
    # GFD.224: the resource template's sizes override the client's own.
    created = await occi.create(
        Resource(kind=COMPUTE_ID, mixins=[DEBIAN, SMALL], attributes={CORES: 8})
    )
    assert set(created.mixins) == {DEBIAN, SMALL}
    assert created.attributes[CORES] == 1
    assert created.attributes["occi.compute.memory"] == 1.0
    # A default the template defines and the client left out.
    assert created.attributes["occi.compute.ephemeral_storage.size"] > 0
    assert (await occi.get(created.location or "")).attributes == created.attributes


async def test_several_entities_are_created_all_or_none_when_one_is_invalid(
    occi: ServiceDriver,
) -> None:
    entities = [Resource(kind=COMPUTE_ID), Resource(kind=COMPUTE_ID, attributes={CORES: "x"})]
    with refused(400, "entity 2 of 2") as raised:
        await occi.create_all(COMPUTE_ID, entities)
    assert "nothing was created" in raised.value.message
    assert await occi.locations(COMPUTE_ID) == []


async def test_entities_created_before_one_the_cloud_refuses_are_deleted_again(
    occi: ServiceDriver,
) -> None:
    # Valid for the model; the cloud refuses user data that is not base64.
    refused_by_cloud = Resource(
        kind=COMPUTE_ID, mixins=[USER_DATA.id], attributes={"occi.compute.userdata": "!!"}
    )
    with refused(400, "entity 3 of 3") as raised:
        await occi.create_all(
            COMPUTE_ID, [Resource(kind=COMPUTE_ID), Resource(kind=COMPUTE_ID), refused_by_cloud]
        )
    assert "the 2 created before it were deleted again" in raised.value.message
    assert await occi.locations(COMPUTE_ID) == []


async def test_several_valid_entities_are_all_created(occi: ServiceDriver) -> None:
    written = await occi.create_all(
        COMPUTE_ID, [Resource(kind=COMPUTE_ID, attributes={TITLE: str(n)}) for n in range(3)]
    )
    assert written.done
    assert [e.title for e in written.entities] == ["0", "1", "2"]
    assert sorted(await occi.locations(COMPUTE_ID)) == sorted(
        e.location or "" for e in written.entities
    )


# --- links ------------------------------------------------------------------------------


async def test_a_resource_is_created_with_its_inline_links(occi: ServiceDriver) -> None:
    network = await occi.network()
    interface = Link(kind=NETWORKINTERFACE_ID, attributes={"occi.core.target": network.location})
    created = await occi.create(Resource(kind=COMPUTE_ID, links=[interface]))
    [link] = created.links
    assert link.location == f"/networkinterface/{link.id}"
    assert link.source == created.location
    assert link.target == network.location
    assert link.target_kind == network.kind
    assert link.actions  # presented as every entity is
    read = await occi.get(link.location or "")
    assert isinstance(read, Link)
    assert read.source == created.location
    assert await occi.locations(NETWORKINTERFACE_ID) == [link.location]


async def test_a_link_is_created_on_its_own_between_two_resources(occi: ServiceDriver) -> None:
    compute, storage = await occi.compute(), await occi.storage()
    link = await occi.storagelink(compute, storage, **{"occi.storagelink.deviceid": "/dev/vdb"})
    assert isinstance(link, Link)
    assert link.location == f"/storagelink/{link.id}"
    assert (link.source_kind, link.target_kind) == (COMPUTE_ID, STORAGE_ID)
    assert link.attributes["occi.storagelink.deviceid"] == "/dev/vdb"
    # The source resource shows it among its links.
    shown = await occi.get(compute.location or "")
    assert isinstance(shown, Resource)
    assert [one.location for one in shown.links] == [link.location]


async def test_a_link_to_nothing_the_tenant_has_is_refused(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    with refused(400, "target"):
        await occi.create(
            Link(
                kind=STORAGELINK_ID,
                attributes={"occi.core.source": compute.location, "occi.core.target": "/storage/x"},
            )
        )
    assert await occi.locations(STORAGELINK_ID) == []


# --- read -------------------------------------------------------------------------------


async def test_reading_an_entity_that_does_not_exist_is_not_found(occi: ServiceDriver) -> None:
    with refused(404, "no entity at /compute/nothing") as raised:
        await occi.get("/compute/nothing")
    assert isinstance(raised.value, NotFoundError)


async def test_an_entity_is_not_found_under_another_kinds_location(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    with refused(404):
        await occi.get(f"/storage/{compute.id}")


async def test_another_tenants_entity_is_not_found(
    occi: ServiceDriver, other_occi: ServiceDriver
) -> None:
    compute = await occi.compute()
    with refused(404):
        await other_occi.get(compute.location or "")
    assert await other_occi.locations(COMPUTE_ID) == []


# --- partial update ---------------------------------------------------------------------


async def test_an_update_changes_what_it_names_and_keeps_the_rest(occi: ServiceDriver) -> None:
    compute = await occi.compute(**{TITLE: "old", SUMMARY: "kept", CORES: 2})
    updated = await occi.update(
        compute.location or "", Resource(kind=None, attributes={TITLE: "new"})
    )
    assert updated.attributes[TITLE] == "new"
    assert updated.attributes[SUMMARY] == "kept"
    assert updated.attributes[CORES] == 2
    assert updated.actions == compute.actions
    assert (await occi.get(compute.location or "")).attributes == updated.attributes


async def test_an_update_may_repeat_a_server_managed_value(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    updated = await occi.update(
        compute.location or "", Resource(kind=None, attributes={STATE: "active", TITLE: "t"})
    )
    assert updated.attributes[STATE] == "active" and updated.title == "t"


@pytest.mark.parametrize(("name", "value"), [(STATE, "inactive"), ("occi.core.id", "another")])
async def test_an_update_of_a_server_managed_attribute_is_refused(
    occi: ServiceDriver, name: str, value: str
) -> None:
    compute = await occi.compute()
    with refused(400, f"{name} is managed by the server"):
        await occi.update(compute.location or "", Resource(kind=None, attributes={name: value}))
    assert (await occi.get(compute.location or "")).attributes == compute.attributes


async def test_an_update_of_a_size_the_resource_template_fixes_is_refused(
    occi: ServiceDriver,
) -> None:
    compute = await occi.create(Resource(kind=COMPUTE_ID, mixins=[SMALL]))
    with refused(400, f"{CORES} is managed by the server"):
        await occi.update(compute.location or "", Resource(kind=None, attributes={CORES: 16}))
    assert (await occi.get(compute.location or "")).attributes[CORES] == 1


async def test_an_update_may_not_change_the_kind(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    with refused(400, "keeps its kind"):
        await occi.update(compute.location or "", Resource(kind=STORAGE_ID))


async def test_an_update_may_not_carry_links(occi: ServiceDriver) -> None:
    compute, network = await occi.compute(), await occi.network()
    link = Link(kind=NETWORKINTERFACE_ID, attributes={"occi.core.target": network.location})
    with refused(400, "links are created on their own"):
        await occi.update(compute.location or "", Resource(kind=None, links=[link]))
    assert await occi.locations(NETWORKINTERFACE_ID) == []


async def test_an_update_is_validated_against_the_model(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    with refused(400, CORES):
        await occi.update(compute.location or "", Resource(kind=None, attributes={CORES: "x"}))
    with refused(400, "unknown mixin"):
        await occi.update(compute.location or "", Resource(kind=None, mixins=["http://x.org/a#b"]))


async def test_an_update_of_nothing_is_not_found(occi: ServiceDriver) -> None:
    with refused(404, "no entity at /compute/nothing"):
        await occi.update("/compute/nothing", Resource(kind=None, attributes={TITLE: "t"}))


async def test_a_template_added_by_update_replaces_the_one_before(occi: ServiceDriver) -> None:
    compute = await occi.create(Resource(kind=COMPUTE_ID, mixins=[DEBIAN, SMALL]))
    updated = await occi.update(compute.location or "", Resource(kind=None, mixins=[UBUNTU]))
    assert set(updated.mixins) == {UBUNTU, SMALL}
    resized = await occi.update(compute.location or "", Resource(kind=None, mixins=[LARGE]))
    assert set(resized.mixins) == {UBUNTU, LARGE}
    assert resized.attributes[CORES] == 4


# --- replace (PUT) ----------------------------------------------------------------------


async def test_a_put_replaces_what_the_client_may_set_and_keeps_what_the_server_manages(
    occi: ServiceDriver,
) -> None:
    compute = await occi.compute(**{TITLE: "old", SUMMARY: "dropped"})
    written, created = await occi.replace(
        compute.location or "", Resource(kind=COMPUTE_ID, attributes={TITLE: "new", CORES: 2})
    )
    assert created is False
    [replaced] = written.entities
    assert replaced.attributes[TITLE] == "new"
    assert replaced.attributes[CORES] == 2
    assert SUMMARY not in replaced.attributes
    assert replaced.id == compute.id
    assert replaced.attributes[STATE] == "active"
    assert (await occi.get(compute.location or "")).attributes == replaced.attributes


async def test_a_put_changing_a_server_managed_attribute_is_refused(occi: ServiceDriver) -> None:
    compute = await occi.compute(**{TITLE: "kept"})
    with refused(400, f"{STATE} is managed by the server"):
        await occi.replace(
            compute.location or "", Resource(kind=COMPUTE_ID, attributes={STATE: "inactive"})
        )
    assert (await occi.get(compute.location or "")).title == "kept"


async def test_a_put_where_nothing_is_creates_the_entity_at_that_path(
    occi: ServiceDriver,
) -> None:
    written, created = await occi.replace(
        "/compute/chosen", Resource(kind=None, attributes={TITLE: "mine"})
    )
    assert created is True
    [made] = written.entities
    assert made.location == "/compute/chosen" and made.id == "chosen"
    assert (await occi.get("/compute/chosen")).title == "mine"


async def test_a_put_creating_is_validated_as_a_create(occi: ServiceDriver) -> None:
    with refused(400, "occi.storage.size is required"):
        await occi.replace("/storage/disk", Resource(kind=STORAGE_ID))
    with refused(404):
        await occi.get("/storage/disk")


@pytest.mark.parametrize(
    ("entity", "message"),
    [
        (Resource(kind=STORAGE_ID), "is a compute location"),
        (Resource(kind=COMPUTE_ID, attributes={"occi.core.id": "other"}), "does not match"),
    ],
    ids=["kind", "id"],
)
async def test_a_put_whose_entity_disagrees_with_the_path_is_refused(
    occi: ServiceDriver, entity: Resource, message: str
) -> None:
    compute = await occi.compute(**{"occi.core.id": "here"})
    with refused(400, message):
        await occi.replace(compute.location or "", entity)


async def test_a_put_at_an_id_that_cannot_be_a_path_segment_is_refused(
    occi: ServiceDriver,
) -> None:
    with pytest.raises(BadRequestError):
        await occi.replace("/compute/" + "x" * 300, Resource(kind=COMPUTE_ID))


async def test_a_put_replacing_an_entity_may_not_carry_links(occi: ServiceDriver) -> None:
    compute, network = await occi.compute(), await occi.network()
    link = Link(kind=NETWORKINTERFACE_ID, attributes={"occi.core.target": network.location})
    with refused(400, "keeps the existing links"):
        await occi.replace(compute.location or "", Resource(kind=COMPUTE_ID, links=[link]))


# --- delete -----------------------------------------------------------------------------


async def test_deleting_a_resource_deletes_its_links(occi: ServiceDriver) -> None:
    compute, storage = await occi.compute(), await occi.storage()
    link = await occi.storagelink(compute, storage)
    written = await occi.delete(compute.location or "")
    assert written.done and written.entities == []
    for gone in (compute.location, link.location):
        with refused(404):
            await occi.get(gone or "")
    # The storage stays, free of its attachment: it can go too.
    assert await occi.locations(STORAGE_ID) == [storage.location]
    assert (await occi.delete(storage.location or "")).done
    assert await occi.locations(RESOURCE.id) == []


async def test_deleting_a_link_leaves_its_ends(occi: ServiceDriver) -> None:
    compute, storage = await occi.compute(), await occi.storage()
    link = await occi.storagelink(compute, storage)
    assert (await occi.delete(link.location or "")).done
    shown = await occi.get(compute.location or "")
    assert isinstance(shown, Resource) and shown.links == []
    assert (await occi.get(storage.location or "")).location == storage.location
    assert await occi.locations(STORAGELINK_ID) == []


async def test_deleting_nothing_is_not_found(occi: ServiceDriver) -> None:
    with refused(404, "no entity at /storage/nothing"):
        await occi.delete("/storage/nothing")


async def test_deleting_a_kind_collection_deletes_its_members_only(occi: ServiceDriver) -> None:
    for _ in range(3):
        await occi.compute()
    storage = await occi.storage()
    compute = await occi.category(COMPUTE_ID)
    assert isinstance(compute, Kind)
    written = await occi.service.delete_collection(occi.tenant, await occi.model(), compute)
    assert written.done
    assert await occi.locations(COMPUTE_ID) == []
    assert await occi.locations(RESOURCE.id) == [storage.location]


async def test_deleting_a_mixin_collection_is_refused(occi: ServiceDriver) -> None:
    await occi.create(Resource(kind=COMPUTE_ID, mixins=[DEBIAN]))
    debian = await occi.category(DEBIAN)
    with refused(400, "disassociates"):
        await occi.service.delete_collection(occi.tenant, await occi.model(), debian)
    assert len(await occi.locations(COMPUTE_ID)) == 1


async def test_an_entity_whose_user_mixins_cannot_be_kept_is_deleted_again_with_the_others(
    tmp_path: Path,
) -> None:
    # The cloud created the second compute, then the store refused its user mixin: it is
    # undone with the first, not left behind unnamed.
    class Refusing(MixinRepository):
        def associate(self, tenant_id: str, mixin_id: str, locations: Iterable[str]) -> None:
            raise StoreUnavailableError("the disk is full")

    database = Database(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    database.upgrade()
    service = memory_service(database, store=Refusing(database))
    occi = ServiceDriver(service, new_tenant())
    try:
        [tag] = await occi.define(Mixin(scheme="http://example.org/occi/tags#", term="web"))
        with refused(503, "entity 2 of 2") as raised:
            await occi.create_all(
                COMPUTE_ID, [Resource(kind=COMPUTE_ID), Resource(kind=COMPUTE_ID, mixins=[tag.id])]
            )
        assert "it and the 1 created before it were deleted again" in raised.value.message
        assert await occi.locations(COMPUTE_ID) == []
    finally:
        database.dispose()


def test_a_failed_multi_create_says_what_it_undid() -> None:
    assert _undone(before=0, itself=False) == "nothing was created"
    assert _undone(before=0, itself=True) == "it was deleted again"
    assert _undone(before=2, itself=False) == "the 2 created before it were deleted again"
    assert _undone(before=1, itself=True) == "it and the 1 created before it were deleted again"
