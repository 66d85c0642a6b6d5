"""Waiting for a state: the polling loop, on a clock the test controls."""

from __future__ import annotations

import pytest

from clocks import FakeClock
from pyocci.client import EntityFailedError, WaitTimeoutError
from pyocci.client.waiting import state_attribute, wait_for_offer, wait_for_state
from pyocci.model import Resource, standard_model
from pyocci.model.category import Mixin
from pyocci.model.registry import OS_TPL_ID, Model

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"


def states(*values: str):
    remaining = list(values)

    def fetch() -> Resource:
        state = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return Resource(
            kind=COMPUTE,
            attributes={"occi.compute.state": state, "occi.compute.state.message": "disk broke"},
        )

    return fetch


def test_polls_until_the_state_and_reports_progress():
    clock, seen = FakeClock(0), []
    entity = wait_for_state(
        states("waiting", "waiting", "active"),
        standard_model(),
        "/compute/1",
        "active",
        timeout=60,
        interval=1,
        clock=clock.time,
        sleep=clock.sleep,
        on_progress=lambda e, state, elapsed: seen.append((state, elapsed)),
    )
    assert entity.attributes["occi.compute.state"] == "active"
    assert [state for state, _ in seen] == ["waiting", "waiting", "active"]
    assert clock.pauses == [1, 1.5]  # backing off


def test_gives_up_at_the_timeout():
    clock = FakeClock(0)
    with pytest.raises(WaitTimeoutError) as raised:
        wait_for_state(
            states("waiting"),
            standard_model(),
            "/compute/1",
            "active",
            timeout=10,
            interval=1,
            clock=clock.time,
            sleep=clock.sleep,
        )
    assert raised.value.last == "waiting"
    assert clock.now == pytest.approx(10)
    assert max(clock.pauses) <= 5


def test_the_error_state_ends_the_wait_with_its_message():
    clock = FakeClock(0)
    with pytest.raises(EntityFailedError, match="disk broke"):
        wait_for_state(
            states("waiting", "error"),
            standard_model(),
            "/compute/1",
            "active",
            timeout=10,
            clock=clock.time,
            sleep=clock.sleep,
        )


def test_state_attributes_come_from_the_state_machine_or_the_term():
    model = standard_model()
    assert state_attribute(model, COMPUTE) == "occi.compute.state"
    assert state_attribute(model, "http://example.org/k#volcano") == "occi.volcano.state"


SAVED = "http://schemas.example.org/os_tpl#saved-1"


def offers(after: int):
    """Discovery that offers the saved template from the `after`-th call on."""
    calls = {"n": 0}
    image = Mixin(scheme="http://schemas.example.org/os_tpl#", term="saved-1", depends=(OS_TPL_ID,))

    def fetch() -> Model:
        calls["n"] += 1
        model = Model(base=standard_model())
        if calls["n"] >= after:
            model.add(image)
        return model

    return fetch, calls


def test_waits_until_the_template_is_offered():
    clock = FakeClock(0)
    fetch, calls = offers(after=3)
    found = wait_for_offer(
        fetch, SAVED, timeout=60, interval=1, clock=clock.time, sleep=clock.sleep
    )
    assert found.id == SAVED
    assert calls["n"] == 3
    assert len(clock.pauses) == 2


def test_a_template_never_offered_times_out_saying_so():
    clock = FakeClock(0)
    fetch, _ = offers(after=10**6)
    with pytest.raises(WaitTimeoutError, match="did not become offered within 10 s"):
        wait_for_offer(fetch, SAVED, timeout=10, interval=1, clock=clock.time, sleep=clock.sleep)
    assert clock.now == pytest.approx(10)
