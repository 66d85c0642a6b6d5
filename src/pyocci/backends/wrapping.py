"""`WrappingBackend`: a backend around another, passing through what costs no cloud call.

The server wraps the backend it serves (a deadline on every call,
`pyocci.backends.bounded`; every call measured, `pyocci.backends.measured`).
Each wrapper decides what to do around the calls that may ask the cloud;
what they all pass straight through (the capabilities, opening and closing,
locations, the revision token, the thread pool, whether callers are
checked, the health check) is here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from pyocci.backends.api import Backend, Capabilities, ImageData, Tenant

T = TypeVar("T")


class WrappingBackend(Backend):
    """`inner`, with its name, cloud and behaviour flags, and what needs no cloud call."""

    def __init__(self, inner: Backend) -> None:
        # No threads of its own: blocking calls run in the inner backend's pool.
        super().__init__(model=inner.model, blocking_threads=1)
        self.inner = inner
        self.name = inner.name
        self.cloud = inner.cloud
        self.retry_after = inner.retry_after
        self.reads_own_writes = inner.reads_own_writes

    @property
    def capabilities(self) -> Capabilities:
        """The inner backend's capabilities."""
        return self.inner.capabilities

    async def open(self) -> None:
        """Open the inner backend (no deadline: backends ask their cloud on first use)."""
        await self.inner.open()

    async def close(self) -> None:
        """Close the inner backend."""
        await self.inner.close()

    async def check_health(self) -> str | None:
        """The inner backend's check (the health page bounds its time itself)."""
        return await self.inner.check_health()

    def location_of(self, kind_id: str, entity_id: str) -> str:
        """Where the inner backend puts an entity."""
        return self.inner.location_of(kind_id, entity_id)

    @property
    def reads_on_loop(self) -> bool:
        """Whether the inner backend reads listings on the event loop."""
        return self.inner.reads_on_loop

    def revision(self) -> Hashable | None:
        """The inner backend's revision token."""
        return self.inner.revision()

    async def run_blocking(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call in the inner backend's thread pool."""
        return await self.inner.run_blocking(function, *args, **kwargs)

    @property
    def checks_callers(self) -> bool:  # type: ignore[override]
        """Whether the inner backend checks callers' own credentials."""
        return self.inner.checks_callers

    @property
    def export_refusal(self) -> str | None:
        """Why the inner backend cannot export images, or None."""
        return self.inner.export_refusal

    async def read_image(self, tenant: Tenant, mixin_id: str, chunk_bytes: int) -> ImageData:
        """The inner backend's image bytes: a stream that takes minutes is not bounded by
        a request's deadline (the export runner reads it, no request waits)."""
        return await self.inner.read_image(tenant, mixin_id, chunk_bytes)

    async def delete_template(self, tenant: Tenant, mixin_id: str) -> bool:
        """Delete a template the tenant made, on the inner backend."""
        return await self.inner.delete_template(tenant, mixin_id)
