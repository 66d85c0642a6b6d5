"""Cinder fixtures: one real Cinder process for the session, and helpers to wait on it.

``cinder`` installs Cinder into its own cached virtual environment on first
use (under a minute) and starts it on a free loopback port (about five
seconds); see `tests/cinderserver.py`. Without Cinder the tests fail with
the reason, unless ``PYOCCI_SKIP_CINDER=1`` says to skip them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cinderserver import ADMIN_TOKEN, CinderServer
from novaserver import NovaServer
from openstackservice import running
from polling import eventually

#: The longest a test waits for Cinder's asynchronous work (a volume to become available).
SETTLE_SECONDS = 60


@pytest.fixture(scope="session")
def cinder(request: pytest.FixtureRequest) -> Iterator[CinderServer]:
    """A running Cinder (with its backup service) for the session, stopped at the end."""
    with running(CinderServer, request.config) as server:
        yield server


@pytest.fixture(scope="module")
def cinder_without_backup(request: pytest.FixtureRequest) -> Iterator[CinderServer]:
    """A second Cinder that runs no backup service."""
    with running(CinderServer, request.config, backup=False) as server:
        yield server


@pytest.fixture(scope="module")
def capped_cinder(request: pytest.FixtureRequest) -> Iterator[CinderServer]:
    """A Cinder whose pages hold at most 2 volumes (``osapi_max_limit = 2``)."""
    with running(CinderServer, request.config, {"osapi_max_limit": 2}, backup=False) as server:
        yield server


def connect(volume_url: str, token: str = ADMIN_TOKEN) -> Any:
    """An openstacksdk connection to a Cinder fixture, with this token."""
    import openstack

    return openstack.connect(
        auth_type="admin_token",
        auth={"token": token, "endpoint": volume_url},
        block_storage_endpoint_override=volume_url,
        load_yaml_config=False,
        load_envvars=False,
    )


@pytest.fixture
def cinder_sdk(cinder: CinderServer) -> Any:
    """An openstacksdk connection to the Cinder fixture, as its administrator."""
    return connect(cinder.volume_url)


def settle(
    read: Callable[[], Any],
    done: Callable[[Any], bool],
    what: str,
    seconds: float = SETTLE_SECONDS,
) -> Any:
    """Read until `done` holds (the services work asynchronously); fail naming `what`
    after `seconds`.

    The last thing read is in the failure message, so a volume stuck in
    ``error`` says so.
    """
    return eventually(
        read,
        done,
        f"{what} did not happen",
        seconds=seconds,
        pause=0.2,
        failure=pytest.fail.Exception,
    )


@pytest.fixture(scope="module")
def nova_with_cinder(request: pytest.FixtureRequest, cinder: CinderServer) -> Iterator[NovaServer]:
    """A Nova that attaches volumes of the real Cinder fixture (not Nova's fake Cinder)."""
    # Nova passes each request's token on to Cinder, which takes the same tokens.
    options = {"cinder.endpoint_template": cinder.volume_url}
    with running(NovaServer, request.config, options) as server:
        yield server
