"""The Model registry: lookup, hierarchy, definitions, coercion, defaults, validation."""

import dataclasses

import pytest

from pyocci.model import (
    CategoryConflictError,
    Kind,
    Link,
    Mixin,
    Model,
    Resource,
    UnknownCategoryError,
    ValidationError,
    standard_model,
)
from pyocci.model.extensions import crtp_templates
from pyocci.model.infrastructure import INFRA

CORE = "http://schemas.ogf.org/occi/core#"
COMPUTE = INFRA + "compute"
OS_TPL = INFRA + "os_tpl"
RESOURCE_TPL = INFRA + "resource_tpl"
USER_DATA = "http://schemas.ogf.org/occi/infrastructure/compute#user_data"
UBUNTU = Mixin(
    scheme="http://example.org/occi/os_tpl#",
    term="ubuntu",
    title="Ubuntu",
    depends=(OS_TPL,),
    location="/mixin/os_tpl/ubuntu/",
)
DEBIAN = Mixin(
    scheme="http://example.org/occi/os_tpl#",
    term="debian",
    depends=(OS_TPL,),
    location="/mixin/os_tpl/debian/",
)


@pytest.fixture
def model():
    model = standard_model()
    for template in (*crtp_templates(), UBUNTU, DEBIAN):
        model.add(template)
    return model


def compute(**attributes):
    return Resource(kind=COMPUTE, attributes=dict(attributes))


def bad_nic():
    """A network interface link whose MAC address is not one."""
    return Link(
        kind=INFRA + "networkinterface",
        attributes={
            "occi.core.id": "nic0",
            "occi.core.source": "/compute/1",
            "occi.core.target": "/network/1",
            "occi.networkinterface.mac": "not a mac",
        },
    )


# --- lookup -----------------------------------------------------------------------


def test_lookup_by_identifier_and_location(model):
    assert model.kind(COMPUTE).term == "compute"
    assert model.by_location("/compute") is model.get(COMPUTE)
    assert model.by_location("/compute/") is model.get(COMPUTE)
    assert model.by_location("/nothing/") is None
    with pytest.raises(UnknownCategoryError, match="unknown kind"):
        model.kind(INFRA + "os_tpl")
    with pytest.raises(UnknownCategoryError, match="unknown mixin"):
        model.mixin(COMPUTE)


def test_adding_a_taken_identifier_or_location_conflicts(model):
    with pytest.raises(CategoryConflictError, match="already defined"):
        model.add(Mixin(scheme=UBUNTU.scheme, term="ubuntu", location="/elsewhere/"))
    with pytest.raises(CategoryConflictError, match="already bound"):
        model.add(Mixin(scheme="http://x#", term="y", location="/compute/"))


def test_an_overlay_sees_the_base_and_keeps_its_own_categories():
    base = standard_model()
    tenant = Model(base=base)
    mine = Mixin(scheme="http://example.org/users/joe#", term="stuff", location="/stuff/")
    tenant.add_user_mixin(mine)
    assert tenant.get(COMPUTE) is base.get(COMPUTE)
    assert tenant.by_location("/stuff/") is mine
    assert base.get(mine.id) is None
    assert tenant.owns(mine.id) and not tenant.owns(COMPUTE)
    assert tenant.state_machine(COMPUTE) is base.state_machine(COMPUTE)
    with pytest.raises(CategoryConflictError, match="provider-defined"):
        tenant.remove(COMPUTE)
    assert tenant.remove(mine.id) is mine
    assert tenant.by_location("/stuff/") is None
    assert len(tenant) == len(base)


# --- hierarchy ----------------------------------------------------------------------


def test_ancestors_run_from_the_kind_to_entity(model):
    assert [k.term for k in model.ancestors(INFRA + "ipreservation")] == [
        "ipreservation",
        "network",
        "resource",
        "entity",
    ]
    assert model.is_kind_of(INFRA + "networkinterface", CORE + "link")
    assert not model.is_kind_of(COMPUTE, CORE + "link")


def test_parent_cycles_do_not_hang():
    model = Model(
        [
            Kind(scheme="http://x#", term="a", parent="http://x#b"),
            Kind(scheme="http://x#", term="b", parent="http://x#a"),
        ]
    )
    assert [k.term for k in model.ancestors("http://x#a")] == ["a", "b"]


def test_templates_are_found_through_depends(model):
    assert {m.term for m in model.templates(OS_TPL)} == {"ubuntu", "debian"}
    assert model.depends_on(UBUNTU.id, OS_TPL)
    assert model.effective_applies(UBUNTU.id) == (COMPUTE,)
    assert model.mixin_applies_to(UBUNTU.id, COMPUTE)
    assert not model.mixin_applies_to(UBUNTU.id, INFRA + "storage")


