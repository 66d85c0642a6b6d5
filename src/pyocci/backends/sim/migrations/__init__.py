"""The sim's branch of the store's migrations (label ``sim``), declared to the store
by the ``pyocci.migrations`` entry point ``sim`` (see `pyocci.store.schema`).

``versions/`` holds the revisions; they create `metadata`'s tables. The store's
environment runs them: `Database.upgrade` brings this branch to its head with
the store's.
"""

from pyocci.backends.sim.tables import metadata

__all__ = ["metadata"]
