"""What a change is announced as: the topics of the store's change notices and counts.

``entities``: what an entity read shows (entities, their links, user mixin
members). ``catalog``: the categories a tenant sees (user mixins' definitions).
Readers keep what they read under the version of its topic (see
`Database.data_version` and `pyocci.store.changes`).
"""

from __future__ import annotations

ENTITIES = "entities"
CATALOG = "catalog"
#: Every topic, in the order they are counted.
TOPICS = (ENTITIES, CATALOG)
