"""EC2 backend fixtures: one moto server for the session, reset for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from motoserver import MotoServer, moto_server
from pyocci.backends.api import Tenant
from pyocci.backends.ec2 import Ec2Backend, Ec2Settings
from pyocci.model import standard_model


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto EC2 server with the test AMIs, for the whole session."""
    with moto_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def images(moto: MotoServer) -> dict[str, str]:
    """A clean moto with the test AMIs registered again: name -> AMI id."""
    return moto.reset()


@pytest.fixture
def make_backend(moto: MotoServer, images: dict[str, str]) -> Callable[..., Ec2Backend]:
    """``make_backend(**settings)``: an Ec2Backend on the moto server."""

    def make(**overrides: Any) -> Ec2Backend:
        settings = Ec2Settings.from_dict(moto.backend_settings(**overrides))
        return Ec2Backend(model=standard_model(), settings=settings)

    return make


@pytest.fixture
async def backend(make_backend: Callable[..., Ec2Backend]) -> AsyncIterator[Ec2Backend]:
    backend = make_backend()
    await backend.open()
    yield backend
    await backend.close()


@pytest.fixture
def ec2(moto: MotoServer, images: dict[str, str]) -> Any:
    """A boto3 client of the same moto server: EC2 as a console user sees it."""
    return moto.client()


@pytest.fixture
def tenant() -> Tenant:
    return Tenant("alice")


@pytest.fixture
def other() -> Tenant:
    return Tenant("bob")
