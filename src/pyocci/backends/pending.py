"""`Pending`: templates a cloud is still preparing, followed until they can start a compute.

A ``save`` answers with its new os_tpl at once, while the cloud is still
writing the image (a Glance image ``queued``, an AMI ``pending``); discovery
offers only templates that can start a compute now. The templates in
between are followed here and asked about again, all in one call, at most
once per `recheck_seconds` while discovery is read: offered once the cloud
calls them ready, dropped once it says anything else (failed, deleted, not
a template of this server's). Followed templates are bounded (`limit`, the
oldest dropped first) and expire (`lifetime`): an image left pending for
good is not asked about forever, and the next full read of the templates
offers it should it ever become ready.

When the cloud cannot be asked, the followed templates are kept as they are
and asked about at the next look: discovery answers with what it has.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field

from pyocci.backends.errors import BackendError

#: Seconds between two looks at the followed templates.
RECHECK_SECONDS = 1.0
#: Templates followed at most (the oldest dropped first).
LIMIT = 64
#: Seconds a template is followed at most.
LIFETIME = 3600.0


@dataclass(frozen=True, slots=True)
class Looked:
    """What the cloud said of the templates asked about: those ready now (id -> name,
    None to keep the name they were followed with) and those still pending. Any other
    template asked about is no template (any more) and is dropped."""

    ready: Mapping[str, str | None] = field(default_factory=dict)
    pending: Collection[str] = ()


#: Asks the cloud about templates by id, in one call.
Look = Callable[[list[str]], Awaitable[Looked]]


class Pending:
    """The templates (by id, with a name) a cloud is still preparing."""

    def __init__(
        self,
        *,
        recheck_seconds: float = RECHECK_SECONDS,
        limit: int = LIMIT,
        lifetime: float = LIFETIME,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        #: Seconds between two looks (0 asks at every `ready`).
        self.recheck_seconds = recheck_seconds
        self._limit = limit
        self._lifetime = lifetime
        self._clock = clock
        #: id -> (name, when first followed), oldest first.
        self._followed: OrderedDict[str, tuple[str | None, float]] = OrderedDict()
        self._looked = -math.inf

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._followed

    def __len__(self) -> int:
        return len(self._followed)

    def follow(self, template_id: str, name: str | None = None) -> None:
        """Follow a template until it is ready; a template new here is asked about at
        the next `ready`, whenever the last look was."""
        if template_id in self._followed:
            return
        self._followed[template_id] = (name, self._clock())
        self._looked = -math.inf
        while len(self._followed) > self._limit:
            self._followed.popitem(last=False)

    def forget(self, template_id: str) -> None:
        """Stop following a template (found ready, or gone, elsewhere)."""
        self._followed.pop(template_id, None)

    async def ready(self, look: Look) -> dict[str, str | None]:
        """The followed templates the cloud calls ready now (id -> name), no longer
        followed; asks with `look` at most once per `recheck_seconds`, and not at all
        when nothing is followed or the cloud fails to answer."""
        now = self._clock()
        for template_id, (_, since) in list(self._followed.items()):
            if now - since > self._lifetime:
                del self._followed[template_id]
        if not self._followed or now - self._looked < self.recheck_seconds:
            return {}
        self._looked = now
        asked = list(self._followed)
        try:
            looked = await look(asked)
        except BackendError:
            return {}  # kept as they are: the next look asks again
        found: dict[str, str | None] = {}
        for template_id in asked:
            if template_id in looked.pending:
                continue
            name, _ = self._followed.pop(template_id, (None, now))
            if template_id in looked.ready:
                found[template_id] = looked.ready[template_id] or name
        return found


class PendingByKey:
    """`Pending` per key (a project, where each sees templates of its own), for at most
    `keys` keys: the least recently used dropped first, an empty one at once."""

    def __init__(self, keys: int = 256, make: Callable[[], Pending] = Pending) -> None:
        self._keys = keys
        self._make = make
        self._pending: OrderedDict[object, Pending] = OrderedDict()

    def get(self, key: object) -> Pending | None:
        """The templates followed for `key`, if any."""
        pending = self._pending.get(key)
        if pending is not None:
            self._pending.move_to_end(key)
        return pending

    def follow(self, key: object, template_id: str, name: str | None = None) -> None:
        """Follow a template for `key` (see `Pending.follow`)."""
        pending = self.get(key)
        if pending is None:
            pending = self._pending[key] = self._make()
            while len(self._pending) > self._keys:
                self._pending.popitem(last=False)
        pending.follow(template_id, name)

    async def ready(self, key: object, look: Look) -> dict[str, str | None]:
        """The templates followed for `key` that are ready now (see `Pending.ready`)."""
        pending = self.get(key)
        if pending is None:
            return {}
        found = await pending.ready(look)
        if not pending:
            del self._pending[key]
        return found

    def __len__(self) -> int:
        return len(self._pending)
