"""Reading something again until it shows what a test waits for, within a deadline.

For the slow tests against a running server and cloud (`readwrites`, `interop`),
where a change shows only after the cloud has done its part.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

#: How long a cloud may take to reach a state (a Nova boot, a Cinder volume, a snapshot).
SETTLE_SECONDS = 150.0

T = TypeVar("T")


def eventually(
    read: Callable[[], T],
    done: Callable[[T], bool],
    what: str,
    *,
    seconds: float = SETTLE_SECONDS,
    pause: float = 0.5,
    failure: Callable[[str], BaseException] = AssertionError,
) -> T:
    """`read` until `done` holds of what it answers, and answer that, pausing `pause` s
    between reads; after `seconds` s, raise `failure` naming `what` and the last read."""
    deadline = time.monotonic() + seconds
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise failure(f"{what} within {seconds:g} s; last seen: {value!r}")
        time.sleep(pause)
