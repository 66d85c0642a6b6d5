"""Actions (GFD.223 §3.4.5) through the service, over the memory backend: which apply in
each state, what triggering one does, and how one that cannot run now, or here, is
refused."""

from __future__ import annotations

import pytest
from service_driver import COMPUTE_ID, STATE, STORAGE_ID, ServiceDriver, refused

from pyocci.model.category import Kind, Mixin
from pyocci.model.entity import ActionInvocation, Entity, Resource
from pyocci.model.errors import ValidationError
from pyocci.model.infrastructure import (
    BACKUP,
    DOWN,
    LINK_OFFLINE,
    RESIZE,
    SAVE,
    SNAPSHOT,
    STOP,
)
from pyocci.service.errors import StateConflictError

pytestmark = pytest.mark.anyio


def terms(entity: Entity) -> list[str]:
    """The terms of the actions an entity offers, sorted."""
    return sorted(action.rsplit("#", 1)[1] for action in entity.actions)


async def state_of(occi: ServiceDriver, location: str) -> str:
    """The compute state a read shows now."""
    return (await occi.get(location)).attributes[STATE]


# --- what applies when ------------------------------------------------------------------


async def test_each_compute_state_offers_its_own_actions(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    location = compute.location or ""
    assert terms(compute) == ["restart", "save", "stop", "suspend"]
    stopped = (await occi.trigger(location, "stop")).entity
    assert stopped.attributes[STATE] == "inactive"
    assert terms(stopped) == ["save", "start"]
    started = (await occi.trigger(location, "start")).entity
    assert started.attributes[STATE] == "active"
    suspended = (await occi.trigger(location, "suspend")).entity
    assert suspended.attributes[STATE] == "suspended"
    assert terms(suspended) == ["start"]
    # What an action answers is what a read shows afterwards.
    read = await occi.get(location)
    assert read.attributes[STATE] == "suspended"
    assert read.actions == suspended.actions


async def test_restart_leaves_a_compute_active(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    outcome = await occi.trigger(compute.location or "", "restart")
    assert outcome.entity.attributes[STATE] == "active"
    assert outcome.created is None


async def test_storage_network_and_link_actions_move_their_own_states(
    occi: ServiceDriver,
) -> None:
    compute, storage, network = await occi.compute(), await occi.storage(), await occi.network()
    link = await occi.storagelink(compute, storage)
    offline = (await occi.trigger(storage.location or "", "offline")).entity
    assert offline.attributes["occi.storage.state"] == "offline"
    assert terms(offline) == ["online", "resize"]
    down = (await occi.trigger(network.location or "", "down")).entity
    assert down.attributes["occi.network.state"] == "inactive"
    assert terms(down) == ["up"]
    detached = (await occi.trigger(link.location or "", "offline")).entity
    assert detached.attributes["occi.storagelink.state"] == "inactive"
    assert terms(detached) == ["online"]


async def test_an_action_that_leads_where_the_entity_is_changes_nothing(
    occi: ServiceDriver,
) -> None:
    compute = await occi.compute()
    location = compute.location or ""
    await occi.trigger(location, "stop")
    # Stop on a stopped compute: done already, as scripts and EC2 expect.
    again = await occi.trigger(location, "stop")
    assert again.entity.attributes[STATE] == "inactive"
    assert await state_of(occi, location) == "inactive"


@pytest.mark.parametrize(
    ("before", "term"),
    [("stop", "suspend"), ("stop", "restart"), ("suspend", "restart"), ("suspend", "stop")],
)
async def test_an_action_that_does_not_apply_in_the_state_is_a_conflict(
    occi: ServiceDriver, before: str, term: str
) -> None:
    compute = await occi.compute()
    location = compute.location or ""
    state = (await occi.trigger(location, before)).entity.attributes[STATE]
    with refused(409, f"{term} does not apply") as raised:
        await occi.trigger(location, term)
    assert isinstance(raised.value, StateConflictError)
    assert repr(state) in raised.value.message
    assert await state_of(occi, location) == state


# --- naming the action ------------------------------------------------------------------


async def test_an_action_the_kind_does_not_have_is_refused(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    with refused(400, "has no action 'explode'"):
        await occi.trigger(compute.location or "", "explode")
    # A term of another kind's action is no action of a compute either.
    with refused(400, "has no action 'offline'"):
        await occi.trigger(compute.location or "", "offline")


async def test_a_body_naming_another_action_than_the_query_is_refused(
    occi: ServiceDriver,
) -> None:
    compute = await occi.compute()
    with refused(400, "the query says action=restart"):
        await occi.trigger(compute.location or "", "restart", ActionInvocation(action=STOP.id))
    assert await state_of(occi, compute.location or "") == "active"


async def test_a_body_naming_another_kinds_action_is_refused(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    with refused(400, "is not an action of"):
        await occi.trigger(compute.location or "", "down", ActionInvocation(action=DOWN.id))


async def test_a_body_naming_an_unknown_action_is_refused(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    with refused(400, "unknown action"):
        await occi.trigger(
            compute.location or "", "zap", ActionInvocation(action="http://example.org/a#zap")
        )


@pytest.mark.parametrize("action", [BACKUP, SNAPSHOT], ids=["backup", "snapshot"])
async def test_an_action_the_backend_does_not_perform_is_not_supported(
    occi: ServiceDriver, action: Mixin
) -> None:
    storage = await occi.storage()
    with refused(501, action.term):
        await occi.trigger(storage.location or "", action.term)


# --- parameters -------------------------------------------------------------------------


async def test_an_action_takes_the_parameters_it_declares(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    invocation = ActionInvocation(action=STOP.id, attributes={"method": "graceful"})
    outcome = await occi.trigger(compute.location or "", "stop", invocation)
    assert outcome.entity.attributes[STATE] == "inactive"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [({"method": "sideways"}, "method"), ({"force": True}, "takes no parameter 'force'")],
    ids=["bad-value", "undeclared"],
)
async def test_parameters_the_action_does_not_take_are_refused(
    occi: ServiceDriver, parameters: dict[str, object], message: str
) -> None:
    compute = await occi.compute()
    with refused(400, message) as raised:
        await occi.trigger(
            compute.location or "", "stop", ActionInvocation(action=STOP.id, attributes=parameters)
        )
    assert isinstance(raised.value, ValidationError)
    assert await state_of(occi, compute.location or "") == "active"


async def test_a_required_parameter_missing_is_refused(occi: ServiceDriver) -> None:
    storage = await occi.storage(size=1.0)
    with refused(400, "needs the parameter 'size'"):
        await occi.trigger(storage.location or "", "resize", ActionInvocation(action=RESIZE.id))
    resized = await occi.trigger(
        storage.location or "", "resize", ActionInvocation(action=RESIZE.id, attributes={"size": 5})
    )
    assert resized.entity.attributes["occi.storage.size"] == 5


async def test_save_makes_a_template_a_new_compute_can_start_from(occi: ServiceDriver) -> None:
    compute = await occi.compute()
    outcome = await occi.trigger(
        compute.location or "",
        "save",
        ActionInvocation(action=SAVE.id, attributes={"name": "gold"}),
    )
    image = outcome.created
    assert isinstance(image, Mixin)
    assert outcome.entity.attributes[STATE] == "active"
    # The tenant's model offers it at once; a new compute starts from it.
    assert await occi.category(image.id) == image
    made = await occi.create(Resource(kind=COMPUTE_ID, mixins=[image.id]))
    assert image.id in made.mixins


# --- on a whole collection --------------------------------------------------------------


async def test_an_action_on_a_collection_acts_on_every_member(occi: ServiceDriver) -> None:
    running = [await occi.compute() for _ in range(3)]
    await occi.trigger(running[0].location or "", "stop")  # done already for this one
    storage = await occi.storage()
    compute = await occi.category(COMPUTE_ID)
    assert isinstance(compute, Kind)
    acted = await occi.service.trigger_on_collection(
        occi.tenant, await occi.model(), compute, "stop", None
    )
    assert sorted(acted) == sorted(c.location or "" for c in running)
    assert [await state_of(occi, c.location or "") for c in running] == ["inactive"] * 3
    assert (await occi.get(storage.location or "")).attributes["occi.storage.state"] == "online"


async def test_an_action_on_a_collection_touches_none_when_one_member_refuses(
    occi: ServiceDriver,
) -> None:
    first, second = await occi.compute(), await occi.compute()
    await occi.trigger(second.location or "", "stop")
    compute = await occi.category(COMPUTE_ID)
    assert isinstance(compute, Kind)
    with refused(409, "suspend does not apply"):
        await occi.service.trigger_on_collection(
            occi.tenant, await occi.model(), compute, "suspend", None
        )
    assert await state_of(occi, first.location or "") == "active"
    assert await state_of(occi, second.location or "") == "inactive"


async def test_an_action_on_an_entity_that_does_not_exist_is_not_found(
    occi: ServiceDriver,
) -> None:
    with refused(404, "no entity at /compute/nothing"):
        await occi.trigger("/compute/nothing", "start")


async def test_an_action_on_a_storage_is_not_a_compute_action(occi: ServiceDriver) -> None:
    storage = await occi.storage()
    with refused(400, f"{STORAGE_ID} has no action 'start'"):
        await occi.trigger(storage.location or "", "start")


async def test_a_link_action_is_told_apart_from_a_storage_action_of_the_same_term(
    occi: ServiceDriver,
) -> None:
    compute, storage = await occi.compute(), await occi.storage()
    link = await occi.storagelink(compute, storage)
    with refused(400, "is not an action of"):
        # storage's offline named in the body of a request to the link.
        await occi.trigger(
            link.location or "",
            "offline",
            ActionInvocation(
                action="http://schemas.ogf.org/occi/infrastructure/storage/action#offline"
            ),
        )
    outcome = await occi.trigger(
        link.location or "", "offline", ActionInvocation(action=LINK_OFFLINE.id)
    )
    assert outcome.entity.attributes["occi.storagelink.state"] == "inactive"
    assert (await occi.get(storage.location or "")).attributes["occi.storage.state"] == "online"
