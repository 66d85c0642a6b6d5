"""`DeadlineBackend`: any backend, with every call bounded by the cloud deadline.

The server wraps whichever backend it serves in one of these, so no
request waits for a silent cloud longer than the configured deadline,
whatever the backend: past it the client gets 503 with ``Retry-After``
(see `pyocci.backends.deadline`). A listing is bounded part by part: the
cloud has the deadline to produce each next part of it (up to `LISTING_PART`
entities), so a listing from a cloud that keeps answering is not cut for being long.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

from pyocci.backends.api import (
    ActionOutcome,
    Backend,
    Census,
    Query,
    Revision,
    Tenant,
)
from pyocci.backends.deadline import within_deadline
from pyocci.backends.errors import BusyError
from pyocci.backends.wrapping import WrappingBackend
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity

T = TypeVar("T")

#: How many entities of a listing are read under one deadline: a deadline per entity
#: would cost more than the entities themselves.
LISTING_PART = 100


class DeadlineBackend(WrappingBackend):
    """`inner`, with a deadline of `seconds` on every call that may wait for the cloud."""

    def __init__(self, inner: Backend, seconds: float) -> None:
        super().__init__(inner)
        self.seconds = seconds

    def _deadline(self, what: str) -> AbstractContextManager[None]:
        if self.inner.reads_on_loop:
            # Its calls run on the event loop without waiting (the sim on SQLite): there
            # is no cloud to be silent, and a cancel scope could not stop them anyway.
            return nullcontext()
        return within_deadline(self.seconds, what, retry_after=self.retry_after)

    # --- what may wait for the cloud: bounded -------------------------------------------------

    async def check_caller(self, user_name: str, secret: str) -> Tenant | None:
        """The inner backend's check of a caller's credentials, within the deadline."""
        with self._deadline("checking the credentials"):
            return await self.inner.check_caller(user_name, secret)

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The inner backend's templates, within the deadline."""
        with self._deadline("reading the templates"):
            return await self.inner.provider_mixins(tenant)

    async def list_entities(self, tenant: Tenant, query: Query) -> AsyncIterator[Entity]:
        """The inner backend's listing, each part of it within the deadline."""
        entities = aiter(self.inner.list_entities(tenant, query))
        try:
            finished = False
            while not finished:
                part: list[Entity] = []
                with self._deadline("listing entities"):
                    while len(part) < LISTING_PART:
                        try:
                            part.append(await anext(entities))
                        except StopAsyncIteration:
                            finished = True
                            break
                for entity in part:
                    yield entity
        finally:
            close = getattr(entities, "aclose", None)
            if close is not None:
                await close()

    async def list_locations(self, tenant: Tenant, query: Query) -> AsyncIterator[list[str]]:
        """The inner backend's locations, each batch within the deadline."""
        batches = aiter(self.inner.list_locations(tenant, query))
        try:
            while True:
                with self._deadline("listing entities"):
                    batch = await anext(batches, None)
                if batch is None:
                    return
                yield batch
        finally:
            close = getattr(batches, "aclose", None)
            if close is not None:
                await close()

    async def count_entities(self, tenant: Tenant, query: Query) -> int | None:
        """The inner backend's count, within the deadline."""
        with self._deadline("counting entities"):
            return await self.inner.count_entities(tenant, query)

    async def census(self) -> Census | None:
        """The inner backend's census, within the deadline."""
        with self._deadline("counting entities"):
            return await self.inner.census()

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """The inner backend's word on a template it is still preparing, within the deadline."""
        with self._deadline("reading the template"):
            return await self.inner.pending_template(tenant, mixin_id)

    async def get_entity(self, tenant: Tenant, kind_id: str, entity_id: str) -> Entity:
        """The inner backend's entity, within the deadline."""
        with self._deadline("reading the entity"):
            return await self.inner.get_entity(tenant, kind_id, entity_id)

    async def create_entity(self, tenant: Tenant, entity: Entity) -> Entity:
        """The inner backend's create, within the deadline."""
        with self._deadline("creating the entity"):
            return await self.inner.create_entity(tenant, entity)

    async def update_entity(self, tenant: Tenant, current: Entity, desired: Entity) -> Entity:
        """The inner backend's update, within the deadline."""
        with self._deadline("updating the entity"):
            return await self.inner.update_entity(tenant, current, desired)

    async def revise_entity(
        self, tenant: Tenant, kind_id: str, entity_id: str, revise: Revision
    ) -> Entity:
        """The inner backend's read and update, within the deadline."""
        with self._deadline("updating the entity"):
            return await self.inner.revise_entity(tenant, kind_id, entity_id, revise)

    async def delete_entity(self, tenant: Tenant, entity: Entity) -> None:
        """The inner backend's delete, within the deadline."""
        with self._deadline("deleting the entity"):
            await self.inner.delete_entity(tenant, entity)

    async def trigger_action(
        self, tenant: Tenant, entity: Entity, action_id: str, parameters: Mapping[str, Any]
    ) -> ActionOutcome:
        """The inner backend's action, within the deadline."""
        with self._deadline(f"performing {action_id.rsplit('#', 1)[-1]}"):
            return await self.inner.trigger_action(tenant, entity, action_id, parameters)
