"""Neutron fixtures: one real Neutron API process for the session, and connections to it.

``neutron`` installs Neutron into its own cached virtual environment on
first use (well under a minute with pip's cache warm) and starts it on a
free loopback port (a few seconds); see `tests/neutronserver.py`. Without
Neutron the tests fail with the reason, unless ``PYOCCI_SKIP_NEUTRON=1``
says to skip them.

``network_api`` is the backend's `OpenStackApi` reaching the Neutron
fixture. ``networked_nova`` is a Nova of its own (the session's Nova keeps
its fake Neutron) that networks its servers with the Neutron fixture: ports
made by Nova at boot and through ``os-interface``, bound by Neutron, security
groups added by Nova to them. ``cloud_api`` and ``cloud_sdk`` reach that Nova
and the Neutron fixture together, as the service account.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import anyio.to_thread
import pytest

from neutronserver import ADMIN_TOKEN, NeutronServer
from novaserver import NovaServer
from openstackservice import running
from pyocci.backends.openstack.api import OpenStackApi
from pyocci.backends.openstack.settings import OpenStackSettings
from pyocci.model import standard_model


def connect(neutron: NeutronServer, token: str = ADMIN_TOKEN, compute_url: str = "") -> Any:
    """An openstacksdk connection to the Neutron fixture (and Nova's, if given)."""
    import openstack

    options: dict[str, Any] = {"network_endpoint_override": neutron.url}
    if compute_url:
        options["compute_endpoint_override"] = compute_url
    return openstack.connect(
        auth_type="admin_token",
        auth={"token": token, "endpoint": compute_url or neutron.url},
        load_yaml_config=False,
        load_envvars=False,
        **options,
    )


async def _run_blocking(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))


def locate(kind_id: str, entity_id: str) -> str:
    """Where the server would put an entity (the backend's `location_of`)."""
    return standard_model().location_of(kind_id, entity_id)


@pytest.fixture(scope="session")
def neutron(request: pytest.FixtureRequest) -> Iterator[NeutronServer]:
    """A running Neutron for the session, stopped at the end."""
    with running(NeutronServer, request.config) as server:
        yield server


@pytest.fixture
def neutron_sdk(neutron: NeutronServer) -> Iterator[Any]:
    """An openstacksdk connection to the Neutron fixture, as its administrator."""
    connection = connect(neutron)
    yield connection
    connection.close()


def make_api(neutron: NeutronServer, compute_url: str | None = None, **more: Any) -> OpenStackApi:
    """The backend's API object on Neutron (and Nova at `compute_url`, if given)."""
    settings = {
        "token": ADMIN_TOKEN,
        "compute_endpoint": compute_url or neutron.url,
        "network_endpoint": neutron.url,
        **more,
    }
    return OpenStackApi(OpenStackSettings.from_dict(settings), _run_blocking)


@pytest.fixture
def network_api(neutron: NeutronServer) -> Iterator[OpenStackApi]:
    """The backend's API object on Neutron only (no compute calls are made through it)."""
    api = make_api(neutron)
    yield api
    api.close()


@pytest.fixture(scope="session")
def networked_nova(request: pytest.FixtureRequest, neutron: NeutronServer) -> Iterator[NovaServer]:
    """A Nova whose servers are networked by the Neutron fixture, for the session."""
    with running(NovaServer, request.config, {"neutron.endpoint_override": neutron.url}) as server:
        yield server


@pytest.fixture
def cloud_api(neutron: NeutronServer, networked_nova: NovaServer) -> Iterator[OpenStackApi]:
    """The backend's API object on the networked Nova and the Neutron fixture together."""
    api = make_api(neutron, networked_nova.compute_url, image_endpoint=networked_nova.image_url)
    yield api
    api.close()


@pytest.fixture
def cloud_sdk(neutron: NeutronServer, networked_nova: NovaServer) -> Iterator[Any]:
    """An openstacksdk connection to the networked Nova and the Neutron fixture, as admin."""
    connection = connect(neutron, ADMIN_TOKEN, networked_nova.compute_url)
    yield connection
    connection.close()
