"""The OCCI clients in the field against occi-server: rOCCI-cli 4.3 and jOCCI, unmodified.

rOCCI-cli runs every command it has in text/plain, in text/occi and with its
default ``Content-Type: text/plain,text/occi``; jOCCI runs its example
program in text/plain and text/occi. Each step checks what the client
printed (the entity, its state, its links), on the sim (SQLite and
PostgreSQL), on ec2 (moto) and on opennebula (a real oned, dummy drivers); the
OpenStack backend's run, against the real Nova, Glance, Cinder and Neutron, is
in ``tests/backends/openstack``. The
clients are built from ``shared/clients`` (see `occiclients`).
"""

from __future__ import annotations

import httpx
import pytest

from e2e.occiclient import DEBIAN, LARGE, OCCI_JSON, SMALL, TEXT_PLAIN
from e2e.server import EC2_OS_TPL, EC2_RESOURCE_TPL, RunningServer
from interop import CloudOffer, offered_actions, test_jocci, test_rocci_cli  # noqa: F401 (run on this module's fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.backends("sim", "ec2", "opennebula")]


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest, backend_name: str, server: RunningServer) -> CloudOffer:
    """What the module's backend offers the clients."""
    actions = offered_actions(server.url)
    if backend_name.startswith("sim"):
        return CloudOffer(backend_name, DEBIAN, SMALL, LARGE, actions, shows_user_data=True)
    if backend_name == "opennebula":
        offer = request.getfixturevalue("offer")
        return CloudOffer(
            backend_name,
            offer.image,
            offer.small,
            offer.large,
            actions,
            # Images are whole MiB: half a GiB stays half a GiB.
            shown_size=0.5,
        )
    images = request.getfixturevalue("moto").images
    return CloudOffer(
        backend_name,
        EC2_OS_TPL + images["debian-12"],
        EC2_RESOURCE_TPL + "t3_micro",
        EC2_RESOURCE_TPL + "m5_large",
        # EC2 suspends (hibernates) only instances launched for it: 501 otherwise.
        actions - {"suspend"},
        # EBS volumes are whole GiB: half a GiB becomes one.
        shown_size=1.0,
        # A network is a subnet of moto's default VPC.
        network_address="172.31.200.0/24",
    )


def test_a_1_2_client_still_reads_the_whole_model(server: RunningServer) -> None:
    """The 1.1 forms are for the clients that do not claim OCCI/1.2."""
    with server.client() as occi12:  # User-Agent: ... OCCI/1.2
        text = occi12.get("/-/", headers={"Accept": TEXT_PLAIN}).text
        document = occi12.get("/-/", headers={"Accept": OCCI_JSON}).json()
    assert "occi.compute.state.message" in text
    compute = next(k for k in document["kinds"] if k["term"] == "compute")
    assert "occi.compute.state.message" in compute["attributes"]
    older = httpx.get(server.url.rstrip("/") + "/-/", headers={"Accept": TEXT_PLAIN}).text
    assert "occi.compute.state{" in older and "occi.compute.state.message" not in older
