"""The facts of the specifications the checks rely on."""

from __future__ import annotations

from pyocci.check import spec


def test_action_identifiers_follow_gfd224() -> None:
    assert spec.action_id(spec.COMPUTE, "stop") == (
        "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"
    )
    assert spec.term_of(spec.action_id(spec.NETWORK, "up")) == "up"
    assert spec.scheme_of(spec.STORAGE) == "http://schemas.ogf.org/occi/infrastructure#"


def test_the_compute_diagram() -> None:
    machine = spec.COMPUTE_MACHINE
    assert machine.target("inactive", "start") == "active"
    assert machine.target("active", "start") is None
    assert machine.applicable("inactive") == {"start"}
    assert machine.applicable("active") == {"stop", "suspend", "restart", "save"}


def test_only_actions_the_diagram_settles_are_judged() -> None:
    machine = spec.COMPUTE_MACHINE
    # start on an active compute, stop on an inactive one: drawn from other states.
    assert machine.misplaced("active", {"start", "stop"}) == ["start"]
    assert machine.misplaced("inactive", {"stop", "suspend", "start"}) == ["stop", "suspend"]
    # save on an inactive compute: the diagram leaves it open.
    assert machine.misplaced("inactive", {"save", "restart"}) == []


def test_every_kind_with_states_has_its_attribute() -> None:
    assert set(spec.STATES) == set(spec.STATE_ATTRIBUTE)
    for kind, attribute in spec.STATE_ATTRIBUTE.items():
        assert attribute in spec.INSTANCE_ATTRIBUTES[kind]
