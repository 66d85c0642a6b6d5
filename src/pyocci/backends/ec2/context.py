"""What every EC2 collection needs: the API, the offer, the tenancy, the reader."""

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
from pyocci.backends.errors import BackendUnavailableError, InvalidRequestError, NotSupportedError
from pyocci.backends.kit import Collection
from pyocci.model.entity import Entity, Resource

T = TypeVar("T")


@dataclass(slots=True)
class Ec2:
    """The pieces of one EC2 backend, shared by its collections."""

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


class Ec2Collection(Collection):
    """A collection of one EC2 backend: an OCCI id says its kind (`ids.parse`), so a
    read of an id of another kind is answered not found without asking EC2."""

    def __init__(self, ec2: Ec2) -> None:
        self.ec2 = ec2

    def may_hold(self, kind_id: str, entity_id: str) -> bool:
        """Whether an EC2 thing of this kind can have this id."""
        parsed = ids.parse(entity_id)
        return parsed is not None and parsed.kind == kind_id


def unlinked(entity: Entity) -> None:
    """Refuse links given at the creation of a resource other than a compute."""
    if isinstance(entity, Resource) and entity.links:
        raise NotSupportedError(f"only computes take links at creation on EC2, not {entity.kind}")


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
