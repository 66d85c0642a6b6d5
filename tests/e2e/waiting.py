"""Waiting for a compute to reach a state, so one test reads the same on every backend.

The sim and moto change state at once: the first read already shows it.
Nova works asynchronously (a server is ``BUILD`` before it is ``ACTIVE``, a
stop takes a moment), so a test that acts on a compute, or asserts its
state, first waits for the state it expects. The wait is a deadline for a
cloud that never gets there, not a measurement: nothing asserts how long
it took.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import httpx

from e2e.occiclient import TEXT_PLAIN, EntityDoc, Occi

#: How long a compute may take to get to a state (Nova on a loaded 2-core machine).
DEADLINE = 180.0
POLL = 0.3


def wait_state(http: httpx.Client | Occi, path: str, state: str = "active") -> EntityDoc:
    """The compute at `path` once ``occi.compute.state`` is `state`; fails with the last
    state seen past the deadline."""
    return wait_states(http, [path], state)[0]


def wait_states(
    http: httpx.Client | Occi, paths: Iterable[str], state: str = "active"
) -> list[EntityDoc]:
    """Every compute of `paths` once each is in `state` (see `wait_state`)."""
    occi = http if isinstance(http, Occi) else Occi(http, TEXT_PLAIN)
    deadline = time.monotonic() + DEADLINE
    found: list[EntityDoc] = []
    for path in paths:
        while True:
            doc = occi.get(path)
            seen = doc.attributes.get("occi.compute.state")
            if seen == state:
                found.append(doc)
                break
            assert seen != "error" or state == "error", f"{path} went to error: {doc.attributes}"
            assert time.monotonic() < deadline, f"{path} is {seen!r}, not {state!r}, in time"
            time.sleep(POLL)
    return found
