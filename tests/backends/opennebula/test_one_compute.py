"""Computes on a real oned: instantiate, read, list, act, resize, save, terminate."""

from __future__ import annotations

import base64
import copy

import anyio
import pyone
import pytest
from one_helpers import (
    COMPUTE,
    TEMPLATE_NAME,
    action,
    compute,
    delete,
    gone,
    listed,
    os_tpl,
    wait_state,
)

from pyocci.backends.api import Query
from pyocci.backends.errors import ConflictError, EntityNotFoundError, InvalidRequestError
from pyocci.backends.opennebula.catalogue import OS_TPL_SCHEME, RESOURCE_TPL_SCHEME
from pyocci.backends.opennebula.clusters import ZONE_SCHEME, with_cluster
from pyocci.model.category import occi11_term

pytestmark = pytest.mark.anyio


async def test_templates_are_vm_templates_and_sizes(backend, tenant, one_cloud) -> None:
    mixins = await backend.provider_mixins(tenant)
    images = [m for m in mixins if m.scheme == OS_TPL_SCHEME]
    sizes = {m.term: m for m in mixins if m.scheme == RESOURCE_TPL_SCHEME}
    template_id = one_cloud.provisioned.template_id
    offered = next(m for m in images if m.title == TEMPLATE_NAME)
    # 1.1-safe term from the real name and the id; the real name as the title.
    assert offered.term == f"{occi11_term(TEMPLATE_NAME)}-{template_id}"
    assert set(sizes) == {"small", "medium", "large"}
    assert sizes["medium"].attributes["occi.compute.cores"].default == 2
    assert sizes["medium"].attributes["occi.compute.memory"].default == 4.0


async def test_a_compute_is_a_vm_of_the_template_with_the_size(backend, tenant, one_cloud) -> None:
    template = await os_tpl(backend, tenant)
    created = await backend.create_entity(tenant, compute(template, "small", title="web"))
    assert created.location == f"/compute/{created.id}"
    assert template in created.mixins
    assert RESOURCE_TPL_SCHEME + "small" in created.mixins
    running = await wait_state(backend, tenant, created.id, "active")
    assert running.attributes["occi.compute.cores"] == 1
    assert running.attributes["occi.compute.memory"] == 1.0
    assert "RUNNING" in running.attributes["occi.compute.state.message"]
    vm = one_cloud.client().vm.info(int(created.id))
    assert vm.TEMPLATE["VCPU"] == "1"
    assert vm.TEMPLATE["MEMORY"] == "1024"
    await delete(backend, tenant, running)


async def test_user_data_and_ssh_key_go_to_the_context(backend, tenant, one_cloud) -> None:
    template = await os_tpl(backend, tenant)
    script = base64.b64encode(b"#!/bin/sh\necho hello\n").decode()
    created = await backend.create_entity(
        tenant,
        compute(
            template,
            **{
                "occi.compute.userdata": script,
                "occi.credentials.ssh.publickey": "ssh-ed25519 AAAAC3Nza test@example",
            },
        ),
    )
    context = one_cloud.client().vm.info(int(created.id)).TEMPLATE["CONTEXT"]
    assert context["USER_DATA"] == script
    assert context["USER_DATA_ENCODING"] == "base64"
    assert context["SSH_PUBLIC_KEY"] == "ssh-ed25519 AAAAC3Nza test@example"
    await delete(backend, tenant, created)


async def test_user_data_that_is_not_base64_is_refused(backend, tenant) -> None:
    template = await os_tpl(backend, tenant)
    with pytest.raises(InvalidRequestError, match=r"occi\.compute\.userdata"):
        await backend.create_entity(tenant, compute(template, **{"occi.compute.userdata": "%%"}))


async def test_a_template_not_offered_is_refused_naming_what_is(backend, tenant) -> None:
    with pytest.raises(InvalidRequestError, match="no os_tpl 'nothing-999'"):
        await backend.create_entity(tenant, compute(OS_TPL_SCHEME + "nothing-999"))


async def test_listing_pages_through_the_groups_vms(backend, tenant) -> None:
    template = await os_tpl(backend, tenant)
    made = [await backend.create_entity(tenant, compute(template)) for _ in range(5)]
    everything = await listed(backend, tenant, Query(kinds=(COMPUTE,)))
    assert sorted(e.id for e in everything) == sorted(e.id for e in made)
    pages = [
        await listed(backend, tenant, Query(kinds=(COMPUTE,), offset=offset, limit=2))
        for offset in (0, 2, 4)
    ]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [e.id for page in pages for e in page] == [e.id for e in everything]
    one = await listed(backend, tenant, Query(kinds=(COMPUTE,), offset=1, limit=1))
    assert [e.id for e in one] == [everything[1].id]
    for entity in made:
        await delete(backend, tenant, entity)
    for entity in made:
        await gone(backend, tenant, entity)
    assert await listed(backend, tenant, Query(kinds=(COMPUTE,))) == []


