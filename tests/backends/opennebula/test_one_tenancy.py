"""Tenants on a real oned: one OpenNebula group each, and nothing seen across them."""

from __future__ import annotations

import uuid

import pytest
from one_helpers import COMPUTE, action, compute, delete, listed, os_tpl

from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import BackendUnavailableError, EntityNotFoundError, QuotaExceededError
from pyocci.backends.opennebula.tenancy import account_name

pytestmark = pytest.mark.anyio


async def test_a_tenant_is_a_group_with_a_user_made_on_first_use(
    backend, tenant, service_settings, one_cloud
) -> None:
    template = await os_tpl(backend, tenant)
    created = await backend.create_entity(tenant, compute(template))
    name = account_name(service_settings["tenant_prefix"], tenant.id)
    groups = {g.NAME: int(g.ID) for g in one_cloud.client().grouppool.info().GROUP}
    assert name in groups
    vm = one_cloud.client().vm.info(int(created.id))
    assert int(vm.GID) == groups[name]
    assert name == vm.UNAME
    await delete(backend, tenant, created)


async def test_two_tenants_see_nothing_of_each_other(backend, tenant, other) -> None:
    template = await os_tpl(backend, tenant)
    mine = await backend.create_entity(tenant, compute(template))
    theirs = await backend.create_entity(other, compute(await os_tpl(backend, other)))
    assert [e.id for e in await listed(backend, tenant, Query(kinds=(COMPUTE,)))] == [mine.id]
    assert [e.id for e in await listed(backend, other, Query(kinds=(COMPUTE,)))] == [theirs.id]
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(other, COMPUTE, mine.id)
    with pytest.raises(EntityNotFoundError):
        await backend.delete_entity(other, mine)
    with pytest.raises(EntityNotFoundError):
        await backend.trigger_action(other, mine, action("stop"), {})
    # Still there for its own tenant.
    assert (await backend.get_entity(tenant, COMPUTE, mine.id)).id == mine.id
    await delete(backend, tenant, mine)
    await delete(backend, other, theirs)


async def test_a_tenant_is_not_made_when_the_site_makes_them(make_backend) -> None:
    backend = await make_backend(create_tenants=False)
    with pytest.raises(QuotaExceededError, match="OpenNebula: "):
        await backend.provider_mixins(Tenant("nobody-" + uuid.uuid4().hex[:6]))


async def test_callers_own_credentials_act_in_their_group(make_backend, one_cloud) -> None:
    backend = await make_backend(credentials="caller")
    team = one_cloud.tenant("team-" + uuid.uuid4().hex[:6])
    rivals = one_cloud.tenant("rivals-" + uuid.uuid4().hex[:6])
    caller = Tenant(team.name, token=team.session)
    rival = Tenant(rivals.name, token=rivals.session)
    created = await backend.create_entity(caller, compute(await os_tpl(backend, caller)))
    vm = one_cloud.client().vm.info(int(created.id))
    assert int(vm.GID) == team.group_id
    assert int(vm.UID) == team.user_id
    assert [e.id for e in await listed(backend, caller, Query(kinds=(COMPUTE,)))] == [created.id]
    assert await listed(backend, rival, Query(kinds=(COMPUTE,))) == []
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(rival, COMPUTE, created.id)
    await delete(backend, caller, created)


async def test_wrong_caller_credentials_are_refused_with_oneds_message(make_backend) -> None:
    backend = await make_backend(credentials="caller")
    with pytest.raises(QuotaExceededError, match="OpenNebula: "):
        await backend.provider_mixins(Tenant("mallory", token="mallory:guess"))
    with pytest.raises(QuotaExceededError, match="OpenNebula user and password"):
        await backend.provider_mixins(Tenant("anonymous"))


async def test_a_taken_user_name_is_named_for_the_operator(make_backend, one_cloud) -> None:
    backend = await make_backend()
    squatter = Tenant("squatter-" + uuid.uuid4().hex[:6])
    name = account_name(backend.settings.tenant_prefix, squatter.id)
    # Someone made a user of that name by hand, with a password of their own.
    one_cloud.client().user.allocate(name, "not-derived", "core", [])
    with pytest.raises(BackendUnavailableError, match=f"user '{name}' exists"):
        await backend.provider_mixins(squatter)
