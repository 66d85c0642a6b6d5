"""Computes: images, sizes, contextualization, ids, tenants, updates (resize, rebuild), delete."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sim_helpers import (
    COMPUTE,
    DEBIAN,
    LARGE,
    LEGACY_KEY,
    LEGACY_USER_DATA,
    MEDIUM,
    NETWORK,
    SAVED,
    SMALL,
    SSH_KEY,
    UBUNTU,
    USER_DATA,
    ZONE,
    assert_declared,
    compute,
    listing,
    network,
    nic,
    offered,
)

from pyocci.backends.api import Backend
from pyocci.backends.errors import (
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    QuotaExceededError,
)
from pyocci.backends.sim import Quotas, SimSettings
from pyocci.model import Resource

pytestmark = pytest.mark.anyio


async def test_a_compute_boots_with_its_image_and_template(backend, tenant):
    created = await backend.create_entity(tenant, compute(DEBIAN, MEDIUM, title="web 1"))
    uuid.UUID(created.id, version=4)
    assert created.location == f"/compute/{created.id}"
    assert created.mixins == [DEBIAN, MEDIUM]
    attributes = created.attributes
    assert attributes["occi.compute.state"] == "active"
    assert attributes["occi.compute.cores"] == 2
    assert attributes["occi.compute.memory"] == 2.0
    assert attributes["occi.compute.ephemeral_storage.size"] == 20.0
    assert attributes["occi.compute.architecture"] == "x64"
    assert attributes["occi.compute.hostname"] == "web-1"
    assert attributes["occi.core.title"] == "web 1"
    assert created.links == []
    assert set(offered(backend, created)) == {
        "http://schemas.ogf.org/occi/infrastructure/compute/action#" + term
        for term in ("stop", "restart", "suspend", "save")
    }
    assert await backend.get_entity(tenant, COMPUTE, created.id) == created
    await assert_declared(backend, tenant, created)


async def test_without_an_os_template_a_compute_gets_the_first_image(backend, tenant):
    created = await backend.create_entity(tenant, compute(image=False))
    assert created.mixins[0] == UBUNTU


async def test_a_site_can_require_an_os_template_and_the_error_lists_them(make_backend, tenant):
    backend = make_backend(SimSettings.from_dict({"default_image": ""}))
    with pytest.raises(InvalidRequestError, match=r"choose an OS template: ubuntu-24_04") as error:
        await backend.create_entity(tenant, compute(image=False))
    assert UBUNTU in error.value.message and "cirros-0_6" in error.value.message


async def test_an_image_that_is_not_the_tenants_is_refused(backend, tenant):
    with pytest.raises(InvalidRequestError, match="not an OS template you can use"):
        await backend.create_entity(tenant, compute(SAVED + "someone-elses"))


async def test_a_configured_default_image_is_used(make_backend, tenant):
    backend = make_backend(default_image="cirros-0_6")
    created = await backend.create_entity(tenant, compute(image=False))
    assert created.mixins[0] == "http://schemas.pyocci.org/sim/os_tpl#cirros-0_6"


async def test_without_a_template_the_default_template_applies(backend, tenant):
    created = await backend.create_entity(tenant, compute())
    assert SMALL in created.mixins
    assert created.attributes["occi.compute.cores"] == 1
    assert created.attributes["occi.compute.memory"] == 1.0


async def test_sizes_given_without_a_template_are_kept(backend, tenant):
    created = await backend.create_entity(tenant, compute(attributes={"occi.compute.cores": 3}))
    assert not any("template" in m for m in created.mixins)
    assert created.attributes["occi.compute.cores"] == 3
    assert created.attributes["occi.compute.memory"] == 1.0


async def test_template_values_applied_by_the_model_are_kept(backend, tenant):
    # The service applies the template's defaults before calling the backend.
    created = await backend.create_entity(
        tenant,
        compute(LARGE, attributes={"occi.compute.cores": 4, "occi.compute.memory": 4.0}),
    )
    assert created.attributes["occi.compute.cores"] == 4
    assert created.attributes["occi.compute.memory"] == 4.0


async def test_bad_sizes_are_refused(backend, tenant):
    with pytest.raises(InvalidRequestError, match=r"occi.compute.cores must be a positive"):
        await backend.create_entity(tenant, compute(attributes={"occi.compute.cores": 0}))
    with pytest.raises(InvalidRequestError, match=r"occi.compute.memory must be a positive"):
        await backend.create_entity(tenant, compute(attributes={"occi.compute.memory": -1.0}))


async def test_contextualization_is_kept_in_both_families(backend, tenant):
    created = await backend.create_entity(
        tenant,
        compute(
            USER_DATA,
            SSH_KEY,
            LEGACY_USER_DATA,
            LEGACY_KEY,
            attributes={
                "occi.compute.userdata": "I2Nsb3VkLWNvbmZpZw==",
                "occi.credentials.ssh.publickey": "ssh-ed25519 AAAA me",
                "org.openstack.compute.user_data": "I2Nsb3VkLWNvbmZpZw==",
                "org.openstack.credentials.publickey.data": "ssh-rsa BBBB me",
            },
        ),
    )
    assert {USER_DATA, SSH_KEY, LEGACY_USER_DATA, LEGACY_KEY} <= set(created.mixins)
    assert created.attributes["occi.compute.userdata"] == "I2Nsb3VkLWNvbmZpZw=="
    assert created.attributes["org.openstack.credentials.publickey.data"] == "ssh-rsa BBBB me"
    await assert_declared(backend, tenant, created)
    # Supplied once: an update cannot change them or add them.
    changed = Resource(
        kind=COMPUTE,
        mixins=created.mixins,
        attributes={**created.attributes, "occi.compute.userdata": "b3RoZXI="},
    )
    with pytest.raises(InvalidRequestError, match="supplied once"):
        await backend.update_entity(tenant, created, changed)
    plain = await backend.create_entity(tenant, compute())
    with pytest.raises(InvalidRequestError, match="when the compute is created"):
        await backend.update_entity(
            tenant,
            plain,
            Resource(
                kind=COMPUTE,
                mixins=[*plain.mixins, SSH_KEY],
                attributes={**plain.attributes, "occi.credentials.ssh.publickey": "k"},
            ),
        )


async def test_server_managed_attributes_are_the_servers(backend, tenant):
    created = await backend.create_entity(
        tenant,
        compute(
            attributes={
                "occi.compute.state": "error",
                "occi.compute.state.message": "made up",
            }
        ),
    )
    assert created.attributes["occi.compute.state"] == "active"
    assert "occi.compute.state.message" not in created.attributes


async def test_user_mixins_are_not_the_backends(backend, tenant):
    tag = "http://example.org/my/tags#web"
    created = await backend.create_entity(tenant, compute(tag, ZONE))
    assert tag not in created.mixins
    assert ZONE in created.mixins


async def test_a_client_chosen_id_is_used_once_per_tenant(backend, tenant, other):
    chosen = compute(attributes={"occi.core.id": "my-vm"})
    created = await backend.create_entity(tenant, chosen)
    assert created.id == "my-vm" and created.location == "/compute/my-vm"
    with pytest.raises(ConflictError, match="/compute/my-vm already exists"):
        await backend.create_entity(tenant, compute(attributes={"occi.core.id": "my-vm"}))
    # Ids are per tenant.
    theirs = await backend.create_entity(other, compute(attributes={"occi.core.id": "my-vm"}))
    assert theirs.id == "my-vm"


async def test_tenants_never_see_each_other(backend, tenant, other):
    mine = await backend.create_entity(tenant, compute(title="mine"))
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(other, COMPUTE, mine.id)
    with pytest.raises(EntityNotFoundError):
        await backend.delete_entity(other, mine)
    with pytest.raises(EntityNotFoundError):
        await backend.update_entity(other, mine, mine)
    with pytest.raises(EntityNotFoundError):
        await backend.trigger_action(
            other, mine, "http://schemas.ogf.org/occi/infrastructure/compute/action#stop", {}
        )
    assert await listing(backend, other, COMPUTE) == []
    assert [e.id for e in await listing(backend, tenant, COMPUTE)] == [mine.id]


async def test_get_by_parent_kind_and_not_by_a_wrong_kind(backend, tenant):
    created = await backend.create_entity(tenant, compute())
    resource = "http://schemas.ogf.org/occi/core#resource"
    assert (await backend.get_entity(tenant, resource, created.id)).id == created.id
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, NETWORK, created.id)


async def test_inline_links_are_created_atomically(backend, tenant):
    net = await backend.create_entity(tenant, network())
    created = await backend.create_entity(
        tenant, compute(links=[nic(None, net.location), nic(None, "/network/public")])
    )
    assert [link.attributes["occi.networkinterface.interface"] for link in created.links] == [
        "eth0",
        "eth1",
    ]
    assert all(link.source == created.location for link in created.links)
    with pytest.raises(InvalidRequestError, match="not one of your network"):
        await backend.create_entity(
            tenant,
            compute(title="doomed", links=[nic(None, net.location), nic(None, "/network/nope")]),
        )
    titles = [e.attributes.get("occi.core.title") for e in await listing(backend, tenant, COMPUTE)]
    assert "doomed" not in titles
    # The address the failed create took was given back.
    again = await backend.create_entity(tenant, compute(links=[nic(None, net.location)]))
    assert again.links[0].attributes["occi.networkinterface.address"] == "10.0.0.3"


async def test_an_inline_link_starts_at_its_resource(backend, tenant):
    with pytest.raises(InvalidRequestError, match="starts at the resource it is in"):
        await backend.create_entity(
            tenant, compute(links=[nic("/compute/somewhere-else", "/network/public")])
        )


async def test_update_changes_what_may_change(backend, tenant):
    created = await backend.create_entity(tenant, compute(SMALL, title="old"))
    desired = Resource(
        kind=COMPUTE,
        mixins=created.mixins,
        attributes={
            **created.attributes,
            "occi.core.title": "new",
            "occi.core.summary": "a summary",
            "occi.compute.hostname": "new-host",
            "occi.compute.state": "inactive",
            "occi.compute.cores": 16,
        },
    )
    updated = await backend.update_entity(tenant, created, desired)
    assert updated.attributes["occi.core.title"] == "new"
    assert updated.attributes["occi.core.summary"] == "a summary"
    assert updated.attributes["occi.compute.hostname"] == "new-host"
    # State is the server's; cores belong to the template (immutable there).
    assert updated.attributes["occi.compute.state"] == "active"
    assert updated.attributes["occi.compute.cores"] == 1
    assert SMALL in updated.mixins
    # Dropping an attribute removes it.
    desired.attributes.pop("occi.core.summary")
    updated = await backend.update_entity(tenant, updated, desired)
    assert "occi.core.summary" not in updated.attributes
    assert await backend.get_entity(tenant, COMPUTE, created.id) == updated


def retitled(title: str):
    def revise(current):
        return dataclasses.replace(
            current,
            mixins=list(current.mixins),
            attributes={**current.attributes, "occi.core.title": title},
        )

    return revise


async def test_a_revision_reads_and_writes_in_one_transaction(backend, tenant, statements):
    net = await backend.create_entity(tenant, network())
    created = await backend.create_entity(tenant, compute(SMALL, links=[nic(None, net.location)]))
    seen = []

    def revise(current):
        seen.append(current)
        return retitled("new")(current)

    with statements(backend.database) as executed:
        revised = await backend.revise_entity(tenant, COMPUTE, created.id, revise)
    assert seen[0].title == created.title
    assert [link.location for link in seen[0].links] == [link.location for link in created.links]
    assert revised.title == "new" and len(revised.links) == 1
    assert await backend.get_entity(tenant, COMPUTE, created.id) == revised
    if backend.database.is_sqlite:
        begins = [s for s in executed if s.startswith("BEGIN")]
        assert begins == ["BEGIN IMMEDIATE"], executed


async def test_a_refused_revision_changes_nothing(backend, tenant):
    created = await backend.create_entity(tenant, compute(SMALL, title="old"))

    def refuse(current):
        raise InvalidRequestError("no")

    with pytest.raises(InvalidRequestError):
        await backend.revise_entity(tenant, COMPUTE, created.id, refuse)
    assert (await backend.get_entity(tenant, COMPUTE, created.id)).title == "old"
    with pytest.raises(EntityNotFoundError):
        await backend.revise_entity(tenant, COMPUTE, str(uuid.uuid4()), retitled("x"))


async def test_the_default_revision_gets_then_updates_to_the_same_result(backend, tenant):
    one = await backend.create_entity(tenant, compute(SMALL, title="a"))
    two = await backend.create_entity(tenant, compute(SMALL, title="a"))
    by_sim = await backend.revise_entity(tenant, COMPUTE, one.id, retitled("b"))
    by_default = await Backend.revise_entity(backend, tenant, COMPUTE, two.id, retitled("b"))
    assert by_default.title == by_sim.title == "b"
    assert {**by_default.attributes, "occi.core.id": None} == {
        **by_sim.attributes,
        "occi.core.id": None,
    }
    assert by_default.mixins == by_sim.mixins


async def test_a_new_resource_template_resizes(make_backend, tenant):
    backend = make_backend(quotas=Quotas(cores=5))
    created = await backend.create_entity(tenant, compute(SMALL))
    desired = Resource(kind=COMPUTE, mixins=[UBUNTU, LARGE], attributes=dict(created.attributes))
    resized = await backend.update_entity(tenant, created, desired)
    assert resized.mixins == [UBUNTU, LARGE]
    assert resized.attributes["occi.compute.cores"] == 4
    assert resized.attributes["occi.compute.memory"] == 4.0
    assert resized.attributes["occi.compute.ephemeral_storage.size"] == 40.0
    # Growing past the quota is refused and changes nothing.
    second = await backend.create_entity(tenant, compute(SMALL))
    with pytest.raises(QuotaExceededError, match="cores: the limit is 5, 5 in use"):
        await backend.update_entity(
            tenant, second, Resource(kind=COMPUTE, mixins=[UBUNTU, MEDIUM], attributes={})
        )
    assert (await backend.get_entity(tenant, COMPUTE, second.id)).mixins == [UBUNTU, SMALL]
    # Shrinking frees cores.
    await backend.update_entity(
        tenant, resized, Resource(kind=COMPUTE, mixins=[UBUNTU, SMALL], attributes={})
    )
    await backend.update_entity(
        tenant, second, Resource(kind=COMPUTE, mixins=[UBUNTU, MEDIUM], attributes={})
    )


async def test_without_a_template_sizes_change_directly(backend, tenant):
    created = await backend.create_entity(
        tenant, compute(attributes={"occi.compute.cores": 2, "occi.compute.memory": 2.0})
    )
    desired = Resource(
        kind=COMPUTE,
        mixins=created.mixins,
        attributes={**created.attributes, "occi.compute.cores": 6},
    )
    resized = await backend.update_entity(tenant, created, desired)
    assert resized.attributes["occi.compute.cores"] == 6
    # Dropping a template keeps the sizes it gave.
    templated = await backend.create_entity(tenant, compute(MEDIUM))
    dropped = await backend.update_entity(
        tenant,
        templated,
        Resource(kind=COMPUTE, mixins=[UBUNTU], attributes=dict(templated.attributes)),
    )
    assert dropped.mixins == [UBUNTU]
    assert dropped.attributes["occi.compute.cores"] == 2
    assert "occi.compute.ephemeral_storage.size" not in dropped.attributes
    await assert_declared(backend, tenant, dropped)


async def test_a_new_os_template_rebuilds(backend, tenant):
    created = await backend.create_entity(tenant, compute(UBUNTU, SMALL))
    rebuilt = await backend.update_entity(
        tenant,
        created,
        Resource(kind=COMPUTE, mixins=[DEBIAN, SMALL], attributes=dict(created.attributes)),
    )
    assert rebuilt.mixins == [DEBIAN, SMALL]
    # Leaving the os_tpl out keeps the image: a compute always has one.
    kept = await backend.update_entity(
        tenant, rebuilt, Resource(kind=COMPUTE, mixins=[SMALL], attributes={})
    )
    assert kept.mixins == [DEBIAN, SMALL]


async def test_resize_is_refused_in_error(backend, tenant, database):
    created = await backend.create_entity(tenant, compute(SMALL))
    with database.transaction() as connection:
        connection.exec_driver_sql("UPDATE sim_entities SET state = 'error'")
    with pytest.raises(ConflictError, match="it is in error"):
        await backend.update_entity(
            tenant, created, Resource(kind=COMPUTE, mixins=[UBUNTU, LARGE], attributes={})
        )


async def test_delete(backend, tenant):
    created = await backend.create_entity(tenant, compute())
    await backend.delete_entity(tenant, created)
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, COMPUTE, created.id)
    with pytest.raises(EntityNotFoundError):
        await backend.delete_entity(tenant, created)
