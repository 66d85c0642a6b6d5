"""Glance fixtures: one real Glance process for the session, and helpers to use it.

``glance`` installs Glance into its own cached virtual environment on first
use (under a minute) and starts it on a free loopback port (a few seconds);
see `tests/glanceserver.py`. Without Glance the tests fail with the reason,
unless ``PYOCCI_SKIP_GLANCE=1`` says to skip them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from glanceserver import ADMIN_TOKEN, GlanceServer
from novaserver import NovaServer
from openstackservice import running

#: The most images a page of `paged_glance` holds.
GLANCE_PAGE = 3


@pytest.fixture(scope="session")
def glance(request: pytest.FixtureRequest) -> Iterator[GlanceServer]:
    """A running Glance for the session, stopped at the end."""
    with running(GlanceServer, request.config) as server:
        yield server


@pytest.fixture(scope="module")
def paged_glance(request: pytest.FixtureRequest) -> Iterator[GlanceServer]:
    """A second Glance whose pages hold at most `GLANCE_PAGE` images."""
    options = {"limit_param_default": GLANCE_PAGE, "api_limit_max": GLANCE_PAGE}
    with running(GlanceServer, request.config, options) as server:
        yield server


@pytest.fixture(scope="module")
def remote_glance(request: pytest.FixtureRequest) -> Iterator[GlanceServer]:
    """A Glance of another site, for exports to land in (nothing else uses it)."""
    with running(GlanceServer, request.config) as server:
        yield server


def connect(image_url: str, token: str = ADMIN_TOKEN) -> Any:
    """An openstacksdk connection to a Glance fixture, with this token."""
    import openstack

    return openstack.connect(
        auth_type="admin_token",
        auth={"token": token, "endpoint": image_url},
        image_endpoint_override=image_url,
        load_yaml_config=False,
        load_envvars=False,
    )


@pytest.fixture
def glance_sdk(glance: GlanceServer) -> Any:
    """An openstacksdk connection to the Glance fixture, as its administrator."""
    return connect(glance.image_url)


def project_token(user: str = "carol") -> str:
    """A member's token in a project no other test uses."""
    return f"{user}:p-{uuid.uuid4().hex[:8]}"


def make_image(sdk: Any, name: str, data: bytes | None = b"pyocci", **attributes: Any) -> Any:
    """An image made through `sdk`'s Glance: with `data` uploaded (active), else queued."""
    image = sdk.image.create_image(
        name,
        disk_format="raw",
        container_format="bare",
        allow_duplicates=True,
        **attributes,
    )
    if data is not None:
        image.upload(sdk.image, data=data)
    return sdk.image.get_image(image.id)


@pytest.fixture(scope="module")
def nova_with_glance(request: pytest.FixtureRequest, glance: GlanceServer) -> Iterator[NovaServer]:
    """A Nova that boots from and snapshots into the real Glance fixture (not Nova's fake
    Glance)."""
    # Nova passes each request's token on to Glance, which takes the same tokens.
    with running(NovaServer, request.config, {"glance.api_servers": [glance.image_url]}) as server:
        yield server
