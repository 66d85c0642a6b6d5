"""A whole OpenStack cloud on loopback: a Nova that uses the real Glance, Cinder and Neutron
(not its own fakes), an image to boot, the administrator's view of every service, and the
occi-server configuration that serves them all. One per session: the modules that drive
the whole cloud over HTTP share it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from glance_fixtures import connect as glance_connection
from glance_fixtures import make_image

from cinderserver import CinderServer
from glanceserver import GlanceServer
from motoserver import toml_settings
from neutronserver import NeutronServer
from novaserver import ADMIN_TOKEN, NovaServer
from openstackservice import running


@pytest.fixture(scope="session")
def full_nova(
    request: pytest.FixtureRequest,
    glance: GlanceServer,
    cinder: CinderServer,
    neutron: NeutronServer,
) -> Iterator[NovaServer]:
    """A Nova that uses the real Glance, Cinder and Neutron (not its own fakes)."""
    options = {
        "glance.api_servers": [glance.image_url],
        "cinder.endpoint_template": cinder.volume_url,
        "neutron.endpoint_override": neutron.url,
    }
    with running(NovaServer, request.config, options) as server:
        yield server


@pytest.fixture(scope="module")
def admin(
    full_nova: NovaServer, glance: GlanceServer, cinder: CinderServer, neutron: NeutronServer
) -> Iterator[Any]:
    """openstacksdk on every service, as the clouds' administrator: the other side's view."""
    import openstack

    connection = openstack.connect(
        auth_type="admin_token",
        auth={"token": ADMIN_TOKEN, "endpoint": full_nova.compute_url},
        compute_endpoint_override=full_nova.compute_url,
        image_endpoint_override=glance.image_url,
        block_storage_endpoint_override=cinder.volume_url,
        network_endpoint_override=neutron.url,
        load_yaml_config=False,
        load_envvars=False,
    )
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def image(glance: GlanceServer) -> str:
    """A bootable image in the real Glance (with data, so active)."""
    sdk = glance_connection(glance.image_url)
    try:
        return make_image(sdk, "occi-cloud-test", visibility="public").id
    finally:
        sdk.close()


@pytest.fixture(scope="session")
def cloud_config(
    full_nova: NovaServer,
    glance: GlanceServer,
    cinder: CinderServer,
    neutron: NeutronServer,
    image: str,
) -> str:
    """The occi-server configuration serving every service of the cloud."""
    settings = {
        "token": ADMIN_TOKEN,
        "compute_endpoint": full_nova.compute_url,
        "image_endpoint": glance.image_url,
        "volume_endpoint": cinder.volume_url,
        "network_endpoint": neutron.url,
    }
    return 'backend = "openstack"\n' + toml_settings(settings)
