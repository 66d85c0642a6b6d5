"""OS templates on moto's EC2: only AMIs that can start a compute now are offered; an AMI
EC2 is still making (``pending``) is refused with 409 and Retry-After until it is
available, then offered without waiting for the templates to be read again. A tenant
deletes the AMIs its saves made (and their snapshots), and no other.

moto makes every AMI it creates available at once, but loads AMIs of any state
from the file named by ``MOTO_AMIS_PATH``: a second moto server, started with
one ``pending`` AMI there, holds a real pending AMI for these tests.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from ec2_helpers import COMPUTE_ACTION, compute, image

from motoserver import MotoServer, moto_server
from pyocci.backends.ec2 import Ec2Backend, Ec2Settings
from pyocci.backends.ec2.catalogue import OS_TPL_SCHEME
from pyocci.backends.ec2.saved_images import SAVED_TAG
from pyocci.backends.errors import BusyError, ConflictError, EntityNotFoundError
from pyocci.model import standard_model

pytestmark = pytest.mark.anyio

#: moto's account: AMIs it owns are the configured owner "self".
ACCOUNT = "123456789012"
PENDING = "ami-0feedc0ffee123456"


async def offered(backend: Ec2Backend, tenant) -> set[str]:
    return {mixin.id for mixin in await backend.provider_mixins(tenant)}


# --- on the shared moto server ------------------------------------------------------------


async def test_an_ami_that_is_not_available_is_not_offered(make_backend, tenant, images, ec2):
    ec2.disable_image(ImageId=images["rocky-9"])
    backend = make_backend()
    templates = await offered(backend, tenant)
    assert image(images["rocky-9"]) not in templates
    assert image(images["debian-12"]) in templates
    # Disabled is no state EC2 leaves by itself: no "try again", the mixin is unknown.
    assert await backend.pending_template(tenant, image(images["rocky-9"])) is None


async def test_only_pending_amis_of_this_cloud_are_pending_templates(backend, tenant, images):
    assert await backend.pending_template(tenant, image(images["debian-12"])) is None
    assert await backend.pending_template(tenant, image("ami-0123456789abcdef0")) is None
    assert await backend.pending_template(tenant, image("not-an-ami")) is None
    other_scheme = "http://schemas.example.org/os_tpl#" + images["debian-12"]
    assert await backend.pending_template(tenant, other_scheme) is None


async def test_a_saved_ami_is_the_answer_at_once_and_offered_when_available(
    backend, tenant, images, ec2
):
    machine = await backend.create_entity(tenant, compute(images["debian-12"]))
    before = await offered(backend, tenant)
    outcome = await backend.trigger_action(tenant, machine, COMPUTE_ACTION + "save", {})
    assert outcome.created is not None and outcome.created.id not in before
    # moto made it available at once: offered from the next discovery, although the
    # templates were read before the save and are kept for template_ttl.
    assert ec2.describe_images(ImageIds=[outcome.created.term])["Images"][0]["State"] == (
        "available"
    )
    assert outcome.created.id in await offered(backend, tenant)
    assert await backend.pending_template(tenant, outcome.created.id) is None


async def test_an_ami_made_elsewhere_since_the_read_is_offered_once_asked_about(
    backend, tenant, images, ec2
):
    # Made by another process (or a console) after this one read its templates: the
    # kept offer lacks it until a create asks about it, then has it at once.
    await offered(backend, tenant)
    made = ec2.copy_image(
        Name="debian-copy", SourceImageId=images["debian-12"], SourceRegion=ec2.meta.region_name
    )["ImageId"]
    assert image(made) not in await offered(backend, tenant)
    assert await backend.pending_template(tenant, image(made)) is None
    assert image(made) in await offered(backend, tenant)


async def test_a_saved_ami_the_filters_leave_out_is_never_a_template(
    make_backend, tenant, images, ec2
):
    # The owners and filters decide which AMIs are templates, a save's included: one
    # rule whether the AMI is pending, just made available, or read again later.
    filters = {"name": ["debian-*", "rocky-*"]}
    backend, fresh = make_backend(image_filters=filters), make_backend(image_filters=filters)
    await backend.open()
    await fresh.open()
    try:
        backend.ec2.catalogue.recheck_seconds = 0
        machine = await backend.create_entity(tenant, compute(images["debian-12"]))
        outcome = await backend.trigger_action(
            tenant, machine, COMPUTE_ACTION + "save", {"name": "mine"}
        )
        assert outcome.created is not None
        saved = ec2.describe_images(ImageIds=[outcome.created.term])["Images"][0]
        assert (saved["Name"], saved["State"]) == ("mine", "available")
        assert await backend.pending_template(tenant, outcome.created.id) is None
        templates = await offered(backend, tenant)
        assert outcome.created.id not in templates
        assert image(images["debian-12"]) in templates
        # Nor when the templates are read from EC2 again.
        assert outcome.created.id not in await offered(fresh, tenant)
    finally:
        await backend.close()
        await fresh.close()


async def test_a_saved_ami_is_deleted_by_its_tenant_and_no_one_else(
    backend, tenant, other, images, ec2
):
    machine = await backend.create_entity(tenant, compute(images["debian-12"]))
    outcome = await backend.trigger_action(
        tenant, machine, COMPUTE_ACTION + "save", {"name": "to-delete"}
    )
    assert outcome.created is not None
    ami = outcome.created.term
    saved = ec2.describe_images(ImageIds=[ami])["Images"][0]
    assert {"Key": SAVED_TAG, "Value": tenant.id} in saved["Tags"]
    snapshots = [m["Ebs"]["SnapshotId"] for m in saved["BlockDeviceMappings"] if "Ebs" in m]
    assert snapshots
    assert outcome.created.id in await offered(backend, tenant)
    # Another tenant's request, and the site's AMIs: nothing is deleted.
    assert not await backend.delete_template(other, outcome.created.id)
    assert not await backend.delete_template(tenant, image(images["debian-12"]))
    assert not await backend.delete_template(tenant, image("not-an-ami"))
    assert ec2.describe_images(ImageIds=[images["debian-12"], ami])["Images"]

    assert await backend.delete_template(tenant, outcome.created.id)
    assert ec2.describe_images(Filters=[{"Name": "image-id", "Values": [ami]}])["Images"] == []
    left = ec2.describe_snapshots(Filters=[{"Name": "snapshot-id", "Values": snapshots}])
    assert left["Snapshots"] == []
    assert outcome.created.id not in await offered(backend, tenant)
    # The instance it was saved from runs on.
    assert (await backend.get_entity(tenant, machine.kind, machine.id or "")).id == machine.id
    with pytest.raises(EntityNotFoundError):
        await backend.delete_template(tenant, outcome.created.id)


# --- on a moto server holding a pending AMI ----------------------------------------------------


@pytest.fixture(scope="module")
def pending_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto server of its own with one AMI in state ``pending`` (besides the test AMIs)."""
    workdir = tmp_path_factory.mktemp("moto-pending")
    amis = workdir / "amis.json"
    amis.write_text(
        json.dumps(
            [
                {
                    "ami_id": PENDING,
                    "name": "being-saved",
                    "state": "pending",
                    "architecture": "x86_64",
                    "owner_id": ACCOUNT,
                    "root_device_name": "/dev/xvda",
                }
            ]
        )
    )
    with ExitStack() as stack:
        # moto reads the variable when it starts; no other process needs it.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MOTO_AMIS_PATH", str(amis))
            server = stack.enter_context(moto_server(workdir))
        yield server


