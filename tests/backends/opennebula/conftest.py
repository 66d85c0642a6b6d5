"""OpenNebula backend fixtures: one real oned for the session.

``one_cloud`` (from `tests/opennebula_cloud.py`, to be shared with other
test directories) builds oned once (cached), starts a fresh cloud for the
session and provisions it: a dummy host, datastores and network, an image
and a VM template. Without it the tests skip, saying why. Every test here is
marked ``opennebula``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from opennebula_cloud import OPENNEBULA_MARKER, OneCloud, session_cloud
from pyocci.backends.api import Tenant
from pyocci.model import standard_model

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", OPENNEBULA_MARKER)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark this directory's tests ``opennebula``, but for those that need no oned."""
    for item in items:
        if HERE in item.path.parents and "one_cloud" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.opennebula)


@pytest.fixture(scope="session")
def one_cloud(request: pytest.FixtureRequest) -> OneCloud:
    """The session's oned, provisioned."""
    return session_cloud(request.config)


@pytest.fixture
def service_settings(one_cloud: OneCloud) -> dict[str, Any]:
    """``[backend_settings]`` acting through oneadmin as the service account."""
    user, password = one_cloud.admin_session.split(":", 1)
    return {
        "endpoint": one_cloud.endpoint,
        "username": user,
        "password": password,
        # Each test's tenants apart from every other test's.
        "tenant_prefix": f"occi-{uuid.uuid4().hex[:6]}-",
        "template_ttl": 1,
        "image_datastore": one_cloud.provisioned.image_datastore_id,
        "network_template": str(one_cloud.provisioned.vn_template_id),
    }


@pytest.fixture
async def make_backend(
    service_settings: dict[str, Any],
) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """``await make_backend(**settings)``: an open backend on the session's oned."""
    from pyocci.backends.opennebula import OpenNebulaBackend, OpenNebulaSettings

    made: list[OpenNebulaBackend] = []

    async def make(**overrides: Any) -> OpenNebulaBackend:
        settings = OpenNebulaSettings.from_dict({**service_settings, **overrides})
        backend = OpenNebulaBackend(model=standard_model(), settings=settings)
        await backend.open()
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


@pytest.fixture
async def backend(make_backend: Callable[..., Awaitable[Any]]) -> Any:
    """An open OpenNebulaBackend with the service account."""
    return await make_backend()


@pytest.fixture
def tenant() -> Tenant:
    return Tenant("alice-" + uuid.uuid4().hex[:8])


@pytest.fixture
def other() -> Tenant:
    return Tenant("bob-" + uuid.uuid4().hex[:8])
