"""rOCCI-cli 4.3 and jOCCI, unmodified, against occi-server on the whole real OpenStack cloud:
Nova booting from Glance, volumes in Cinder, networks in Neutron (see `cloud_fixtures`).
The same scenarios as on the sim and ec2 (``tests/e2e/test_thirdparty_clients.py``),
each step checked against what the client printed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.server import RunningServer, occi_server
from interop import CloudOffer, offered_actions, test_jocci, test_rocci_cli  # noqa: F401 (run on this module's fixtures)

OS_TPL = "http://schemas.pyocci.org/openstack/os_tpl#"
RESOURCE_TPL = "http://schemas.pyocci.org/openstack/resource_tpl#"
#: Nova's default flavors m1.tiny and m1.small.
TINY, SMALL = "1", "2"


@pytest.fixture(scope="module")
def server(cloud_config: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with occi_server(tmp_path_factory.mktemp("openstack-clients"), config=cloud_config) as running:
        yield running


@pytest.fixture(scope="module")
def cloud(server: RunningServer, image: str) -> CloudOffer:
    return CloudOffer(
        "openstack",
        OS_TPL + image,
        RESOURCE_TPL + TINY,
        RESOURCE_TPL + SMALL,
        offered_actions(server.url),
        # Cinder sizes volumes in whole GiB: half a GiB becomes one.
        shown_size=1.0,
    )
