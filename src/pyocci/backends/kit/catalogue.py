"""Template catalogues: a cloud's images and sizes as os_tpl and resource_tpl mixins.

Templates change rarely but are needed on nearly every request (discovery,
every create), so a catalogue reads them at most once per `ttl` seconds
(`pyocci.backends.expiring.Expiring`), one read at a time, per key (None
for most clouds; a project, where each sees templates of its own).

Only images that can start a compute now are offered. An image the cloud
is still writing (what a ``save`` just made) is followed
(`pyocci.backends.pending`) and offered as soon as the cloud calls it
ready, without waiting for the next full read.

A backend subclasses `TemplateCatalogue`: it says how to read the offer
(`read`), how to ask about followed images in one call (`look`) and what an
image's mixin is (`image_mixin`).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pyocci.backends import pending
from pyocci.backends.expiring import Expiring
from pyocci.backends.lookups import lookups
from pyocci.model.category import Mixin

#: What a size is on a cloud (an instance type, a flavor...).
S = TypeVar("S")

#: Keys (projects) whose followed images are kept at once, least recently used dropped.
PENDING_KEYS = 256

_LOOKUPS = lookups("templates")


@dataclass(slots=True)
class Offer(Generic[S]):
    """The templates as read at one time: the images' os_tpl mixins (by mixin id), the
    sizes (by the cloud's name for them) and the sizes' resource_tpl mixins (likewise)."""

    images: dict[str, Mixin] = field(default_factory=dict)
    sizes: dict[str, S] = field(default_factory=dict)
    size_mixins: dict[str, Mixin] = field(default_factory=dict)

    def mixins(self) -> list[Mixin]:
        """Every template mixin, images first."""
        return [*self.images.values(), *self.size_mixins.values()]


class TemplateCatalogue(ABC, Generic[S]):
    """A cloud's templates, read at most once per `ttl` seconds per key; images still
    being written followed and offered once ready."""

    def __init__(
        self,
        ttl: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        recheck_seconds: float = pending.RECHECK_SECONDS,
        keys: int = PENDING_KEYS,
    ) -> None:
        self._offers: Expiring[Offer[S]] = Expiring(ttl, clock, lookups=_LOOKUPS)
        self._clock = clock
        #: Seconds between two looks at followed images (for images followed from now on).
        self.recheck_seconds = recheck_seconds
        #: The images being written, per key.
        self.pending = pending.PendingByKey(keys, self._new_pending)

    def _new_pending(self) -> pending.Pending:
        return pending.Pending(recheck_seconds=self.recheck_seconds, clock=self._clock)

    def key(self) -> Hashable:
        """Whose templates the current request sees: None (everyone the same) by default."""
        return None

    @abstractmethod
    async def read(self) -> Offer[S]:
        """Read the templates from the cloud. Images found still being written are
        followed with `follow`, and those found ready forgotten with `forget`."""

    @abstractmethod
    async def look(self, image_ids: list[str]) -> pending.Looked:
        """What the cloud says of followed images, in one call."""

    @abstractmethod
    def image_mixin(self, image_id: str, name: str | None) -> Mixin:
        """The os_tpl mixin of an image."""

    async def offer(self) -> Offer[S]:
        """The templates, read again when older than `ttl`; a followed image the cloud
        has made ready since is offered at once."""
        key = self.key()
        offer = await self._offers.get(self.read, key)
        for image_id, name in (await self.pending.ready(key, self.look)).items():
            mixin = self.image_mixin(image_id, name)
            offer.images[mixin.id] = mixin
        return offer

    async def templates(self) -> list[Mixin]:
        """Every template offered now, images first."""
        return (await self.offer()).mixins()

    def known(self) -> Offer[S]:
        """The templates as last read, without asking the cloud (possibly none)."""
        return self._offers.last(self.key()) or Offer()

    def follow(self, image_id: str, name: str | None = None) -> None:
        """Follow an image the cloud is still writing, to offer it once ready."""
        self.pending.follow(self.key(), image_id, name)

    def forget(self, image_id: str) -> None:
        """Stop following an image (found ready, or gone, by a full read)."""
        followed = self.pending.get(self.key())
        if followed is not None:
            followed.forget(image_id)

    def offer_ready(self, image_id: str, name: str | None) -> None:
        """Offer at once an image the cloud has just called ready, no longer followed.

        The followed images are looked at no more than once per recheck: one that
        became ready since the last look would otherwise stay unoffered until the
        next, and a compute naming it would be refused as naming no template."""
        self.forget(image_id)
        mixin = self.image_mixin(image_id, name)
        self.known().images[mixin.id] = mixin

    def remove_image(self, image_id: str) -> None:
        """An image deleted through this server: offered no more (by the templates as
        last read for the current key) nor followed, before the next full read."""
        offer = self._offers.last(self.key())
        if offer is not None:
            offer.images.pop(self.image_mixin(image_id, None).id, None)
        self.forget(image_id)

    def add_image(self, image_id: str, name: str | None) -> Mixin:
        """The os_tpl of a just-saved image: followed unless already offered, and offered
        once the cloud calls it ready (before the next full read)."""
        mixin = self.image_mixin(image_id, name)
        if mixin.id not in self.known().images:
            self.follow(image_id, name)
        return mixin