async def test_a_filtered_listing_is_checked_here(backend, tenant) -> None:
    template = await os_tpl(backend, tenant)
    web = await backend.create_entity(tenant, compute(template, "small", title="web"))
    db = await backend.create_entity(tenant, compute(template, "medium", title="db"))
    query = Query(kinds=(COMPUTE,), mixins=(RESOURCE_TPL_SCHEME + "medium",))
    assert [e.id for e in await listed(backend, tenant, query)] == [db.id]
    # The limit is what is shown, not how many VMs are read: db is found wherever it is.
    for first in (web, db):
        wanted = Query(kinds=(COMPUTE,), ids=frozenset({first.id}), limit=1)
        assert [e.id for e in await listed(backend, tenant, wanted)] == [first.id]
    for entity in (web, db):
        await delete(backend, tenant, entity)


async def test_each_action_leads_to_its_state(backend, tenant, one_cloud) -> None:
    template = await os_tpl(backend, tenant)
    created = await backend.create_entity(tenant, compute(template))
    running = await wait_state(backend, tenant, created.id, "active")
    stopped = await backend.trigger_action(tenant, running, action("stop"), {"method": "graceful"})
    assert stopped.entity.id == created.id
    off = await wait_state(backend, tenant, created.id, "inactive")
    assert "POWEROFF" in off.attributes["occi.compute.state.message"]
    await backend.trigger_action(tenant, off, action("start"), {})
    running = await wait_state(backend, tenant, created.id, "active")
    await backend.trigger_action(tenant, running, action("restart"), {"method": "cold"})
    running = await wait_state(backend, tenant, created.id, "active")
    await backend.trigger_action(tenant, running, action("suspend"), {})
    suspended = await wait_state(backend, tenant, created.id, "suspended")
    await backend.trigger_action(tenant, suspended, action("start"), {})
    running = await wait_state(backend, tenant, created.id, "active")
    await backend.trigger_action(tenant, running, action("stop"), {"method": "poweroff"})
    await wait_state(backend, tenant, created.id, "inactive")
    history = one_cloud.client().vm.info(int(created.id)).HISTORY_RECORDS.HISTORY
    actions = [record.ACTION for record in history]
    # oned's history records the actions that end a stay on the host, by number
    # (pyone.HISTORY_ACTION): a graceful stop, the suspend, the hard stop.
    names = [pyone.HISTORY_ACTION(int(number)).name for number in actions]
    assert names == ["poweroff", "suspend", "poweroff-hard"]
    await delete(backend, tenant, created)


async def test_an_action_oned_refuses_now_is_a_conflict_with_its_message(backend, tenant) -> None:
    template = await os_tpl(backend, tenant)
    created = await backend.create_entity(tenant, compute(template))
    running = await wait_state(backend, tenant, created.id, "active")
    with pytest.raises(ConflictError, match="OpenNebula starts powered-off"):
        await backend.trigger_action(tenant, running, action("start"), {})
    await backend.trigger_action(tenant, running, action("stop"), {"method": "poweroff"})
    off = await wait_state(backend, tenant, created.id, "inactive")
    with pytest.raises(ConflictError, match="OpenNebula: "):
        await backend.trigger_action(tenant, off, action("suspend"), {})
    await delete(backend, tenant, created)


async def test_a_new_resource_template_resizes_the_vm(backend, tenant, one_cloud) -> None:
    template = await os_tpl(backend, tenant)
    created = await backend.create_entity(tenant, compute(template, "small"))
    running = await wait_state(backend, tenant, created.id, "active")
    desired = copy.deepcopy(running)
    desired.mixins = [m for m in desired.mixins if not m.startswith(RESOURCE_TPL_SCHEME)]
    desired.mixins.append(RESOURCE_TPL_SCHEME + "medium")
    resized = await backend.update_entity(tenant, running, desired)
    assert RESOURCE_TPL_SCHEME + "medium" in resized.mixins
    assert resized.attributes["occi.compute.cores"] == 2
    assert one_cloud.client().vm.info(int(created.id)).TEMPLATE["MEMORY"] == "4096"
    await delete(backend, tenant, resized)


async def test_save_gives_a_new_os_tpl_at_once_offered_once_written(backend, tenant) -> None:
    template = await os_tpl(backend, tenant)
    created = await backend.create_entity(tenant, compute(template))
    running = await wait_state(backend, tenant, created.id, "active")
    outcome = await backend.trigger_action(tenant, running, action("save"), {"name": "golden"})
    assert outcome.created is not None
    assert outcome.created.title == "golden"
    with anyio.fail_after(120):
        while outcome.created.id not in {m.id for m in await backend.provider_mixins(tenant)}:
            await anyio.sleep(0.5)
    copied = await backend.create_entity(tenant, compute(outcome.created.id))
    assert outcome.created.id in copied.mixins
    for entity in (copied, running):
        await delete(backend, tenant, entity)


