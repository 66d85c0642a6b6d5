"""`MeasuredBackend`: any backend, with every call counted and timed.

The server wraps the backend it serves in one of these, so the boundary
between the service and the cloud is measured in one place, whatever the
backend: each call's operation (the `Backend` method), how long the cloud
took and how the call ended go to a `CallObserver` (the server's metrics),
and each call made while answering a request is added to that request's
`CallTally` (what its access log line says). A listing is one call; its
time is what was spent waiting for the backend's next entities, not what
the server spent rendering them in between.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pyocci.backends.api import (
    ActionOutcome,
    Backend,
    Census,
    Query,
    Revision,
    Tenant,
)
from pyocci.backends.errors import (
    BackendUnavailableError,
    BusyError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
    QuotaExceededError,
)
from pyocci.backends.wrapping import WrappingBackend
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity

__all__ = [
    "OPERATIONS",
    "CallObserver",
    "CallTally",
    "MeasuredBackend",
    "current_tally",
    "error_kind",
]

T = TypeVar("T")

#: Every operation a `MeasuredBackend` measures (the `Backend` methods that may ask
#: the cloud): the values of the ``operation`` label of the metrics.
OPERATIONS = (
    "provider_mixins",
    "list_entities",
    "list_locations",
    "count_entities",
    "pending_template",
    "get_entity",
    "create_entity",
    "update_entity",
    "revise_entity",
    "delete_entity",
    "trigger_action",
    "census",
)

#: What an error says of the call, by class: subclasses before their parents.
_ERROR_KINDS: tuple[tuple[type[Exception], str], ...] = (
    (EntityNotFoundError, "not_found"),
    (BusyError, "busy"),
    (ConflictError, "conflict"),
    (QuotaExceededError, "quota"),
    (InvalidRequestError, "invalid"),
    (NotSupportedError, "not_supported"),
    (BackendUnavailableError, "unavailable"),
)
#: Every value `error_kind` gives: the values of the ``error`` label of the metrics.
ERROR_KINDS = (*(kind for _, kind in _ERROR_KINDS), "other")


def error_kind(error: Exception) -> str:
    """A short, bounded name for how a backend call failed (``other`` for an error
    that is not a backend error: a bug, or an SDK error the backend let through)."""
    for error_class, kind in _ERROR_KINDS:
        if isinstance(error, error_class):
            return kind
    return "other"


class CallObserver(Protocol):
    """Told of every backend call once it ended: its operation, the seconds the backend
    took, and the error it raised (None when it succeeded)."""

    def __call__(self, operation: str, seconds: float, error: Exception | None) -> None: ...


@dataclass(slots=True)
class CallTally:
    """The backend calls made for one request and the seconds they took together."""

    calls: int = 0
    seconds: float = 0.0


#: The tally of the request being answered; None outside a request (a census, a test).
current_tally: ContextVar[CallTally | None] = ContextVar("pyocci_backend_calls", default=None)

_clock = time.perf_counter


class MeasuredBackend(WrappingBackend):
    """`inner`, each call told to `observer` (if any) and added to the current tally."""

    def __init__(self, inner: Backend, observer: CallObserver | None = None) -> None:
        super().__init__(inner)
        self.observer = observer

    async def check_caller(self, user_name: str, secret: str) -> Tenant | None:
        """The inner backend's check of a caller's credentials, measured."""
        return await self._call("check_caller", self.inner.check_caller(user_name, secret))

    async def _call(self, operation: str, call: Awaitable[T]) -> T:
        """`call` awaited, measured as one call of `operation` however it ends."""
        started = _clock()
        error: Exception | None = None
        try:
            return await call
        except Exception as failure:
            error = failure
            raise
        finally:
            self._spent(operation, _clock() - started, error)

    def _spent(self, operation: str, seconds: float, error: Exception | None) -> None:
        tally = current_tally.get()
        if tally is not None:
            tally.calls += 1
            tally.seconds += seconds
        if self.observer is not None:
            self.observer(operation, seconds, error)

    # --- what may ask the cloud: measured -------------------------------------------------------

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The inner backend's templates."""
        return await self._call("provider_mixins", self.inner.provider_mixins(tenant))

    def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The inner backend's listing, timed while the backend produces it."""
        return self._timed("list_entities", self.inner.list_entities(tenant, query))

    def list_locations(  # type: ignore[override] - an async iterator all the same
        self, tenant: Tenant, query: Query
    ) -> AsyncIterator[list[str]]:
        """The inner backend's locations, timed while the backend produces them."""
        return self._timed("list_locations", self.inner.list_locations(tenant, query))

    async def _timed(self, operation: str, items: AsyncIterator[T]) -> AsyncIterator[T]:
        """`items`, the time spent waiting for each added up: one call, told once the
        listing ends (read to its end, failed, or abandoned by its reader)."""
        spent = 0.0
        error: Exception | None = None
        iterator = aiter(items)
        try:
            while True:
                started = _clock()
                try:
                    item = await anext(iterator)
                except StopAsyncIteration:
                    spent += _clock() - started
                    return
                except Exception as failure:
                    spent += _clock() - started
                    error = failure
                    raise
                spent += _clock() - started
                yield item
        finally:
            close = getattr(iterator, "aclose", None)
            if close is not None:
                await close()
            self._spent(operation, spent, error)

    async def count_entities(self, tenant: Tenant, query: Query) -> int | None:
        """The inner backend's count."""
        return await self._call("count_entities", self.inner.count_entities(tenant, query))

    async def census(self) -> Census | None:
        """The inner backend's census."""
        return await self._call("census", self.inner.census())

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """The inner backend's word on a template it is still preparing."""
        return await self._call("pending_template", self.inner.pending_template(tenant, mixin_id))

    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """The inner backend's entity."""
        return await self._call("get_entity", self.inner.get_entity(tenant, kind_id, entity_id))

    async def create_entity(self, tenant: Tenant, entity: Entity) -> Entity:
        """The inner backend's create."""
        return await self._call("create_entity", self.inner.create_entity(tenant, entity))

    async def update_entity(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """The inner backend's update."""
        return await self._call("update_entity", self.inner.update_entity(tenant, current, desired))

    async def revise_entity(
        self, tenant: Tenant, kind_id: str, entity_id: str, revise: Revision
    ) -> Entity:
        """The inner backend's read and update (one call)."""
        return await self._call(
            "revise_entity", self.inner.revise_entity(tenant, kind_id, entity_id, revise)
        )

    async def delete_entity(self, tenant: Tenant, entity: Entity) -> None:
        """The inner backend's delete."""
        await self._call("delete_entity", self.inner.delete_entity(tenant, entity))

    async def trigger_action(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """The inner backend's action."""
        return await self._call(
            "trigger_action", self.inner.trigger_action(tenant, entity, action_id, parameters)
        )
