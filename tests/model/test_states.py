import pytest

from pyocci.model import Kind, Resource, standard_model
from pyocci.model.infrastructure import COMPUTE_ACTION, INFRA, NETWORK_ACTION, STORAGE_ACTION


@pytest.fixture(scope="module")
def model():
    return standard_model()


def terms(actions):
    return sorted(action.rsplit("#", 1)[1] for action in actions)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("inactive", ["save", "start"]),
        ("active", ["restart", "save", "stop", "suspend"]),
        ("suspended", ["start"]),
        ("error", []),
    ],
)
def test_compute_offers_the_actions_its_state_allows(model, state, expected):
    compute = Resource(kind=INFRA + "compute", attributes={"occi.compute.state": state})
    assert terms(model.applicable_actions(compute)) == expected


@pytest.mark.parametrize(
    ("kind", "state", "expected"),
    [
        ("storage", "offline", ["backup", "online", "resize", "snapshot"]),
        ("storage", "online", ["backup", "offline", "resize", "snapshot"]),
        ("network", "inactive", ["up"]),
        ("network", "active", ["down"]),
        ("ipreservation", "active", ["down"]),
    ],
)
def test_storage_network_and_reservations_follow_their_machines(model, kind, state, expected):
    entity = Resource(kind=INFRA + kind, attributes={f"occi.{kind}.state": state})
    assert terms(model.applicable_actions(entity)) == expected


def test_an_entity_without_a_state_is_in_the_initial_state(model):
    assert terms(model.applicable_actions(Resource(kind=INFRA + "compute"))) == ["save", "start"]


@pytest.mark.parametrize(
    ("machine_kind", "action", "before", "after"),
    [
        ("compute", COMPUTE_ACTION + "start", "inactive", "active"),
        ("compute", COMPUTE_ACTION + "start", "suspended", "active"),
        ("compute", COMPUTE_ACTION + "stop", "active", "inactive"),
        ("compute", COMPUTE_ACTION + "suspend", "active", "suspended"),
        ("compute", COMPUTE_ACTION + "restart", "active", "active"),
        ("compute", COMPUTE_ACTION + "stop", "inactive", None),
        ("storage", STORAGE_ACTION + "online", "offline", "online"),
        ("network", NETWORK_ACTION + "down", "active", "inactive"),
        ("network", NETWORK_ACTION + "down", "inactive", None),
    ],
)
def test_next_state(model, machine_kind, action, before, after):
    machine = model.state_machine(INFRA + machine_kind)
    assert machine is not None
    assert machine.next_state(action, before) == after


def test_a_provider_subkind_inherits_the_machine_of_its_parent():
    model = standard_model()
    model.add(Kind(scheme="http://example.org/occi#", term="vm", parent=INFRA + "compute"))
    machine = model.state_machine("http://example.org/occi#vm")
    assert machine is model.state_machine(INFRA + "compute")
    vm = Resource(kind="http://example.org/occi#vm", attributes={"occi.compute.state": "active"})
    assert "stop" in terms(model.applicable_actions(vm))


def test_kinds_without_actions_still_have_their_state_attribute(model):
    machine = model.state_machine(INFRA + "securitygroup")
    assert machine.attribute == "occi.securitygroup.state"
    assert machine.transitions == {}
    assert model.applicable_actions(Resource(kind=INFRA + "securitygroup")) == []
    assert model.state_machine(INFRA + "ipreservation").attribute == "occi.ipreservation.state"
    assert model.state_machine("http://schemas.ogf.org/occi/core#resource") is None


@pytest.mark.parametrize(
    ("action", "state", "done"),
    [
        (COMPUTE_ACTION + "start", "active", True),
        (COMPUTE_ACTION + "stop", "inactive", True),
        (COMPUTE_ACTION + "suspend", "suspended", True),
        # It applies there: not a no-op but the action itself.
        (COMPUTE_ACTION + "start", "inactive", False),
        # It leads elsewhere from every state it applies in.
        (COMPUTE_ACTION + "restart", "inactive", False),
        (COMPUTE_ACTION + "stop", "suspended", False),
        # save ends in either of two states: never "already done".
        (COMPUTE_ACTION + "save", "suspended", False),
        (COMPUTE_ACTION + "start", None, False),
        (STORAGE_ACTION + "offline", "offline", True),
        (NETWORK_ACTION + "up", "active", True),
    ],
)
def test_an_action_is_already_done_where_it_would_lead(action, state, done) -> None:
    family = action.rsplit("/", 2)[-2]  # .../infrastructure/<kind>/action#<term>
    machine = standard_model().state_machine(INFRA + family)
    assert machine is not None
    assert machine.already_done(action, state) is done
