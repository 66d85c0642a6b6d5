"""OpenStack backend fixtures: one real Nova process for the session.

``nova`` installs Nova into its own cached virtual environment on first use
(a minute or two) and starts it on a free loopback port (about ten seconds);
see `tests/novaserver.py`. Without Nova the tests fail with the reason, unless
``PYOCCI_SKIP_NOVA=1`` says to skip them.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from novaserver import ADMIN_TOKEN, SKIP_VARIABLE, NovaServer, NovaUnavailableError
from pyocci.backends.base import Tenant
from pyocci.backends.openstack import OpenStackBackend, OpenStackSettings
from pyocci.model import standard_model


@pytest.fixture(scope="session")
def nova(request: pytest.FixtureRequest) -> Iterator[NovaServer]:
    """A running Nova for the session, stopped at the end."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: tests against Nova skipped")
    try:
        server = NovaServer.find_or_install(request.config.cache.mkdir("pyocci-nova"))
        server.start()
    except NovaUnavailableError as error:
        pytest.fail(f"Nova unavailable: {error} (set {SKIP_VARIABLE}=1 to skip)")
    try:
        yield server
    finally:
        server.stop()
        server.remove_log()


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
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: tests against Nova skipped")
    try:
        found = NovaServer.find_or_install(request.config.cache.mkdir("pyocci-nova"))
        server = NovaServer(found.python, {"api.max_limit": 3})
        server.start()
    except NovaUnavailableError as error:
        pytest.fail(f"Nova unavailable: {error} (set {SKIP_VARIABLE}=1 to skip)")
    try:
        yield server
    finally:
        server.stop()
        server.remove_log()