def test_definitions_collect_ancestors_and_mixins_with_templates_last(model):
    small = next(m for m in model.templates(RESOURCE_TPL) if m.term == "small")
    definitions = model.attribute_definitions(COMPUTE, [small.id])
    assert "occi.core.id" in definitions
    assert "occi.compute.ephemeral_storage.size" in definitions
    assert definitions["occi.compute.cores"].default == 1
    assert not definitions["occi.compute.cores"].mutable


# --- coercion and defaults ------------------------------------------------------------


def test_coerce_types_values_and_renames_legacy_names(model):
    entity = Resource(
        kind=COMPUTE,
        mixins=["http://schemas.ogf.org/occi/infrastructure/credentials#ssh_key"],
        attributes={
            "occi.compute.cores": "2",
            "occi.compute.memory": "1.5",
            "occi.crendentials.ssh.publickey": "ssh-ed25519 AAAA",
            "x.unknown": "kept",
        },
        links=[
            Link(
                kind=INFRA + "storagelink",
                attributes={"occi.core.target": "/storage/1", "occi.storagelink.state": "active"},
            )
        ],
    )
    model.coerce(entity)
    assert entity.attributes == {
        "occi.compute.cores": 2,
        "occi.compute.memory": 1.5,
        "occi.credentials.ssh.publickey": "ssh-ed25519 AAAA",
        "x.unknown": "kept",
    }


def test_defaults_fill_gaps_and_resource_templates_override_sizes(model):
    large = next(m for m in model.templates(RESOURCE_TPL) if m.term == "large")
    entity = Resource(
        kind=COMPUTE,
        mixins=[large.id],
        attributes={"occi.compute.cores": 1, "occi.core.title": "vm"},
    )
    model.apply_defaults(entity)
    assert entity.attributes["occi.compute.cores"] == 4
    assert entity.attributes["occi.compute.memory"] == 4.0
    assert entity.attributes["occi.compute.state"] == "inactive"
    assert entity.attributes["occi.core.title"] == "vm"


# --- validation ----------------------------------------------------------------------


def test_a_good_compute_validates(model):
    entity = Resource(
        kind=COMPUTE,
        mixins=[UBUNTU.id, USER_DATA],
        attributes={
            "occi.core.id": "vm-1",
            "occi.core.title": "vm1",
            "occi.compute.cores": 2,
            "occi.compute.memory": 2.0,
            "occi.compute.userdata": "IyEvYmluL3NoCg==",
        },
    )
    model.validate(entity)


@pytest.mark.parametrize(
    ("entity", "says"),
    [
        (Resource(kind=None), "names no kind"),
        (Resource(kind=INFRA + "nothing"), "is unknown"),
        (Resource(kind=OS_TPL), "is a mixin"),
        (Resource(kind=CORE + "entity"), "abstract"),
        (Link(kind=COMPUTE, attributes={"occi.core.target": "/x"}), "not a link kind"),
        (Resource(kind=INFRA + "storagelink"), "is a link kind"),
        (Resource(kind=COMPUTE, mixins=["http://x#nope"]), "unknown mixin"),
        (Resource(kind=COMPUTE, mixins=[COMPUTE]), "is a kind, not a mixin"),
        (
            Resource(
                kind=INFRA + "storage", mixins=[UBUNTU.id], attributes={"occi.storage.size": 1}
            ),
            "cannot be applied",
        ),
        (Resource(kind=COMPUTE, mixins=[UBUNTU.id, DEBIAN.id]), "at most one os_tpl"),
        (compute(**{"occi.compute.cores": "two"}), "must be an integer"),
        (compute(**{"occi.compute.architecture": "arm"}), "must be one of x86, x64"),
        (compute(**{"occi.compute.state": "active"}), "managed by the server"),
        (compute(**{"com.example.extra": 1}), "add the mixin that defines it"),
        (Resource(kind=COMPUTE, mixins=[USER_DATA]), "occi.compute.userdata is required"),
        (Resource(kind=INFRA + "storage"), "occi.storage.size is required"),
        (
            Resource(kind=COMPUTE, links=[bad_nic()]),
            "link nic0: occi.networkinterface.mac must match",
        ),
    ],
)
def test_validation_says_what_to_fix(model, entity, says):
    with pytest.raises(ValidationError) as caught:
        model.validate(entity)
    assert says in str(caught.value)
    assert caught.value.problems


def test_a_stored_entity_may_carry_server_managed_values(model):
    entity = compute(**{"occi.compute.state": "active", "occi.core.id": "1"})
    model.validate(entity, creating=False)
    with pytest.raises(ValidationError):
        model.validate(entity, creating=True)


