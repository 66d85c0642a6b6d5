"""OpenStack backend fixtures: one real Nova process for the session.

``nova`` (from `tests/novafixture.py`, shared with the end-to-end tests)
installs Nova into its own cached virtual environment on first use (a minute
or two) and starts it on a free loopback port (about ten seconds); see
`tests/novaserver.py`. Without Nova the tests fail with the reason, unless
``PYOCCI_SKIP_NOVA=1`` says to skip them. Every test here is marked
``openstack``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cinder_fixtures import (  # noqa: F401
    capped_cinder,
    cinder,
    cinder_sdk,
    cinder_without_backup,
    nova_with_cinder,
)
from glance_fixtures import (  # noqa: F401
    glance,
    glance_sdk,
    nova_with_glance,
    paged_glance,
    remote_glance,
)

from novafixture import OPENSTACK_MARKER, session_nova
from novaserver import ADMIN_TOKEN, NovaServer
from openstackservice import running
from pyocci.backends.api import Tenant
from pyocci.backends.openstack import OpenStackBackend, OpenStackSettings
from pyocci.model import standard_model

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", OPENSTACK_MARKER)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this directory's tests ``openstack``: CI runs them in a stage of their own."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.openstack)


@pytest.fixture(scope="session")
def nova(request: pytest.FixtureRequest) -> NovaServer:
    """The session's Nova (one process, shared with the end-to-end tests)."""
    return session_nova(request.config)


@pytest.fixture
def sdk(nova: NovaServer) -> Any:
    """An openstacksdk connection to the Nova fixture, as its administrator."""
    import openstack

    return openstack.connect(
        auth_type="admin_token",
        auth={"token": ADMIN_TOKEN, "endpoint": nova.compute_url},
        compute_endpoint_override=nova.compute_url,
        image_endpoint_override=nova.image_url,
        load_yaml_config=False,
        load_envvars=False,
    )


@pytest.fixture
def settings(nova: NovaServer) -> OpenStackSettings:
    """Backend settings that reach the Nova fixture as its administrator."""
    return OpenStackSettings.from_dict(
        {
            "token": ADMIN_TOKEN,
            "compute_endpoint": nova.compute_url,
            "image_endpoint": nova.image_url,
            "template_ttl": 600,
        }
    )


@pytest.fixture
async def make_backend(
    settings: OpenStackSettings,
) -> AsyncIterator[Callable[..., Awaitable[OpenStackBackend]]]:
    """``await make_backend(**settings)``: an open backend on the Nova fixture."""
    made: list[OpenStackBackend] = []

    async def make(**overrides: Any) -> OpenStackBackend:
        backend = OpenStackBackend(
            model=standard_model(), settings=dataclasses.replace(settings, **overrides)
        )
        await backend.open()
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


@pytest.fixture
async def backend(make_backend: Callable[..., Awaitable[OpenStackBackend]]) -> OpenStackBackend:
    """An open OpenStackBackend on the Nova fixture."""
    return await make_backend()


@pytest.fixture
def tenant() -> Tenant:
    """A tenant with a name no other test uses, so listings see only its servers."""
    return Tenant("alice-" + uuid.uuid4().hex[:8])


@pytest.fixture
def other() -> Tenant:
    return Tenant("bob-" + uuid.uuid4().hex[:8])


@pytest.fixture(scope="module")
def capped_nova(request: pytest.FixtureRequest) -> Iterator[NovaServer]:
    """A second Nova whose pages hold at most 3 servers (``[api] max_limit = 3``)."""
    with running(NovaServer, request.config, {"api.max_limit": 3}) as server:
        yield server


# Neutron's fixtures live in their own module; importing them here makes them visible.
from cloud_fixtures import admin, cloud_config, full_nova, image  # noqa: E402, F401
from neutron_fixtures import (  # noqa: E402, F401
    cloud_api,
    cloud_sdk,
    network_api,
    networked_nova,
    neutron,
    neutron_sdk,
)