@pytest.fixture
async def on_pending(pending_moto: MotoServer) -> AsyncIterator[tuple[Ec2Backend, Any]]:
    """An Ec2Backend on the pending moto (reset), and a boto3 client of it."""
    pending_moto.reset()
    settings = Ec2Settings.from_dict(pending_moto.backend_settings())
    backend = Ec2Backend(model=standard_model(), settings=settings)
    await backend.open()
    yield backend, pending_moto.client()
    await backend.close()


async def test_a_pending_ami_is_not_offered_and_is_a_pending_template(
    on_pending, pending_moto, tenant
):
    backend, ec2 = on_pending
    assert ec2.describe_images(ImageIds=[PENDING])["Images"][0]["State"] == "pending"
    templates = await offered(backend, tenant)
    assert image(PENDING) not in templates
    assert {image(ami) for ami in pending_moto.images.values()} <= templates
    busy = await backend.pending_template(tenant, OS_TPL_SCHEME + PENDING)
    assert isinstance(busy, BusyError)
    assert busy.retry_after == 2  # the configured retry_after
    assert f"the AMI {PENDING}" in str(busy) and "(state pending)" in str(busy)


async def test_a_create_naming_a_pending_ami_is_busy_and_launches_nothing(on_pending, tenant):
    backend, ec2 = on_pending
    with pytest.raises(BusyError, match=r"\(state pending\); try again in 2 s"):
        await backend.create_entity(tenant, compute(PENDING))
    assert ec2.describe_instances()["Reservations"] == []


async def test_a_pending_ami_is_offered_once_ec2_makes_it_available(on_pending, tenant):
    backend, ec2 = on_pending
    # Ask EC2 about pending AMIs on every discovery (not at most once a second).
    backend.ec2.catalogue.recheck_seconds = 0
    assert image(PENDING) not in await offered(backend, tenant)
    ec2.enable_image(ImageId=PENDING)  # moto's way of making it available
    assert image(PENDING) in await offered(backend, tenant)
    assert await backend.pending_template(tenant, image(PENDING)) is None
    created = await backend.create_entity(tenant, compute(PENDING))
    assert image(PENDING) in created.mixins


async def test_a_saved_ami_ec2_is_still_making_is_not_deleted(on_pending, tenant):
    backend, ec2 = on_pending
    # As a save leaves it until EC2 has made it.
    tags = [*backend.ec2.tenancy.tags(tenant), {"Key": SAVED_TAG, "Value": tenant.id}]
    ec2.create_tags(Resources=[PENDING], Tags=tags)
    with pytest.raises(ConflictError, match=r"still being made \(EC2 state pending\)"):
        await backend.delete_template(tenant, image(PENDING))
    assert ec2.describe_images(ImageIds=[PENDING])["Images"][0]["State"] == "pending"


async def test_an_ami_ec2_drops_while_pending_is_never_offered(on_pending, tenant):
    backend, ec2 = on_pending
    backend.ec2.catalogue.recheck_seconds = 0
    assert image(PENDING) not in await offered(backend, tenant)
    ec2.deregister_image(ImageId=PENDING)
    assert image(PENDING) not in await offered(backend, tenant)
    assert await backend.pending_template(tenant, image(PENDING)) is None
