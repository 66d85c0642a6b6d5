"""The embedded simulated cloud: the server's default backend, persisted in the store.

`SimBackend` is built on the backend kit (`pyocci.backends.kit`) over the
store's database: one collection (`SimCollection`) keeps every kind;
`SimSettings` says what the cloud offers (images, resource templates,
zones, address pools, quotas, transition time).

Modules, one job each: `settings` (configuration), `catalogue` (provider
mixins, capabilities), `shared` (the provider networks), `context` (the
cloud and one transaction), `records` (rows and entities), `listing`
(queries to SQL, pages), `allocation` (addresses, MACs, devices),
`quotas`, `rules` (security group rules), `transitions` (simulated time),
`images` (saved OS templates), `inputs` (what a client may set),
`creation`, `updates`, `deletion`, `actions`, `collection` (the entities,
read and written in transactions) and `backend`.
"""

from pyocci.backends.sim.backend import SimBackend
from pyocci.backends.sim.settings import ImageSpec, Quotas, SimSettings

__all__ = ["ImageSpec", "Quotas", "SimBackend", "SimSettings"]
