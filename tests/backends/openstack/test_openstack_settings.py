"""The openstack ``[backend_settings]``: one way to name the cloud, clear errors otherwise."""

from __future__ import annotations

import pytest

from pyocci.backends.openstack import OpenStackSettings


def test_a_clouds_yaml_entry_is_enough() -> None:
    settings = OpenStackSettings.from_dict({"cloud": "egi", "page_size": 500})
    assert settings.cloud == "egi"
    assert settings.page_size == 500


def test_keystone_settings() -> None:
    settings = OpenStackSettings.from_dict(
        {
            "auth_url": "https://keystone.example.org:5000/v3",
            "username": "occi",
            "password": "secret",
            "project_name": "fedcloud",
        }
    )
    assert settings.user_domain_name == "Default"


def test_callers_tokens_need_only_keystone() -> None:
    settings = OpenStackSettings.from_dict(
        {"credentials": "caller", "auth_url": "https://keystone.example.org:5000/v3"}
    )
    assert settings.passes_tokens_through
    assert not settings.has_service_account


def test_every_service_is_served_with_keystone() -> None:
    settings = OpenStackSettings.from_dict({"cloud": "egi"})
    assert settings.served == {"compute", "volume", "network"}
    only = OpenStackSettings.from_dict({"cloud": "egi", "services": ["network"]})
    assert only.served == {"compute", "network"}


def test_with_a_token_the_services_are_those_with_endpoints() -> None:
    settings = OpenStackSettings.from_dict(
        {"token": "t", "compute_endpoint": "http://n/v2.1", "network_endpoint": "http://q"}
    )
    assert settings.served == {"compute", "network"}


def test_the_service_account_is_the_default() -> None:
    settings = OpenStackSettings.from_dict({"cloud": "egi"})
    assert not settings.passes_tokens_through
    assert settings.has_service_account


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "name the cloud one way"),
        ({"cloud": "a", "token": "t", "compute_endpoint": "http://x"}, "one way"),
        ({"auth_url": "https://k/v3"}, "needs username and password"),
        ({"token": "t"}, "needs compute_endpoint"),
        (
            {"cloud": "a", "colud": "b"},
            r"backend_settings\.colud: unknown setting; did you mean 'cloud'",
        ),
        ({"cloud": ""}, r"backend_settings\.cloud: String should have at least 1 character"),
        (
            {"cloud": "a", "page_size": 0},
            r"backend_settings\.page_size: .* greater than or equal to 1",
        ),
        ({"cloud": "a", "page_size": True}, r"backend_settings\.page_size: .* valid integer"),
        (
            {"cloud": "a", "template_ttl": "soon"},
            r"backend_settings\.template_ttl: .* valid number",
        ),
        (
            {"cloud": "a", "credentials": "mine"},
            r"backend_settings\.credentials: .* 'service' or 'caller'",
        ),
        ({"credentials": "caller"}, "needs auth_url"),
        (
            {"cloud": "a", "services": ["compute", "dns"]},
            r"backend_settings\.services\.1: .* 'network'",
        ),
        (
            {"cloud": "a", "services": "volume"},
            r"backend_settings\.services: Input should be an array \(got 'volume'\)",
        ),
        (
            {"token": "t", "compute_endpoint": "http://n", "services": ["volume"]},
            "token needs volume_endpoint",
        ),
        ({"credentials": "caller", "auth_url": "https://k/v3", "token": "t"}, "not token"),
        ({"credentials": "caller", "auth_url": "https://k/v3", "username": "u"}, "both"),
    ],
)
def test_mistakes_are_named(table: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OpenStackSettings.from_dict(table)
