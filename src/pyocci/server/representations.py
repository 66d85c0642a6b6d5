"""Rendered entities kept while nothing they show can have changed.

Clients poll entities (waiting for a state, refreshing a dashboard) far more
often than anything changes, and reading one entity costs a transaction and
several queries, far more than answering from memory. When the backend can
tell cheaply whether anything changed (`Backend.revision`: the sim on SQLite
can), the server keeps the responses it rendered for entity reads, each under
the revision it was rendered at, and drops them all as soon as the revision
moves: a change from any worker, a user mixin association, a timed transition
finishing. Backends that cannot tell return None and nothing is kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from starlette.responses import Response

from pyocci.backends.lookups import lookups

_LOOKUPS = lookups("entity")

#: How many rendered entities are kept at most (a few KiB each).
DEFAULT_CAPACITY = 4096


class Representations:
    """Responses by key, for one revision at a time, the least recently used dropped
    first beyond `capacity`."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._revision: Hashable | None = None
        self._kept: OrderedDict[Hashable, Response] = OrderedDict()

    def lookup(self, revision: Hashable, key: Hashable) -> Response | None:
        """The response kept for `key` at this revision, if any."""
        if revision != self._revision:
            self._kept.clear()
            self._revision = revision
            _LOOKUPS.miss()
            return None
        response = self._kept.get(key)
        if response is None:
            _LOOKUPS.miss()
        else:
            self._kept.move_to_end(key)
            _LOOKUPS.hit()
        return response

    def keep(self, revision: Hashable, key: Hashable, response: Response) -> None:
        """Keep a response rendered from what was read at `revision` (taken before the read)."""
        if revision != self._revision:
            # The revision moved while reading: what was read may be older or newer
            # than either; keep nothing and let the next lookup start afresh.
            return
        self._kept[key] = response
        self._kept.move_to_end(key)
        if len(self._kept) > self.capacity:
            self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)
