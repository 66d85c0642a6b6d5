"""User mixins (GFD.223 §3.4.1, §3.4.2) through the service, over the memory backend:
defining and removing them at the query interface, associating entities through their
collections, and what reads, filters and deletes make of the memberships."""

from __future__ import annotations

import pytest
from service_driver import (
    COMPUTE_ID,
    DEBIAN,
    STATE,
    STORAGE_ID,
    UBUNTU,
    ServiceDriver,
    refused,
)

from pyocci.model.attribute import AttributeDefinition
from pyocci.model.category import Kind, Mixin, attribute_map
from pyocci.model.entity import Resource
from pyocci.model.infrastructure import OS_TPL
from pyocci.service.errors import MethodNotAllowedError
from pyocci.service.occi import OcciService

pytestmark = pytest.mark.anyio

SCHEME = "http://example.org/occi/tags#"
TAG = Mixin(scheme=SCHEME, term="web")
VMS = Mixin(scheme=SCHEME, term="vms", applies=(COMPUTE_ID,))


async def tagged(occi: ServiceDriver, mixin_id: str) -> list[str]:
    """The members a mixin collection lists."""
    return await occi.locations(mixin_id)


# --- defining ---------------------------------------------------------------------------


async def test_a_defined_mixin_is_the_tenants_own_at_a_location_of_its_own(
    occi: ServiceDriver,
) -> None:
    [defined] = await occi.define(TAG)
    assert defined.location == "/mixin/user/web/"
    model = await occi.model()
    assert model.owns(TAG.id)
    assert await occi.collection("/mixin/user/web/") == defined
    assert await tagged(occi, TAG.id) == []


async def test_a_mixin_keeps_the_location_it_is_defined_with(occi: ServiceDriver) -> None:
    [defined] = await occi.define(Mixin(scheme=SCHEME, term="db", location="/tags/db/"))
    assert defined.location == "/tags/db/"
    assert (await occi.collection("/tags/db/")).id == defined.id


@pytest.mark.parametrize(
    ("category", "status", "message"),
    [
        (Mixin(scheme="http://schemas.ogf.org/occi/mine#", term="x"), 400, "reserved"),
        (Kind(scheme=SCHEME, term="thing"), 400, "only mixins can be defined"),
        (Mixin(scheme=SCHEME, term="9 lives", location="/tags/9/"), 400, "not a valid"),
        (Mixin(scheme=SCHEME, term="tag", location="/compute/tag/"), 400, "where /compute/"),
        (Mixin(scheme=SCHEME, term="tag", location="/mixin/os_tpl/"), 400, "already in use"),
        (Mixin(scheme=SCHEME, term="tag", location="/ipreservation/"), 400, "the kind"),
        (Mixin(scheme=SCHEME, term="d", depends=("http://x.org/a#b",)), 400, "unknown mixin"),
        (Mixin(scheme=SCHEME, term="a", applies=("http://x.org/a#k",)), 400, "unknown kind"),
    ],
    ids=[
        "reserved-scheme",
        "kind",
        "term",
        "under-a-kind",
        "taken",
        "unserved-kind",
        "depends",
        "applies",
    ],
)
async def test_a_definition_a_client_may_not_make_is_refused(
    occi: ServiceDriver, category: Mixin | Kind, status: int, message: str
) -> None:
    with refused(status, message):
        await occi.define(category)
    assert not (await occi.model()).owns(category.id)


@pytest.mark.parametrize(
    ("term", "taken_by"),
    [
        ("os_tpl", OS_TPL.id),
        ("compute", COMPUTE_ID),
        ("debian-12", DEBIAN),
    ],
    ids=["standard-mixin", "kind", "template"],
)
async def test_a_user_mixin_may_not_take_a_provider_categorys_term(
    occi: ServiceDriver, term: str, taken_by: str
) -> None:
    """Another scheme would make it a new category, but the term would name two:
    `occi list os_tpl` could no longer tell which is meant."""
    with refused(409, f"{term} is the term of {taken_by}"):
        await occi.define(Mixin(scheme=SCHEME, term=term))
    assert not (await occi.model()).owns(SCHEME + term)
    if not taken_by.startswith("http://schemas.ogf.org/"):  # reserved, refused already
        # Its very identifier, too.
        scheme = taken_by.partition("#")[0] + "#"
        with refused(409, f"{term} is the term of {taken_by}"):
            await occi.define(Mixin(scheme=scheme, term=term, location="/mine/"))
    # The tenant's own terms are the tenant's business: a second scheme may reuse one.
    await occi.define(Mixin(scheme=SCHEME, term="web"))
    await occi.define(Mixin(scheme="http://example.org/other#", term="web", location="/o/web/"))


