"""The OpenNebula backend's settings and entry point: what [backend_settings] may say."""

from __future__ import annotations

import pytest

from pyocci.backends.deadline import DEFAULT_DEADLINE
from pyocci.backends.opennebula import OpenNebulaSettings, build
from pyocci.backends.registry import BackendSetup, installed
from pyocci.model import standard_model

SERVICE = {"username": "occi", "password": "secret"}


def test_the_backend_is_an_installed_entry_point() -> None:
    assert "opennebula" in installed()


def test_defaults_offer_three_sizes_through_a_local_oned() -> None:
    settings = OpenNebulaSettings.from_dict(SERVICE)
    assert settings.endpoint == "http://127.0.0.1:2633/RPC2"
    assert set(settings.sizes) == {"small", "medium", "large"}
    assert settings.credentials == "service"


def test_sizes_are_read_as_cpu_vcpu_and_memory() -> None:
    settings = OpenNebulaSettings.from_dict(
        {**SERVICE, "sizes": {"tiny": {"cpu": 0.1, "vcpu": 1, "memory": 0.25}}}
    )
    assert settings.sizes["tiny"].memory == 0.25
    assert settings.sizes["tiny"].vcpu == 1


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({}, "needs username and password"),
        ({**SERVICE, "endpoint": "one.example.org:2633"}, "backend_settings.endpoint"),
        ({**SERVICE, "credentials": "someone"}, "backend_settings.credentials"),
        ({**SERVICE, "sizes": {"Big One": {"cpu": 1, "vcpu": 1, "memory": 1}}}, "sizes.Big One"),
        ({**SERVICE, "sizes": {"big": {"cpu": 1, "vcpu": 0, "memory": 1}}}, "sizes.big.vcpu"),
        ({**SERVICE, "default_size": "huge"}, "backend_settings.default_size"),
        ({**SERVICE, "timeout": 0}, "backend_settings.timeout"),
        ({**SERVICE, "endpont": "http://x"}, "did you mean 'endpoint'"),
    ],
)
def test_a_mistake_is_named(data: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        OpenNebulaSettings.from_dict(data)


def test_callers_credentials_need_no_service_account() -> None:
    settings = OpenNebulaSettings.from_dict({"credentials": "caller"})
    assert settings.username is None


def test_build_refuses_a_timeout_beyond_the_cloud_deadline() -> None:
    setup = BackendSetup(
        model=standard_model(),
        database=None,
        settings={**SERVICE, "timeout": DEFAULT_DEADLINE + 1},
    )
    with pytest.raises(ValueError, match="cloud_deadline"):
        build(setup)


def test_build_refuses_passing_credentials_through_without_auth() -> None:
    setup = BackendSetup(model=standard_model(), database=None, settings={"credentials": "caller"})
    with pytest.raises(ValueError, match=r"\[auth\] method"):
        build(setup)


def test_build_makes_the_backend_without_asking_oned() -> None:
    backend = build(BackendSetup(model=standard_model(), database=None, settings=SERVICE))
    assert backend.name == "opennebula"
    assert backend.capabilities.supports_kind("http://schemas.ogf.org/occi/infrastructure#compute")
