"""Read your writes on the sim (with simulated time: computes boot and images are saved in
`TRANSITION` seconds), on EC2 (moto), on the memory backend and on OpenNebula (a real
oned with dummy drivers): the shared checks of `readwrites`."""

from __future__ import annotations

import pytest

from e2e.conftest import EC2_OS_TPL, EC2_RESOURCE_TPL
from e2e.occiclient import DEBIAN, SMALL
from e2e.server import RunningServer
from readwrites import (  # noqa: F401 (the shared tests, run on this module's fixtures)
    WritesOffer,
    figures,
    occi,
    test_a_created_entity_reads_at_once,
    test_a_deleted_entity_is_gone_from_every_read,
    test_a_detached_link_is_gone_from_every_read,
    test_a_saved_image_starts_computes_once_ready_and_is_offered_only_then,
    test_deleting_a_storage_still_being_created_succeeds_or_says_when,
)

pytestmark = [pytest.mark.e2e, pytest.mark.backends("sim", "ec2", "memory", "opennebula")]

#: Seconds a simulated boot, stop or image save takes.
TRANSITION = 3
SIM_CONFIG = f"[backend_settings]\ntransition_seconds = {TRANSITION}\n"


@pytest.fixture(scope="module")
def writes_offer(
    request: pytest.FixtureRequest, backend_name: str, server: RunningServer
) -> WritesOffer:
    if backend_name.startswith("sim"):
        return WritesOffer(backend_name, DEBIAN, SMALL, saved_image_ready_at_once=False)
    if backend_name == "memory":
        offer = request.getfixturevalue("offer")
        return WritesOffer("memory", offer.image, offer.small, saved_image_ready_at_once=True)
    if backend_name == "opennebula":
        offer = request.getfixturevalue("offer")
        # oned writes a saved image in the background: ready at once or a moment later.
        return WritesOffer("opennebula", offer.image, offer.small, network_prefix="10.60")
    images = request.getfixturevalue("moto").images
    return WritesOffer(
        "ec2",
        EC2_OS_TPL + images["debian-12"],
        EC2_RESOURCE_TPL + "t3_micro",
        network_prefix="172.31",
        saved_image_ready_at_once=True,
    )
