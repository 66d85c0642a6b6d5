"""How long a request waits for its cloud: one deadline, renewed by every answer.

`within_deadline` bounds a block of backend work (a read, a create, the
next part of a listing): if the cloud says nothing for `seconds`, the block
is cancelled and `CloudDeadlineError` (a 503 with ``Retry-After``) is
raised. Every answer from the cloud gives it `seconds` more
(`cloud_answered`, which `Backend.run_blocking` calls after each SDK
call), so an operation that polls a cloud making progress (an instance
starting before its volumes attach, a resize awaiting confirmation) runs
to its own limits, while a cloud that hangs or stays silent is given up
on after `seconds`.

A cancelled SDK call cannot be stopped in its thread: the thread is left
to finish on its own, which the backends make sure happens within about
the same deadline (their connect and read timeouts are sized by it).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import anyio

from pyocci.backends.errors import BackendUnavailableError

#: The longest a request waits, by default, for an answer from the cloud, in seconds.
DEFAULT_DEADLINE = 30.0


class CloudDeadlineError(BackendUnavailableError):
    """The cloud did not answer within the deadline: 503 with ``Retry-After``."""


@dataclass(slots=True)
class _Watch:
    scope: anyio.CancelScope
    seconds: float


_watch: contextvars.ContextVar[_Watch | None] = contextvars.ContextVar(
    "pyocci_cloud_deadline", default=None
)


@contextmanager
def within_deadline(seconds: float, what: str, *, retry_after: int = 5) -> Iterator[None]:
    """Run the block while the cloud answers at least every `seconds`; else cancel it and
    raise `CloudDeadlineError` saying that `what` (``creating the entity``) got no answer."""
    with anyio.CancelScope(deadline=anyio.current_time() + seconds) as scope:
        token = _watch.set(_Watch(scope, seconds))
        try:
            yield
        finally:
            _watch.reset(token)
    if scope.cancelled_caught:
        raise CloudDeadlineError(
            f"the cloud did not answer within {seconds:g} s while {what}; try again later "
            "(a create or an action may still complete in the cloud: read the entity or "
            "list its collection before repeating it)",
            retry_after=retry_after,
        )


def cloud_answered() -> None:
    """The cloud just answered: give it the whole deadline again (no-op outside a block)."""
    watch = _watch.get()
    if watch is not None:
        watch.scope.deadline = anyio.current_time() + watch.seconds