async def test_a_mixin_with_attributes_cannot_be_defined(occi: ServiceDriver) -> None:
    colour = Mixin(
        scheme=SCHEME,
        term="coloured",
        attributes=attribute_map([AttributeDefinition(name="org.example.colour")]),
    )
    with refused(400, "cannot define attributes"):
        await occi.define(colour)


async def test_a_mixin_defined_twice_is_a_conflict(occi: ServiceDriver) -> None:
    await occi.define(TAG)
    with refused(409, "already defined"):
        await occi.define(Mixin(scheme=SCHEME, term="web", location="/tags/web/"))
    assert (await occi.category(TAG.id)).location == "/mixin/user/web/"


async def test_a_definition_failing_half_way_defines_nothing(occi: ServiceDriver) -> None:
    with refused(400, "reserved"):
        await occi.define(TAG, Mixin(scheme="http://schemas.ogf.org/occi/x#", term="y"))
    assert not (await occi.model()).owns(TAG.id)
    # Its location is still free.
    await occi.define(TAG)


# --- removing ---------------------------------------------------------------------------


async def test_a_removed_mixin_is_gone_with_its_memberships_but_not_its_members(
    occi: ServiceDriver,
) -> None:
    await occi.define(TAG)
    compute = await occi.compute()
    await occi.add_members(TAG.id, compute.location or "")
    await occi.remove_mixins(TAG.id)
    model = await occi.model()
    assert model.get(TAG.id) is None
    assert TAG.id not in {c.id for c in OcciService.discover(model)}
    read = await occi.get(compute.location or "")
    assert TAG.id not in read.mixins
    # Defined anew, it starts empty.
    await occi.define(TAG)
    assert await tagged(occi, TAG.id) == []


async def test_a_provider_mixin_cannot_be_removed(occi: ServiceDriver) -> None:
    with refused(403, "provider-defined"):
        await occi.remove_mixins(DEBIAN)
    assert (await occi.model()).get(DEBIAN) is not None


async def test_removing_an_unknown_mixin_removes_nothing(occi: ServiceDriver) -> None:
    await occi.define(TAG)
    with refused(404, "no user mixin http://example.org/occi/tags#nothing"):
        await occi.remove_mixins(TAG.id, SCHEME + "nothing")
    assert (await occi.model()).owns(TAG.id)


async def test_another_tenants_mixin_cannot_be_removed(
    occi: ServiceDriver, other_occi: ServiceDriver
) -> None:
    await occi.define(TAG)
    with refused(404):
        await other_occi.remove_mixins(TAG.id)
    assert (await occi.model()).owns(TAG.id)


# --- members ----------------------------------------------------------------------------


async def test_associated_entities_are_listed_and_show_the_mixin(occi: ServiceDriver) -> None:
    await occi.define(TAG)
    compute, storage, untagged = await occi.compute(), await occi.storage(), await occi.compute()
    await occi.add_members(TAG.id, compute.location or "", storage.location or "")
    assert await tagged(occi, TAG.id) == [compute.location, storage.location]
    assert TAG.id in (await occi.get(compute.location or "")).mixins
    assert TAG.id not in (await occi.get(untagged.location or "")).mixins
    listed, _ = await occi.listing(COMPUTE_ID)
    assert {e.location: TAG.id in e.mixins for e in listed} == {
        compute.location: True,
        untagged.location: False,
    }


async def test_a_user_mixin_filters_a_kind_collection(occi: ServiceDriver) -> None:
    await occi.define(TAG)
    compute, storage = await occi.compute(), await occi.storage()
    await occi.compute()
    await occi.add_members(TAG.id, compute.location or "", storage.location or "")
    assert await occi.locations(COMPUTE_ID, filters=[TAG]) == [compute.location]
    assert await occi.locations(STORAGE_ID, filters=[TAG]) == [storage.location]


