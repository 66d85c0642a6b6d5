"""The categories a tenant sees: what the backend supports, its templates, the user's mixins.

The standard model declares everything OCCI knows; a server serves only
what its backend can do. `served_model` cuts the standard model down to the
backend's capabilities once, at start-up. `Catalog.model_for(tenant)` lays
the backend's provider mixins (OS and resource templates, zones, the
tenant's saved images) and the tenant's user mixins over it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Hashable, Mapping

from pyocci.backends.api import Backend, Tenant
from pyocci.backends.lookups import lookups
from pyocci.model.attribute import AttributeDefinition
from pyocci.model.category import Action, Category, Kind, Mixin
from pyocci.model.core import CORE_KINDS
from pyocci.model.errors import CategoryConflictError
from pyocci.model.registry import Model
from pyocci.service.ports import MixinStore, Runner

_CORE_KIND_IDS = frozenset(kind.id for kind in CORE_KINDS)
_LOOKUPS = lookups("model")


def served_model(standard: Model, backend: Backend) -> Model:
    """The standard model minus what the backend cannot do.

    Unsupported kinds and mixins are left out (clients asking for them get
    501 or 404 and never see them in discovery); the kinds kept list only
    supported actions. The core kinds stay: they are the hierarchy.
    """
    capabilities = backend.capabilities
    kept: list[Category] = []
    for category in standard:
        if isinstance(category, Kind):
            if category.id not in _CORE_KIND_IDS and not capabilities.supports_kind(category.id):
                continue
            actions = tuple(a for a in category.actions if capabilities.supports_action(a))
            attributes = _with_required(
                standard, category, capabilities.required.get(category.id, ())
            )
            attributes = _with_notes(attributes, capabilities.attribute_notes.get(category.id, {}))
            kept.append(dataclasses.replace(category, actions=actions, attributes=attributes))
        elif isinstance(category, Mixin):
            if category.id not in capabilities.mixins:
                continue
            actions = tuple(a for a in category.actions if capabilities.supports_action(a))
            kept.append(dataclasses.replace(category, actions=actions))
        elif isinstance(category, Action) and capabilities.supports_action(category.id):
            kept.append(category)
    return standard.with_categories(_applying_to_served(kept))


def _applying_to_served(categories: list[Category]) -> list[Category]:
    """The categories, each mixin applying only to kinds served (discovery names no kind
    a client cannot find); a mixin left applying to none is not served."""
    served = {c.id for c in categories if isinstance(c, Kind)}
    kept: list[Category] = []
    for category in categories:
        if isinstance(category, Mixin) and category.applies:
            applies = tuple(kind for kind in category.applies if kind in served)
            if not applies:
                continue
            category = dataclasses.replace(category, applies=applies)
        kept.append(category)
    return kept


def _with_required(
    standard: Model, kind: Kind, names: tuple[str, ...]
) -> Mapping[str, AttributeDefinition]:
    """The kind's attribute definitions, with `names` (defined by the kind or by a
    standard mixin, as ``occi.network.address`` is by ipnetwork) marked required."""
    if not names:
        return kind.attributes
    attributes = dict(kind.attributes)
    for name in names:
        definition = attributes.get(name) or next(
            (c.attributes[name] for c in standard if name in c.attributes), None
        )
        if definition is None:
            raise ValueError(f"the backend requires {name}, which no category defines")
        attributes[name] = dataclasses.replace(definition, required=True)
    return attributes


def _with_notes(
    attributes: Mapping[str, AttributeDefinition], notes: Mapping[str, str]
) -> Mapping[str, AttributeDefinition]:
    """The attribute definitions, each noted one's description telling what this cloud
    makes of its value (storage sizes rounded up to whole GiB)."""
    if not notes:
        return attributes
    noted = dict(attributes)
    for name, note in notes.items():
        definition = noted.get(name)
        if definition is None:
            raise ValueError(f"the backend notes {name}, which the kind does not define")
        described = f"{definition.description}; {note}" if definition.description else note
        noted[name] = dataclasses.replace(definition, description=described)
    return noted


class Catalog:
    """Per-tenant models, cached for `ttl` seconds (and dropped when this process
    changes them), so discovery and parsing do not ask the store every request.

    A model is kept only while the store's version of the user mixins' definitions
    stays the same (`MixinStore.definitions_version`), so a mixin defined or deleted
    through another process, on any host, is seen at once; the time to live bounds
    how long the backend's templates are kept (a cloud's templates change behind
    its back). Where the store cannot tell (None), a change made through another
    process reaches this one within `ttl`.
    """

    def __init__(
        self,
        served: Model,
        backend: Backend,
        store: MixinStore,
        runner: Runner,
        *,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.served = served
        self._backend = backend
        self._store = store
        self._runner = runner
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Hashable | None, Model]] = {}

    async def model_for(self, tenant: Tenant) -> Model:
        """The served model, the tenant's provider mixins over it, and its user mixins on top.

        The top layer holds exactly the user mixins, so ``model.owns(id)``
        tells a user mixin from a provider one.
        """
        cached = self._cache.get(tenant.id)
        now = self._clock()
        version = self._store.definitions_version()
        # None: the store cannot vouch that nothing changed (PostgreSQL that could not
        # catch up, say); the catalogue is read again then.
        if (
            cached is not None
            and version is not None
            and cached[1] == version
            and now - cached[0] < self._ttl
        ):
            _LOOKUPS.hit()
            return cached[2]
        _LOOKUPS.miss()
        provided = Model(base=self.served)
        for mixin in await self._backend.provider_mixins(tenant):
            try:
                provided.add(mixin)
            except CategoryConflictError:
                continue  # a template shadowing another is the backend's bug; keep the first
        model = Model(base=provided)
        for mixin in await self._runner.run(self._store.list_user_mixins, tenant.id):
            try:
                model.add(mixin)
            except CategoryConflictError:
                continue  # defined before a provider template took its name
        if len(self._cache) > 10_000:
            self._cache.clear()
        # Kept under the version taken before the reads: a change in between moves the
        # version, and the next request reads again.
        self._cache[tenant.id] = (now, version, model)
        return model

    def forget(self, tenant: Tenant) -> None:
        """Drop the cached model of a tenant after a change made through this process."""
        self._cache.pop(tenant.id, None)
