"""Choosing the backend from the configuration: the ec2 entry and its settings, and the
cloud deadline every backend is served with."""

from __future__ import annotations

import json

import pytest

from pyocci.backends.bounded import DeadlineBackend
from pyocci.backends.ec2 import Ec2Backend
from pyocci.model import standard_model
from pyocci.server.backends import open_backend
from pyocci.server.config import ConfigError, ServerConfig

pytestmark = pytest.mark.anyio


async def test_ec2_settings_are_read_and_no_ec2_call_is_made_at_start(tmp_path):
    # The endpoint is a closed port: opening must not need EC2 to answer.
    settings = {"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:9", "tenancy": "account"}
    config = ServerConfig(backend="ec2", backend_settings=settings)
    backend = await open_backend(config, standard_model(), database=None)  # type: ignore[arg-type]
    assert isinstance(backend, DeadlineBackend) and isinstance(backend.inner, Ec2Backend)
    ec2 = backend.inner
    assert ec2.settings.region == "eu-west-1" and ec2.settings.tenancy == "account"
    await backend.close()


async def test_the_backend_is_served_with_the_configured_deadline_and_sized_by_it():
    settings = {"endpoint_url": "http://127.0.0.1:9", "max_attempts": 2, "connect_timeout": 1}
    config = ServerConfig.from_json(
        json.dumps(
            {"backend": "ec2", "limits": {"cloud_deadline": 9}, "backend_settings": settings}
        )
    )
    backend = await open_backend(config, standard_model(), database=None)  # type: ignore[arg-type]
    assert backend.seconds == 9.0
    client = backend.inner.ec2.api.client
    # Two attempts of 1 s to connect and 3 s to read, and up to 1 s between them: 9 s.
    assert client.meta.config.connect_timeout == 1.0
    assert client.meta.config.read_timeout == 3.0
    assert client.meta.config.retries["total_max_attempts"] == 2
    await backend.close()


async def test_ec2_timeouts_longer_than_the_deadline_are_a_config_error():
    settings = {"max_attempts": 3, "connect_timeout": 5, "read_timeout": 60}
    config = ServerConfig(backend="ec2", backend_settings=settings)
    with pytest.raises(ConfigError, match=r"longer than \[limits\] cloud_deadline \(30 s\)"):
        await open_backend(config, standard_model(), database=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"regoin": "eu-west-1"}, "backend_settings.regoin: unknown setting; did you mean"),
        ({"tenancy": "everyone"}, "backend_settings.tenancy: Input should be 'tag' or 'account'"),
        ({"max_attempts": 0}, "backend_settings.max_attempts: .* greater than or equal to 1"),
    ],
)
async def test_bad_ec2_settings_are_a_config_error_naming_the_key(settings, message):
    config = ServerConfig(backend="ec2", backend_settings=settings)
    with pytest.raises(ConfigError, match="the ec2 backend's settings: " + message):
        await open_backend(config, standard_model(), database=None)  # type: ignore[arg-type]