async def test_a_member_is_told_apart_from_an_entity_of_another_kind_with_its_id(
    occi: ServiceDriver,
) -> None:
    await occi.define(TAG)
    await occi.compute(**{"occi.core.id": "same"})
    storage = await occi.storage(**{"occi.core.id": "same"})
    await occi.add_members(TAG.id, storage.location or "")
    assert await occi.locations(COMPUTE_ID, filters=[TAG]) == []
    assert await tagged(occi, TAG.id) == [storage.location]


async def test_an_action_on_a_user_mixin_collection_acts_on_its_members_only(
    occi: ServiceDriver,
) -> None:
    [tag] = await occi.define(TAG)
    member, other = await occi.compute(), await occi.compute()
    await occi.add_members(TAG.id, member.location or "")
    acted = await occi.service.trigger_on_collection(
        occi.tenant, await occi.model(), tag, "stop", None
    )
    assert acted == [member.location]
    assert (await occi.get(member.location or "")).attributes[STATE] == "inactive"
    assert (await occi.get(other.location or "")).attributes[STATE] == "active"


async def test_a_user_mixin_given_at_creation_is_associated(occi: ServiceDriver) -> None:
    await occi.define(TAG)
    compute = await occi.create(Resource(kind=COMPUTE_ID, mixins=[TAG.id, DEBIAN]))
    assert set(compute.mixins) == {TAG.id, DEBIAN}
    assert await tagged(occi, TAG.id) == [compute.location]


async def test_a_user_mixin_added_by_update_is_associated(occi: ServiceDriver) -> None:
    await occi.define(TAG)
    compute = await occi.compute()
    updated = await occi.update(compute.location or "", Resource(kind=None, mixins=[TAG.id]))
    assert TAG.id in updated.mixins
    assert await tagged(occi, TAG.id) == [compute.location]


async def test_a_link_can_be_a_member_and_shows_it_inside_its_source(
    occi: ServiceDriver,
) -> None:
    await occi.define(TAG)
    compute, storage = await occi.compute(), await occi.storage()
    link = await occi.storagelink(compute, storage)
    await occi.add_members(TAG.id, link.location or "")
    assert TAG.id in (await occi.get(link.location or "")).mixins
    source = await occi.get(compute.location or "")
    assert isinstance(source, Resource)
    assert [TAG.id in one.mixins for one in source.links] == [True]


async def test_associating_what_is_not_there_is_refused(occi: ServiceDriver) -> None:
    await occi.define(TAG)
    compute = await occi.compute()
    with refused(404, "no entity at /compute/nothing"):
        await occi.add_members(TAG.id, compute.location or "", "/compute/nothing")
    with refused(400, "is not the location of an entity"):
        await occi.add_members(TAG.id, "/compute/")
    assert await tagged(occi, TAG.id) == []


async def test_a_mixin_is_associated_only_with_the_kinds_it_applies_to(
    occi: ServiceDriver,
) -> None:
    await occi.define(VMS)
    compute, storage = await occi.compute(), await occi.storage()
    with refused(400, "does not apply"):
        await occi.add_members(VMS.id, compute.location or "", storage.location or "")
    assert await tagged(occi, VMS.id) == []
    with refused(400, "cannot be applied"):
        await occi.create(
            Resource(kind=STORAGE_ID, mixins=[VMS.id], attributes={"occi.storage.size": 1})
        )


async def test_a_put_of_members_is_checked_against_what_the_mixin_applies_to(
    occi: ServiceDriver,
) -> None:
    await occi.define(VMS)
    storage = await occi.storage()
    with refused(400, "does not apply"):
        await occi.replace_members(VMS.id, storage.location or "")
    assert await tagged(occi, VMS.id) == []