def _updated(current, **changes):
    """`current` as an update makes it: the same attribute values, some replaced."""
    return dataclasses.replace(
        current,
        mixins=list(current.mixins),
        attributes={**current.attributes, **changes},
    )


def test_a_category_added_to_a_base_reaches_the_layers_over_it(model):
    # Answers a tenant's layer keeps (here what a mixin depends on) are worked out anew
    # when a layer under it changes.
    tenant = Model(base=model)
    tag = Mixin(scheme="http://example.org/tags#", term="gpu", location="/tags/gpu/")
    assert not tenant.depends_on(tag.id, OS_TPL)
    model.add(Mixin(scheme=tag.scheme, term=tag.term, depends=(OS_TPL,), location=tag.location))
    assert tenant.depends_on(tag.id, OS_TPL)


def test_an_update_is_checked_where_it_changes_the_entity(model):
    # A stored value the model would refuse now (an older server's, say) does not stop
    # an update of something else; the values the update sets are checked.
    current = compute(**{"occi.core.title": "vm", "occi.compute.cores": "lots"})
    assert model.change_problems(current, _updated(current, **{"occi.core.title": "web"})) == []
    [problem] = model.change_problems(current, _updated(current, **{"occi.compute.cores": "2"}))
    assert "must be an integer" in problem


def test_an_equal_value_of_another_type_counts_as_changed(model):
    current = compute(**{"occi.compute.cores": 1})
    [problem] = model.change_problems(current, _updated(current, **{"occi.compute.cores": True}))
    assert "must be an integer" in problem


def test_an_update_that_changes_the_mixins_is_checked_whole(model):
    current = Resource(
        kind=COMPUTE, mixins=[UBUNTU.id], attributes={"occi.compute.architecture": "arm"}
    )
    desired = _updated(current)
    desired.mixins.append(DEBIAN.id)
    problems = model.change_problems(current, desired)
    assert any("at most one os_tpl" in p for p in problems)
    assert any("must be one of x86, x64" in p for p in problems)


def test_an_updates_problems_leave_the_links_out(model):
    current = Resource(kind=COMPUTE, links=[bad_nic()])
    desired = _updated(current)
    desired.mixins.append(UBUNTU.id)
    assert model.change_problems(current, desired) == []
    assert model.problems(desired, creating=False) != []


def test_undeclared_attributes_can_be_allowed(model):
    model.validate(compute(**{"com.example.extra": 1}), allow_undeclared=True)


def test_template_sizes_do_not_count_as_server_managed(model):
    small = next(m for m in model.templates(RESOURCE_TPL) if m.term == "small")
    model.validate(Resource(kind=COMPUTE, mixins=[small.id], attributes={"occi.compute.cores": 8}))


def test_action_parameters_are_checked(model):
    stop = INFRA.replace("#", "/compute/action#") + "stop"
    model.validate_invocation(stop, {"method": "graceful"})
    with pytest.raises(ValidationError, match="must be one of"):
        model.validate_invocation(stop, {"method": "gently"})
    with pytest.raises(ValidationError, match="takes no parameter 'force'"):
        model.validate_invocation(stop, {"force": True})
    resize = INFRA.replace("#", "/storage/action#") + "resize"
    with pytest.raises(ValidationError, match="needs the parameter 'size'"):
        model.validate_invocation(resize, {})
    with pytest.raises(UnknownCategoryError):
        model.validate_invocation(COMPUTE, {})


def test_invocation_parameters_are_coerced(model):
    save = INFRA.replace("#", "/compute/action#") + "save"
    assert model.coerce_invocation_attributes(save, {"method": "deffered", "x": 1}) == {
        "method": "deferred",
        "x": 1,
    }


def test_find_actions_by_term(model):
    network = Resource(kind=INFRA + "network")
    assert model.find_actions(network, "up") == [
        "http://schemas.ogf.org/occi/infrastructure/network/action#up"
    ]
    assert model.find_actions(network, "start") == []


# --- user mixins ---------------------------------------------------------------------


def test_user_mixins_are_checked_before_they_are_added(model):
    model.add_user_mixin(
        Mixin(scheme="http://example.org/users/joe#", term="web", location="/users/joe/web/")
    )
    assert model.by_location("/users/joe/web/").term == "web"
    with pytest.raises(ValidationError) as caught:
        model.add_user_mixin(
            Mixin(
                scheme="http://example.org/users/joe",
                term="bad term",
                depends=("http://x#missing",),
                actions=("http://x#a",),
            )
        )
    message = str(caught.value)
    for says in ["not a valid OCCI term", "must end with '#'", "needs a location", "cannot define"]:
        assert says in message
    assert "depends on unknown mixin" in message
