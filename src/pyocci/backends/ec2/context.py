"""What every EC2 operation module needs: the API, the offer, the tenancy, the reader."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

from pyocci.backends.ec2 import ids
from pyocci.backends.ec2.api import Ec2Api
from pyocci.backends.ec2.catalogue import Catalogue
from pyocci.backends.ec2.placement import Placement
from pyocci.backends.ec2.reading import Reader
from pyocci.backends.ec2.settings import Ec2Settings
from pyocci.backends.ec2.tenancy import Tenancy
from pyocci.backends.errors import BackendUnavailableError, InvalidRequestError
from pyocci.model.entity import Entity

T = TypeVar("T")


@dataclass(slots=True)
class Ec2:
    """The pieces of one EC2 backend, shared by its operation modules."""

    api: Ec2Api
    settings: Ec2Settings
    catalogue: Catalogue
    placement: Placement
    tenancy: Tenancy
    reader: Reader

    async def wait_for(
        self, what: str, check: Callable[[], Awaitable[T | None]], *, interval: float = 1.0
    ) -> T:
        """Poll `check` until it returns something, for at most `wait_seconds`.

        EC2 is asynchronous: an instance must be running before volumes
        attach, an interface detached before it can be deleted.
        """
        with anyio.move_on_after(self.settings.wait_seconds):
            while True:
                found = await check()
                if found is not None:
                    return found
                await anyio.sleep(interval)
        raise BackendUnavailableError(
            f"EC2 did not finish {what} within {self.settings.wait_seconds:g} s",
            retry_after=self.settings.retry_after,
        )


def target_id(link: Entity, prefix: str, what: str) -> str:
    """The EC2 id a link's target names (``/storage/vol-1`` -> ``vol-1``), else a 400."""
    target = link.attributes.get("occi.core.target")
    found = ids.ec2_id_of(target, prefix)
    if found is None:
        raise InvalidRequestError(f"the target {target!r} is not {what} of this cloud")
    return found


def source_instance(link: Entity) -> str:
    """The instance a link starts at, else a 400."""
    source = link.attributes.get("occi.core.source")
    found = ids.ec2_id_of(source, "i")
    if found is None:
        raise InvalidRequestError(f"the source {source!r} is not a compute of this cloud")
    return found
