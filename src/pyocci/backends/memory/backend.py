"""`MemoryBackend`: a cloud kept in this process's memory, built on the backend kit.

The reference backend: the shape a new backend copies. It is a
`KitBackend` made of collections (computes, storage, networks, their
links), each a kit `Collection` over one `Shelf`; the kit routes each
request to the collection serving the entity's kind and lists them as one
paged sequence. Everything is lost when the process ends, and every
process (every worker) has a cloud of its own: it serves tests, demos and
the authors of other backends, not users.

``build`` is the entry point (``memory = "pyocci.backends.memory.backend:build"``
in the ``pyocci.backends`` group).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyocci.backends.api import Tenant
from pyocci.backends.kit import KitBackend
from pyocci.backends.memory.catalogue import Catalogue
from pyocci.backends.memory.links import Links
from pyocci.backends.memory.resources import Computes, Networks, Storages
from pyocci.backends.memory.settings import MemorySettings
from pyocci.backends.memory.shelf import Shelf
from pyocci.backends.registry import BackendSetup
from pyocci.model.category import Mixin
from pyocci.model.registry import Model


class MemoryBackend(KitBackend):
    """Computes, storage, networks and their links, per tenant, in memory."""

    name = "memory"
    cloud = "the memory backend"
    #: A write is done when its call returns: the next read sees it.
    reads_own_writes = True

    def __init__(self, *, model: Model, settings: MemorySettings | None = None) -> None:
        super().__init__(model=model)
        self.settings = settings if settings is not None else MemorySettings()
        self.catalogue = Catalogue(self.settings)
        shelf = Shelf()
        links = Links(model, shelf)
        #: Resources before links, as every backend lists them.
        self.collections = (
            Computes(model, shelf, links, self.catalogue, self.settings.computes),
            Storages(model, shelf, links),
            Networks(model, shelf, links),
            links,
        )

    @property
    def reads_on_loop(self) -> bool:
        """Every call is work on a dictionary, done on the event loop: no cloud to wait
        for, so no cloud deadline either."""
        return True

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The configured images and sizes, and the images the tenant saved."""
        return self.catalogue.mixins(tenant.id)


def build(setup: BackendSetup) -> MemoryBackend:
    """The ``memory`` entry point: a memory backend offering what ``[backend_settings]``
    says (see `MemorySettings`). It needs no database and does no I/O."""
    return MemoryBackend(model=setup.model, settings=MemorySettings.from_dict(setup.settings))
