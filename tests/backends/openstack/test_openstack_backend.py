"""The openstack backend as the server configures it: chosen by name, its settings checked."""

from __future__ import annotations

import pytest

from pyocci.backends.api import Tenant
from pyocci.backends.errors import NotSupportedError
from pyocci.backends.openstack import OpenStackBackend, OpenStackSettings
from pyocci.model import Resource, standard_model
from pyocci.model.infrastructure import COMPUTE, NETWORK, NETWORKINTERFACE, STORAGE, STORAGELINK
from pyocci.server.backends import open_backend
from pyocci.server.config import ConfigError, ServerConfig

pytestmark = pytest.mark.anyio


async def test_openstack_is_chosen_and_no_call_is_made_at_start() -> None:
    # A closed port: opening must not need the cloud to answer.
    settings = {"token": "admin:admin", "compute_endpoint": "http://127.0.0.1:9/v2.1"}
    config = ServerConfig(backend="openstack", backend_settings=settings)
    backend = await open_backend(config, standard_model(), database=None)  # type: ignore[arg-type]
    assert isinstance(backend.inner, OpenStackBackend)
    assert backend.inner.settings.compute_endpoint == "http://127.0.0.1:9/v2.1"
    await backend.close()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"cloud": "a", "paeg_size": 5}, r"backend_settings\.paeg_size: unknown setting"),
        ({}, "name the cloud one way"),
        ({"cloud": "a", "retry_after": -1}, r"backend_settings\.retry_after: .* greater than"),
    ],
)
async def test_bad_settings_are_a_config_error_naming_the_key(settings, message) -> None:
    config = ServerConfig(backend="openstack", backend_settings=settings)
    with pytest.raises(ConfigError, match="the openstack backend's settings: " + message):
        await open_backend(config, standard_model(), database=None)  # type: ignore[arg-type]


async def test_the_backends_offered_include_openstack() -> None:
    config = ServerConfig(backend="nimbus", backend_settings={})
    with pytest.raises(ConfigError, match="openstack"):
        await open_backend(config, standard_model(), database=None)  # type: ignore[arg-type]


async def test_only_the_services_served_are_in_the_capabilities() -> None:
    compute = "http://127.0.0.1:9/v2.1"
    only_nova = OpenStackBackend(
        model=standard_model(),
        settings=OpenStackSettings.from_dict({"token": "t", "compute_endpoint": compute}),
    )
    kinds = only_nova.capabilities.kinds
    assert COMPUTE.id in kinds
    assert not {STORAGE.id, NETWORK.id, NETWORKINTERFACE.id, STORAGELINK.id} & kinds
    everything = OpenStackBackend(
        model=standard_model(),
        settings=OpenStackSettings.from_dict(
            {
                "token": "t",
                "compute_endpoint": compute,
                "volume_endpoint": "http://127.0.0.1:9/v3",
                "network_endpoint": "http://127.0.0.1:9",
            }
        ),
    )
    served = {COMPUTE.id, STORAGE.id, NETWORK.id, NETWORKINTERFACE.id, STORAGELINK.id}
    assert served <= everything.capabilities.kinds
    # A kind of a service not served is 501, not a cloud error.
    with pytest.raises(NotSupportedError, match="does not serve"):
        await only_nova.create_entity(Tenant("t"), Resource(kind=STORAGE.id, attributes={}))