async def test_a_saved_template_is_deleted_by_its_tenant_with_its_image(
    backend, tenant, other, one_cloud
) -> None:
    site = await os_tpl(backend, tenant)
    created = await backend.create_entity(tenant, compute(site))
    running = await wait_state(backend, tenant, created.id, "active")
    outcome = await backend.trigger_action(tenant, running, action("save"), {"name": "to-go"})
    assert outcome.created is not None
    saved = outcome.created.id
    template_id = int(saved.rsplit("-", 1)[1])
    admin = one_cloud.client()
    [image_id] = [int(d["IMAGE_ID"]) for d in [admin.template.info(template_id).TEMPLATE["DISK"]]]
    with anyio.fail_after(120):
        while saved not in {m.id for m in await backend.provider_mixins(tenant)}:
            await anyio.sleep(0.5)
    copied = await backend.create_entity(tenant, compute(saved))
    await wait_state(backend, tenant, copied.id, "active")
    # In use by a VM: a conflict, and nothing is deleted.
    with pytest.raises(ConflictError, match=f"image {image_id} of this template is used by 1 VM"):
        await backend.delete_template(tenant, saved)
    # Not theirs: another tenant's request, and the site's template.
    assert not await backend.delete_template(other, saved)
    assert not await backend.delete_template(tenant, site)
    assert not await backend.delete_template(tenant, OS_TPL_SCHEME + "no-id")
    admin.template.info(template_id)  # still there

    await delete(backend, tenant, copied)
    await gone(backend, tenant, copied)
    with anyio.fail_after(60):
        # oned releases the image a little after the VM is gone.
        while int(admin.image.info(image_id).RUNNING_VMS or 0):
            await anyio.sleep(0.5)
    assert await backend.delete_template(tenant, saved)
    assert saved not in {m.id for m in await backend.provider_mixins(tenant)}
    with pytest.raises(pyone.OneNoExistsException):
        admin.template.info(template_id)
    with anyio.fail_after(60):
        # The datastore driver removes the image's file first: oned drops it after.
        while True:
            try:
                admin.image.info(image_id)
            except pyone.OneNoExistsException:
                break
            await anyio.sleep(0.5)
    admin.template.info(int(site.rsplit("-", 1)[1]))  # the site's stays
    await delete(backend, tenant, running)


async def test_a_deleted_compute_is_gone(backend, tenant) -> None:
    template = await os_tpl(backend, tenant)
    created = await backend.create_entity(tenant, compute(template))
    await delete(backend, tenant, created)
    # oned terminates in the background: the service reads back until it is gone.
    await gone(backend, tenant, created)
    assert await listed(backend, tenant, Query(kinds=(COMPUTE,))) == []
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, COMPUTE, "not-a-number")


async def test_a_compute_in_a_zone_is_placed_on_the_clusters_hosts(
    backend, tenant, one_cloud
) -> None:
    made = one_cloud.provisioned
    zone = ZONE_SCHEME + made.zone_cluster_name
    assert zone in {m.id for m in await backend.provider_mixins(tenant)}
    entity = compute(await os_tpl(backend, tenant), "small")
    entity.mixins.append(zone)
    created = await backend.create_entity(tenant, entity)
    running = await wait_state(backend, tenant, created.id, "active")
    assert zone in running.mixins
    vm = one_cloud.client().vm.info(int(created.id))
    asked = vm.USER_TEMPLATE.get("SCHED_REQUIREMENTS") or vm.TEMPLATE.get("SCHED_REQUIREMENTS")
    assert asked == f"CLUSTER_ID = {made.zone_cluster_id}"
    assert int(vm.HISTORY_RECORDS.HISTORY[-1].CID) == made.zone_cluster_id
    await delete(backend, tenant, running)


def test_a_zone_keeps_the_templates_own_requirements() -> None:
    assert with_cluster(None, 0) == "CLUSTER_ID = 0"
    assert with_cluster('HYPERVISOR = "kvm"', 3) == '(HYPERVISOR = "kvm") & CLUSTER_ID = 3'


async def test_a_failed_deploy_is_an_error_with_oneds_message(backend, tenant, one_cloud) -> None:
    # The dummy driver fails the next deploy (OpenNebula's own fault injection).
    fault = one_cloud.fault_folder / "deploy"
    fault.write_text("failure\n")
    try:
        created = await backend.create_entity(tenant, compute(await os_tpl(backend, tenant)))
        failed = await wait_state(backend, tenant, created.id, "error")
    finally:
        fault.unlink()
    message = failed.attributes["occi.compute.state.message"]
    assert "BOOT_FAILURE" in message
    error = one_cloud.client().vm.info(int(created.id)).USER_TEMPLATE["ERROR"]
    assert message.endswith(f": {error}")
    await delete(backend, tenant, failed)
