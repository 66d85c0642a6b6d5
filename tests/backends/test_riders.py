"""Riders: the rows a service writes along with a backend's change of an entity."""

from __future__ import annotations

from typing import Any

import pytest

from pyocci.backends.riders import Rider, entity_changed, riding
from pyocci.model.entity import Resource

COMPUTE = Resource(kind="http://schemas.ogf.org/occi/infrastructure#compute", location="/compute/1")


def _recording() -> tuple[Rider, list[tuple[Any, Any]]]:
    written: list[tuple[Any, Any]] = []
    return Rider(lambda connection, entity: written.append((connection, entity))), written


def test_a_change_made_while_riding_writes_the_riders_rows_in_its_transaction() -> None:
    rider, written = _recording()
    with riding(rider):
        entity_changed("the transaction", COMPUTE)
    assert written == [("the transaction", COMPUTE)]
    assert rider.rode_with == {COMPUTE.location}


def test_a_change_made_without_a_rider_writes_nothing_more() -> None:
    rider, written = _recording()
    with riding(rider):
        pass
    entity_changed("after", COMPUTE)  # the rider is no longer offered
    with riding(None):
        entity_changed("offered nothing", COMPUTE)
    assert written == []
    assert not rider.rode_with


def test_a_riders_error_is_the_changes_error_and_it_did_not_ride() -> None:
    def refuse(connection: Any, entity: Any) -> None:
        raise RuntimeError("the disk is full")

    rider = Rider(refuse)
    with riding(rider), pytest.raises(RuntimeError, match="the disk is full"):
        entity_changed("the transaction", COMPUTE)
    assert not rider.rode_with
