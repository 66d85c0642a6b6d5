"""Choosing the backend from the configuration: the ec2 entry and its settings."""

from __future__ import annotations

import pytest

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
    assert isinstance(backend, Ec2Backend)
    assert backend.settings.region == "eu-west-1" and backend.settings.tenancy == "account"
    await backend.close()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"regoin": "eu-west-1"}, "unknown setting regoin"),
        ({"tenancy": "everyone"}, "tenancy must be one of"),
        ({"max_attempts": 0}, "max_attempts must be a positive integer"),
    ],
)
async def test_bad_ec2_settings_are_a_config_error_naming_the_key(settings, message):
    config = ServerConfig(backend="ec2", backend_settings=settings)
    with pytest.raises(ConfigError, match="backend_settings for ec2: " + message):
        await open_backend(config, standard_model(), database=None)  # type: ignore[arg-type]
