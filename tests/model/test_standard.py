"""The standard declarations: complete, consistent, and as GFD.221/224 say."""

import pytest

from pyocci.model import Kind, Mixin, standard_model
from pyocci.model.category import TERM_PATTERN
from pyocci.model.extensions import CRTP_SIZES, crtp_templates
from pyocci.model.infrastructure import COMPUTE_ACTION, INFRA

CORE = "http://schemas.ogf.org/occi/core#"


@pytest.fixture(scope="module")
def model():
    return standard_model()


@pytest.mark.parametrize(
    ("kind", "parent", "location"),
    [
        (CORE + "entity", None, "/entity/"),
        (CORE + "resource", CORE + "entity", "/resource/"),
        (CORE + "link", CORE + "entity", "/link/"),
        (INFRA + "compute", CORE + "resource", "/compute/"),
        (INFRA + "storage", CORE + "resource", "/storage/"),
        (INFRA + "network", CORE + "resource", "/network/"),
        (INFRA + "networkinterface", CORE + "link", "/networkinterface/"),
        (INFRA + "storagelink", CORE + "link", "/storagelink/"),
        (INFRA + "securitygroup", CORE + "resource", "/securitygroup/"),
        (INFRA + "securitygrouplink", CORE + "link", "/securitygrouplink/"),
        (INFRA + "ipreservation", INFRA + "network", "/ipreservation/"),
    ],
)
def test_kinds_have_their_parent_and_location(model, kind, parent, location):
    declared = model.kind(kind)
    assert declared.parent == parent
    assert declared.location == location
    assert model.by_location(location) is declared


def test_every_reference_between_categories_resolves(model):
    for category in model:
        assert TERM_PATTERN.fullmatch(category.term), category.id
        assert category.scheme.endswith("#"), category.id
        if isinstance(category, Kind):
            if category.parent is not None:
                assert isinstance(model.get(category.parent), Kind), category.id
            for action in category.actions:
                model.action(action)
        if isinstance(category, Mixin):
            for depended in category.depends:
                model.mixin(depended)
            for kind in category.applies:
                model.kind(kind)
            for action in category.actions:
                model.action(action)


def test_every_action_belongs_to_exactly_one_category(model):
    owners: dict[str, list[str]] = {}
    for category in model:
        for action in getattr(category, "actions", ()):
            owners.setdefault(action, []).append(category.id)
    assert {action.id for action in model.actions} == set(owners)
    assert all(len(found) == 1 for found in owners.values()), owners


def test_compute_declares_the_12_attributes_and_the_11_speed(model):
    definitions = model.attribute_definitions(INFRA + "compute")
    for name in [
        "occi.core.id",
        "occi.core.title",
        "occi.core.summary",
        "occi.compute.architecture",
        "occi.compute.cores",
        "occi.compute.hostname",
        "occi.compute.share",
        "occi.compute.memory",
        "occi.compute.state",
        "occi.compute.state.message",
        "occi.compute.speed",
    ]:
        assert name in definitions, name
    assert not definitions["occi.compute.speed"].required
    assert not definitions["occi.compute.state"].mutable
    assert definitions["occi.compute.state"].default == "inactive"
    assert set(definitions["occi.compute.state"].enum) >= {
        "active",
        "inactive",
        "suspended",
        "error",
    }


@pytest.mark.parametrize(
    ("action", "parameter", "choices", "default"),
    [
        ("stop", "method", {"graceful", "acpioff", "poweroff"}, "poweroff"),
        ("restart", "method", {"graceful", "warm", "cold"}, "cold"),
        ("suspend", "method", {"hibernate", "suspend"}, "suspend"),
        ("save", "method", {"hot", "deferred"}, "deferred"),
    ],
)
def test_compute_actions_carry_their_parameters(model, action, parameter, choices, default):
    definition = model.action(COMPUTE_ACTION + action).attributes[parameter]
    assert set(definition.enum) == choices
    assert definition.default == default


def test_save_accepts_the_rocci_spelling_of_deferred(model):
    method = model.action(COMPUTE_ACTION + "save").attributes["method"]
    assert method.coerce("deffered") == "deferred"
    assert "name" in model.action(COMPUTE_ACTION + "save").attributes


def test_storage_keeps_the_11_actions_optional(model):
    storage = model.kind(INFRA + "storage")
    terms = [action.rsplit("#", 1)[1] for action in storage.actions]
    assert terms == ["online", "offline", "backup", "snapshot", "resize"]
    assert model.action(storage.actions[-1]).attributes["size"].required


@pytest.mark.parametrize(
    ("mixin", "applies", "attribute"),
    [
        (INFRA.replace("#", "/network#") + "ipnetwork", INFRA + "network", "occi.network.address"),
        (
            INFRA.replace("#", "/networkinterface#") + "ipnetworkinterface",
            INFRA + "networkinterface",
            "occi.networkinterface.address",
        ),
        (INFRA.replace("#", "/compute#") + "user_data", INFRA + "compute", "occi.compute.userdata"),
        (
            INFRA.replace("#", "/credentials#") + "ssh_key",
            INFRA + "compute",
            "occi.credentials.ssh.publickey",
        ),
    ],
)
def test_infrastructure_mixins(model, mixin, applies, attribute):
    declared = model.mixin(mixin)
    assert declared.applies == (applies,)
    assert attribute in declared.attributes


def test_crtp_templates_follow_the_profile():
    model = standard_model()
    for template in crtp_templates():
        model.add(template)
    templates = {m.term: m for m in model.templates(INFRA + "resource_tpl")}
    assert set(templates) == set(CRTP_SIZES)
    large = templates["large"]
    assert large.attributes["occi.compute.cores"].default == 4
    assert large.attributes["occi.compute.memory"].default == 4.0
    assert large.attributes["occi.compute.ephemeral_storage.size"].default == 40.0


def test_legacy_context_mixins_and_names_are_known(model):
    assert "http://schemas.openstack.org/compute/instance#user_data" in model
    assert "http://schemas.openstack.org/instance/credentials#public_key" in model
    assert (
        model.canonical_attribute_name("occi.crendentials.ssh.publickey")
        == "occi.credentials.ssh.publickey"
    )


def test_each_call_builds_an_independent_model():
    first, second = standard_model(), standard_model()
    first.add(Mixin(scheme="http://example.org/u#", term="mine", location="/mine/"))
    assert "http://example.org/u#mine" in first
    assert "http://example.org/u#mine" not in second
