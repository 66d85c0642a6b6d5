"""The backend kit: what every backend is built from.

- `Collection`: the entities of some kinds one part of a cloud keeps, with
  a table of action handlers per collection;
- `KitBackend`: a backend made of collections, routing by kind, listing
  across kinds as one paged sequence (`paging.chain`);
- `context`: user data, SSH keys and template choice for new computes;
- `catalogue`: images and sizes as template mixins, cached and followed;
- `errors`: what cloud errors mean, the same for every cloud;
- `settings`: typed settings read from ``[backend_settings]``.

The in-memory reference backend (`pyocci.backends.memory`) shows them at
work in a few small files; ``docs/backends.md`` walks through it.
"""

from pyocci.backends.kit.backend import KitBackend, union
from pyocci.backends.kit.collection import ActionHandler, Collection
from pyocci.backends.kit.paging import chain

__all__ = ["ActionHandler", "Collection", "KitBackend", "chain", "union"]
