"""What the service needs from the store, stated as protocols so it depends on no table."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol, TypeVar

from pyocci.model.category import Mixin
from pyocci.store.usage import Change

T = TypeVar("T")


class Runner(Protocol):
    """Runs a blocking store call without stalling the event loop longer than it must."""

    async def run(self, function: Callable[..., T], *args: Any) -> T: ...

    async def write(self, function: Callable[..., T], *args: Any) -> T:
        """``function(connection, *args)`` in a write transaction, committed before this
        returns (it may share its commit with writes made at the same moment)."""
        ...


class MixinStore(Protocol):
    """User mixins and their members, per tenant: OCCI-only state no cloud keeps."""

    def definitions_version(self) -> Hashable | None: ...

    def list_user_mixins(self, tenant_id: str) -> list[Mixin]: ...

    def add_user_mixin(self, tenant_id: str, mixin: Mixin) -> None: ...

    def remove_user_mixin(self, tenant_id: str, mixin_id: str) -> bool: ...

    def members(self, tenant_id: str, mixin_id: str) -> list[str]: ...

    def mixins_of(self, tenant_id: str, locations: Sequence[str]) -> dict[str, list[str]]: ...

    def associate(self, tenant_id: str, mixin_id: str, locations: Sequence[str]) -> None: ...

    def disassociate(
        self, tenant_id: str, mixin_id: str, locations: Sequence[str] | None
    ) -> None: ...

    def replace_members(self, tenant_id: str, mixin_id: str, locations: Sequence[str]) -> None: ...

    def forget_entity(self, tenant_id: str, location: str) -> None: ...


class UsageStore(Protocol):
    """The computes' lives for accounting: what each was, and when (see
    `pyocci.store.usage`)."""

    def observe_in(self, connection: Any, change: Change) -> None: ...

    def deleted(self, tenant_id: str, entity_id: str, at: float) -> bool: ...

    def deleted_in(self, connection: Any, tenant_id: str, entity_id: str, at: float) -> bool: ...
