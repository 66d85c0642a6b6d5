"""SimSettings: defaults that work, and a plain dictionary (a TOML table) to change them."""

from __future__ import annotations

import pytest

from pyocci.backends.sim import ImageSpec, Quotas, SimSettings
from pyocci.model.extensions import CRTP_SCHEME, crtp_templates


def test_the_defaults():
    settings = SimSettings()
    assert [image.term for image in settings.images] == [
        "ubuntu-24_04",
        "ubuntu-22_04",
        "debian-12",
        "almalinux-9",
        "fedora-40",
        "cirros-0_6",
    ]
    assert settings.resource_templates == crtp_templates()
    assert settings.default_image == "ubuntu-24_04"
    assert settings.default_resource_template == "small"
    assert settings.availability_zones == ("default",)
    assert settings.floating_ip_pool == "public"
    assert settings.public_cidr == "203.0.113.0/24"
    assert settings.transition_seconds == 0
    assert settings.quotas == Quotas()


def test_image_mixins_are_os_templates_with_locations():
    mixin = ImageSpec("rocky-9", "Rocky Linux 9").mixin("http://example.org/os#")
    assert mixin.id == "http://example.org/os#rocky-9"
    assert mixin.title == "Rocky Linux 9"
    assert mixin.depends == ("http://schemas.ogf.org/occi/infrastructure#os_tpl",)
    assert mixin.applies == ("http://schemas.ogf.org/occi/infrastructure#compute",)
    assert mixin.location == "/mixin/os_tpl/rocky-9/"


def test_from_a_configuration_table():
    settings = SimSettings.from_dict(
        {
            "images": ["alpine-3.20", {"term": "rocky-9", "title": "Rocky Linux 9"}],
            "default_image": "rocky-9",
            "resource_templates": [
                {"term": "tiny", "cores": 1, "memory": 0.5},
                {
                    "term": "huge",
                    "cores": 64,
                    "memory": 512,
                    "ephemeral_storage": 100,
                    "title": "H",
                },
            ],
            "resource_template_scheme": "http://example.org/flavour#",
            "default_resource_template": "tiny",
            "availability_zones": ["north", "south"],
            "public_cidr": "198.51.100.0/24",
            "quotas": {"computes": 3, "cores": "unlimited", "memory": -1},
            "transition_seconds": 2,
        }
    )
    # Names become OCCI 1.1 terms; the title keeps the name as written.
    assert [image.term for image in settings.images] == ["alpine-3_20", "rocky-9"]
    assert settings.images[0].mixin(settings.image_scheme).title == "alpine-3.20"
    assert settings.images[1].title == "Rocky Linux 9"
    assert settings.default_image == "rocky-9"
    tiny, huge = settings.resource_templates
    assert tiny.id == "http://example.org/flavour#tiny"
    assert tiny.attributes["occi.compute.memory"].default == 0.5
    assert huge.attributes["occi.compute.ephemeral_storage.size"].default == 100.0
    assert huge.title == "H"
    assert settings.quotas.computes == 3
    assert settings.quotas.cores is None and settings.quotas.memory is None
    assert settings.quotas.networks == Quotas().networks
    assert settings.transition_seconds == 2.0
    assert settings.availability_zones == ("north", "south")


def test_an_empty_table_gives_the_defaults():
    assert SimSettings.from_dict({}) == SimSettings()
    assert SimSettings.from_dict(None) == SimSettings()
    assert SimSettings.from_dict({"resource_template_scheme": CRTP_SCHEME}) == SimSettings()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"imagez": []}, "unknown sim settings imagez"),
        ({"quotas": {"gpus": 1}}, "unknown quotas gpus"),
        ({"quotas": {"cores": "lots"}}, "must be a number or 'unlimited'"),
        ({"quotas": {"cores": -5}}, "must not be negative"),
        ({"default_image": "windows"}, "default_image 'windows' is not one of the images"),
        ({"images": ["a", "A"]}, "image terms must be unique"),
        ({"images": ["a", "a"]}, "image terms must be unique"),
        ({"images": [{"name": "a"}]}, "an image is a term or a table"),
        ({"resource_templates": [{"term": "x", "cores": 0, "memory": 1}]}, "cores must be"),
        ({"resource_templates": [{"term": "x", "cores": 1}]}, "term, cores and memory"),
        ({"resource_templates": [{"term": "x", "cores": 1, "memory": 1, "gpu": 1}]}, "gpu"),
        ({"default_resource_template": "xl"}, "is not one of the resource templates"),
        ({"public_cidr": "not-a-cidr"}, "public_cidr"),
        ({"private_cidr": "10.0.0.0/31"}, "too small"),
        ({"transition_seconds": -1}, "must not be negative"),
        ({"transition_seconds": "soon"}, "must be a number"),
        ({"image_scheme": "http://x.org/os"}, "image_scheme must end with '#'"),
        ({"saved_image_scheme": "http://schemas.pyocci.org/sim/os_tpl#"}, "must differ"),
    ],
)
def test_mistakes_are_reported(table, message):
    with pytest.raises(ValueError, match=message):
        SimSettings.from_dict(table)