async def test_a_put_of_members_makes_exactly_them_members(occi: ServiceDriver) -> None:
    await occi.define(TAG)
    first, second, third = [await occi.compute() for _ in range(3)]
    await occi.add_members(TAG.id, first.location or "", second.location or "")
    await occi.replace_members(TAG.id, third.location or "", second.location or "")
    assert sorted(await tagged(occi, TAG.id)) == sorted([second.location, third.location])
    with refused(404):
        await occi.replace_members(TAG.id, "/compute/nothing")
    assert sorted(await tagged(occi, TAG.id)) == sorted([second.location, third.location])


async def test_members_are_disassociated_by_name_or_all_at_once(occi: ServiceDriver) -> None:
    await occi.define(TAG)
    made = [await occi.compute() for _ in range(3)]
    await occi.add_members(TAG.id, *(c.location or "" for c in made))
    await occi.remove_members(TAG.id, made[0].location or "")
    assert await tagged(occi, TAG.id) == [made[1].location, made[2].location]
    await occi.remove_members(TAG.id)
    assert await tagged(occi, TAG.id) == []
    # The entities stay.
    assert len(await occi.locations(COMPUTE_ID)) == 3


@pytest.mark.parametrize("change", ["replace_members", "remove_members"])
async def test_a_provider_mixins_members_change_only_through_their_entities(
    occi: ServiceDriver, change: str
) -> None:
    compute = await occi.create(Resource(kind=COMPUTE_ID, mixins=[DEBIAN]))
    with refused(405) as raised:
        await getattr(occi, change)(DEBIAN, compute.location or "")
    assert isinstance(raised.value, MethodNotAllowedError)
    assert "POST" in raised.value.allowed and "PUT" not in raised.value.allowed
    assert await tagged(occi, DEBIAN) == [compute.location]


async def test_associating_a_template_swaps_the_entitys_template(occi: ServiceDriver) -> None:
    compute = await occi.create(Resource(kind=COMPUTE_ID, mixins=[DEBIAN]))
    await occi.add_members(UBUNTU, compute.location or "")
    assert (await occi.get(compute.location or "")).mixins == [UBUNTU]
    assert await tagged(occi, DEBIAN) == []
    with refused(400, "associate a specific template"):
        await occi.add_members(OS_TPL.id, compute.location or "")


async def test_a_deleted_entity_leaves_its_mixins_and_its_links_leave_theirs(
    occi: ServiceDriver,
) -> None:
    await occi.define(TAG)
    compute = await occi.compute(**{"occi.core.id": "reused"})
    link = await occi.storagelink(compute, await occi.storage())
    await occi.add_members(TAG.id, compute.location or "", link.location or "")
    await occi.delete(compute.location or "")
    assert await tagged(occi, TAG.id) == []
    # A new entity at the same location is no member.
    again = await occi.compute(**{"occi.core.id": "reused"})
    assert TAG.id not in again.mixins
    assert await tagged(occi, TAG.id) == []


async def test_a_put_replaces_user_mixins_as_it_does_provider_mixins(
    occi: ServiceDriver,
) -> None:
    await occi.define(TAG)
    compute = await occi.create(Resource(kind=COMPUTE_ID, mixins=[DEBIAN, TAG.id]))
    written, _ = await occi.replace(compute.location or "", Resource(kind=COMPUTE_ID))
    assert DEBIAN not in written.entities[0].mixins
    assert TAG.id not in written.entities[0].mixins


async def test_a_put_naming_a_user_mixin_associates_it(occi: ServiceDriver) -> None:
    await occi.define(TAG)
    compute = await occi.compute()
    written, _ = await occi.replace(
        compute.location or "", Resource(kind=COMPUTE_ID, mixins=[TAG.id])
    )
    assert TAG.id in written.entities[0].mixins
    assert await tagged(occi, TAG.id) == [compute.location]


async def test_user_mixins_are_the_tenants_alone(
    occi: ServiceDriver, other_occi: ServiceDriver
) -> None:
    await occi.define(TAG)
    await other_occi.define(TAG)
    mine, theirs = await occi.compute(), await other_occi.compute()
    await occi.add_members(TAG.id, mine.location or "")
    assert await tagged(occi, TAG.id) == [mine.location]
    assert await tagged(other_occi, TAG.id) == []
    with refused(404):
        await other_occi.add_members(TAG.id, mine.location or "")
    assert TAG.id not in (await other_occi.get(theirs.location or "")).mixins
