"""SimSettings: defaults that work, and a plain dictionary (a TOML table) to change them."""

from __future__ import annotations

import math
from types import MappingProxyType

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
        ({"imagez": []}, "backend_settings.imagez: unknown setting; did you mean 'images'"),
        ({"quotas": {"gpus": 1}}, "backend_settings.quotas.gpus: Unexpected keyword"),
        ({"quotas": {"cores": "lots"}}, "quotas.cores: a quota must be a number or 'unlimited'"),
        ({"quotas": {"cores": -5}}, "quotas.cores: Input should be greater than or equal to 0"),
        ({"quotas": {"computes": True}}, "quotas.computes: a quota must be a number"),
        ({"default_image": "windows"}, "default_image 'windows' is not one of the images"),
        ({"images": ["a", "A"]}, "image terms must be unique"),
        ({"images": ["a", "a"]}, "image terms must be unique"),
        ({"images": [{"name": "a"}]}, "an image is a term or a table"),
        (
            {"resource_templates": [{"term": "x", "cores": 0, "memory": 1}]},
            "0.cores: Input should be",
        ),
        ({"resource_templates": [{"term": "x", "cores": 1}]}, "0.memory: Field required"),
        ({"resource_templates": [{"term": "x y", "cores": 1, "memory": 1}]}, "0.term: not a valid"),
        ({"resource_templates": [{"term": "x", "cores": 1, "memory": 1, "gpu": 1}]}, "gpu"),
        ({"default_resource_template": "xl"}, "is not one of the resource templates"),
        ({"public_cidr": "not-a-cidr"}, "public_cidr"),
        ({"private_cidr": "10.0.0.0/31"}, "too small"),
        ({"transition_seconds": -1}, "must not be negative"),
        ({"transition_seconds": "soon"}, "transition_seconds: Input should be a valid number"),
        ({"transition_seconds": True}, "transition_seconds: Input should be a valid number"),
        ({"transition_seconds": math.inf}, "transition_seconds: Input should be a finite number"),
        ({"quotas": [1, 2]}, r"quotas: Input should be a table \(got an array \[1, 2\]\)"),
        ({"quotas": {"memory": math.inf}}, "quotas.memory: Input should be a finite number"),
        ({"availability_zones": ["a b"]}, "availability_zones: 'a b' is not a valid OCCI term"),
        ({"image_scheme": "http://x.org/os"}, "image_scheme must end with '#'"),
        ({"saved_image_scheme": "http://schemas.pyocci.org/sim/os_tpl#"}, "must differ"),
    ],
)
def test_mistakes_are_reported(table, message):
    with pytest.raises(ValueError, match=message) as raised:
        SimSettings.from_dict(table)
    # Each names the key as the configuration file spells it.
    assert str(raised.value).startswith("backend_settings.")


def test_the_default_image_follows_the_images_given():
    assert SimSettings.from_dict({"images": ["Rocky-9.4", "alma"]}).default_image == "rocky-9_4"
    assert SimSettings.from_dict({"images": [{"term": "alma"}]}).default_image == "alma"
    assert SimSettings.from_dict({"images": []}).default_image is None
    given = SimSettings.from_dict({"images": ["a", "b"], "default_image": "b"})
    assert given.default_image == "b"
    assert SimSettings.from_dict({"default_image": ""}).default_image is None


def test_every_spelling_of_no_limit_and_whole_counts():
    quotas = SimSettings.from_dict(
        {"quotas": {"computes": 3.0, "cores": "Unlimited", "memory": -1, "storage": "none"}}
    ).quotas
    assert quotas == Quotas(computes=3, cores=None, memory=None, storage=None)
    assert isinstance(quotas.computes, int)
    assert Quotas.from_dict({"networks": 0}) == Quotas(networks=0)


def test_one_zone_may_be_given_as_a_string():
    assert SimSettings.from_dict({"availability_zones": "north"}).availability_zones == ("north",)


def test_settings_made_in_python_are_checked_too():
    with pytest.raises(ValueError, match=r"backend_settings\.default_image 'x'"):
        SimSettings(default_image="x")
    with pytest.raises(ValueError, match=r"backend_settings\.transition_seconds must not"):
        SimSettings(transition_seconds=-1)


def test_tables_as_the_server_hands_them_over():
    # The server's configuration is frozen: read-only mappings, tuples for lists.
    frozen = MappingProxyType(
        {
            "quotas": MappingProxyType({"computes": 2}),
            "resource_templates": (MappingProxyType({"term": "tiny", "cores": 1, "memory": 1}),),
            "default_resource_template": "tiny",
            "images": ("debian-12", MappingProxyType({"term": "rocky-9"})),
        }
    )
    settings = SimSettings.from_dict(frozen)
    assert settings.quotas.computes == 2
    assert [t.term for t in settings.resource_templates] == ["tiny"]
    assert [i.term for i in settings.images] == ["debian-12", "rocky-9"]
