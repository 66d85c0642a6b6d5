"""The query interface (GFD.223 §3.4.1) as the service answers it, over the memory backend:
what a tenant's model holds, and what a filtered discovery returns."""

from __future__ import annotations

import pytest
from service_driver import (
    COMPUTE_ID,
    DEBIAN,
    NETWORK_ID,
    NETWORKINTERFACE_ID,
    STORAGE_ID,
    STORAGELINK_ID,
    UBUNTU,
    ServiceDriver,
)

from pyocci.model.category import Action, Kind, Mixin
from pyocci.model.core import ENTITY, LINK, RESOURCE
from pyocci.model.extensions import CRTP_SCHEME, IPRESERVATION, SECURITYGROUP
from pyocci.model.infrastructure import (
    BACKUP,
    INFRA,
    OFFLINE,
    ONLINE,
    OS_TPL,
    RESIZE,
    RESOURCE_TPL,
    RESTART,
    SAVE,
    SNAPSHOT,
    START,
    STOP,
    SUSPEND,
)
from pyocci.service.occi import OcciService

pytestmark = pytest.mark.anyio


def bare(identifier: str) -> Mixin:
    """A category named by identifier alone, as a ``?category=`` filter names it."""
    scheme, term = identifier.split("#")
    return Mixin(scheme=scheme + "#", term=term)


async def test_discovery_lists_the_kinds_the_backend_serves_and_the_core_kinds(
    occi: ServiceDriver,
) -> None:
    found = OcciService.discover(await occi.model())
    kinds = {c.id for c in found if isinstance(c, Kind)}
    assert kinds == {
        ENTITY.id,
        RESOURCE.id,
        LINK.id,
        COMPUTE_ID,
        STORAGE_ID,
        NETWORK_ID,
        NETWORKINTERFACE_ID,
        STORAGELINK_ID,
    }
    # Standard kinds the backend does not serve are not offered at all.
    assert SECURITYGROUP.id not in kinds and IPRESERVATION.id not in kinds


async def test_discovery_offers_only_the_actions_the_backend_performs(
    occi: ServiceDriver,
) -> None:
    model = await occi.model()
    found = OcciService.discover(model)
    actions = {c.id for c in found if isinstance(c, Action)}
    assert {START.id, STOP.id, RESTART.id, SUSPEND.id, SAVE.id, ONLINE.id, OFFLINE.id} <= actions
    # Memory keeps no storage backups or snapshots.
    assert BACKUP.id not in actions and SNAPSHOT.id not in actions
    compute = model.get(COMPUTE_ID)
    assert isinstance(compute, Kind)
    assert set(compute.actions) == {START.id, STOP.id, RESTART.id, SUSPEND.id, SAVE.id}
    storage = model.get(STORAGE_ID)
    assert isinstance(storage, Kind)
    assert set(storage.actions) == {ONLINE.id, OFFLINE.id, RESIZE.id}


async def test_discovery_offers_the_provider_templates(occi: ServiceDriver) -> None:
    model = await occi.model()
    found = {c.id: c for c in OcciService.discover(model)}
    images = {m.id for m in model.templates(OS_TPL.id)}
    sizes = {m.id for m in model.templates(RESOURCE_TPL.id)}
    assert images == {DEBIAN, UBUNTU}
    assert sizes == {CRTP_SCHEME + term for term in ("small", "medium", "large")}
    assert (images | sizes | {OS_TPL.id, RESOURCE_TPL.id}) <= set(found)
    # Provider mixins are not the tenant's own: they cannot be removed as user mixins.
    assert not any(model.owns(identifier) for identifier in images | sizes)
    debian = found[DEBIAN]
    assert isinstance(debian, Mixin)
    assert debian.location == "/mixin/os_tpl/debian-12/"


async def test_discovery_filtered_by_a_kind_gives_the_kind_and_its_actions(
    occi: ServiceDriver,
) -> None:
    found = OcciService.discover(await occi.model(), [bare(COMPUTE_ID)])
    assert {c.id for c in found} == {
        COMPUTE_ID,
        START.id,
        STOP.id,
        RESTART.id,
        SUSPEND.id,
        SAVE.id,
    }


async def test_discovery_filtered_by_several_categories_gives_each(occi: ServiceDriver) -> None:
    wanted = [bare(NETWORK_ID), bare(OS_TPL.id), bare(DEBIAN)]
    found = OcciService.discover(await occi.model(), wanted)
    ids = {c.id for c in found}
    assert {NETWORK_ID, OS_TPL.id, DEBIAN} <= ids
    # The network's actions come with it; nothing else does.
    assert all(c.id in ids for c in found)
    assert COMPUTE_ID not in ids and STORAGE_ID not in ids


async def test_discovery_filtered_by_unknown_categories_finds_nothing(
    occi: ServiceDriver,
) -> None:
    model = await occi.model()
    assert OcciService.discover(model, [bare(INFRA + "nothing")]) == []
    # A standard category the backend does not serve is unknown here too.
    assert OcciService.discover(model, [bare(BACKUP.id), bare(SECURITYGROUP.id)]) == []


async def test_discovery_shows_the_tenants_own_user_mixins_only(
    occi: ServiceDriver, other_occi: ServiceDriver
) -> None:
    tag = Mixin(scheme="http://example.org/occi/tags#", term="production")
    await occi.define(tag)
    mine = {c.id for c in OcciService.discover(await occi.model())}
    theirs = {c.id for c in OcciService.discover(await other_occi.model())}
    assert tag.id in mine
    assert tag.id not in theirs
    assert [c.id for c in OcciService.discover(await occi.model(), [bare(tag.id)])] == [tag.id]
