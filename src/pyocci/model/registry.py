"""The `Model`: the set of categories a server knows, and the questions asked of it.

Lookup by identifier and by location, the kind hierarchy, mixin depends and
applies, the attribute definitions and actions an entity has, the state
machines, and validation of an entity against all of that.

A Model can sit on top of a base model (`Model(base=...)`): lookups fall
through to the base, additions stay in the overlay. A server keeps one
standard model and lays each tenant's user mixins over it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from pyocci.model.attribute import AttributeDefinition
from pyocci.model.category import TERM_PATTERN, Action, Category, Kind, Mixin
from pyocci.model.core import ENTITY, LINK
from pyocci.model.entity import CORE_ID, CORE_SOURCE_KIND, CORE_TARGET_KIND, Entity, Link, Resource
from pyocci.model.errors import CategoryConflictError, UnknownCategoryError, ValidationError
from pyocci.model.export import SETTABLE_AT_EXPORT
from pyocci.model.states import StateMachine

#: Not a value: an attribute the entity did not have.
_ABSENT = object()

#: Immutable attributes a client may nevertheless send when creating an
#: entity: the id (client-chosen paths, and JSON requires it) and the kinds
#: of link ends, which are implied by the ends and checked there.
#: ``occi.networkinterface.interface`` too: a device name the client asks for
#: (OCCI 1.1 required one), which a backend honours where the cloud lets it.
SETTABLE_AT_CREATION = frozenset(
    {
        CORE_ID,
        CORE_SOURCE_KIND,
        CORE_TARGET_KIND,
        "occi.networkinterface.interface",
        *SETTABLE_AT_EXPORT,
    }
)

_CACHE_SIZE = 4096

RESOURCE_TPL_ID = "http://schemas.ogf.org/occi/infrastructure#resource_tpl"
OS_TPL_ID = "http://schemas.ogf.org/occi/infrastructure#os_tpl"


def normalize_location(location: str) -> str:
    """Collection locations end in ``/`` (OCCI 1.1 rule kept by 1.2 implementations)."""
    return location if location.endswith("/") else location + "/"


class Model:
    """A registry of Kinds, Mixins and Actions, optionally layered over a base model."""

    def __init__(
        self,
        categories: Iterable[Category] = (),
        *,
        state_machines: Mapping[str, StateMachine] | None = None,
        legacy_attribute_names: Mapping[str, str] | None = None,
        base: Model | None = None,
    ) -> None:
        self._base = base
        self._categories: dict[str, Category] = {}
        self._locations: dict[str, Category] = {}
        self._state_machines: dict[str, StateMachine] = dict(state_machines or {})
        self._legacy_names: dict[str, str] = dict(legacy_attribute_names or {})
        # Attribute definitions per (kind, mixins), asked for on every parse
        # and validation; dropped whenever this model or its base changes.
        self._generation = 0
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._cache_stamp = -1
        for category in categories:
            self.add(category)

    def with_categories(self, categories: Iterable[Category]) -> Model:
        """A new model of `categories` keeping this model's state machines and legacy names
        (a server serving part of the standard model, say)."""
        return Model(
            categories,
            state_machines=self._state_machines,
            legacy_attribute_names=self._legacy_names,
        )

    # --- registry ---------------------------------------------------------------

    def add(self, category: Category) -> None:
        """Register a category; raise CategoryConflictError if its id or location is taken."""
        if self.get(category.id) is not None:
            raise CategoryConflictError(f"category {category.id!r} is already defined")
        location = getattr(category, "location", None)
        if location is not None:
            location = normalize_location(location)
            taken = self.by_location(location)
            if taken is not None:
                raise CategoryConflictError(
                    f"location {location!r} is already bound to {taken.id!r}"
                )
            self._locations[location] = category
        self._categories[category.id] = category
        self._generation += 1

    def remove(self, identifier: str) -> Category:
        """Unregister a category of this layer (never one of the base model)."""
        category = self._categories.pop(identifier, None)
        if category is None:
            if self._base is not None and self._base.get(identifier) is not None:
                raise CategoryConflictError(f"{identifier!r} is provider-defined")
            raise UnknownCategoryError(identifier)
        location = getattr(category, "location", None)
        if location is not None:
            self._locations.pop(normalize_location(location), None)
        self._generation += 1
        return category

    def _stamp(self) -> int:
        """Changes whenever a category is added to or removed from this model or its bases:
        the sum of the layers' generations, each of which only ever grows."""
        stamp = 0
        layer: Model | None = self
        while layer is not None:
            stamp += layer._generation
            layer = layer._base
        return stamp

    def _cached(self) -> dict[tuple[Any, ...], Any]:
        """Memo of derived answers (ancestry, definitions), valid until the model changes."""
        stamp = self._stamp()
        if stamp != self._cache_stamp or len(self._cache) > _CACHE_SIZE:
            self._cache.clear()
            self._cache_stamp = stamp
        return self._cache

    def own_categories(self) -> list[Category]:
        """The categories added to this layer (a tenant overlay's user mixins, say)."""
        return list(self._categories.values())

    def owns(self, identifier: str) -> bool:
        """Whether the category was added to this layer (not inherited from the base)."""
        return identifier in self._categories

    def get(self, identifier: str) -> Category | None:
        """The category with this identifier, or None."""
        category = self._categories.get(identifier)
        if category is None and self._base is not None:
            return self._base.get(identifier)
        return category

    def by_location(self, location: str) -> Category | None:
        """The Kind or Mixin bound to a collection path, or None."""
        location = normalize_location(location)
        category = self._locations.get(location)
        if category is None and self._base is not None:
            return self._base.by_location(location)
        return category

    def __contains__(self, identifier: object) -> bool:
        return isinstance(identifier, str) and self.get(identifier) is not None

    def __iter__(self) -> Iterator[Category]:
        if self._base is not None:
            yield from self._base
        yield from self._categories.values()

    def __len__(self) -> int:
        return sum(1 for _ in self)

    @property
    def kinds(self) -> list[Kind]:
        """Every Kind, base model first."""
        return [c for c in self if isinstance(c, Kind)]

    @property
    def mixins(self) -> list[Mixin]:
        """Every Mixin, base model first."""
        return [c for c in self if isinstance(c, Mixin)]

    @property
    def actions(self) -> list[Action]:
        """Every Action, base model first."""
        return [c for c in self if isinstance(c, Action)]

    def kind(self, identifier: str) -> Kind:
        """The Kind with this identifier; UnknownCategoryError if there is none."""
        category = self.get(identifier)
        if not isinstance(category, Kind):
            raise UnknownCategoryError(identifier, "kind")
        return category

    def mixin(self, identifier: str) -> Mixin:
        """The Mixin with this identifier; UnknownCategoryError if there is none."""
        category = self.get(identifier)
        if not isinstance(category, Mixin):
            raise UnknownCategoryError(identifier, "mixin")
        return category

    def action(self, identifier: str) -> Action:
        """The Action with this identifier; UnknownCategoryError if there is none."""
        category = self.get(identifier)
        if not isinstance(category, Action):
            raise UnknownCategoryError(identifier, "action")
        return category

    def state_machine(self, kind_id: str) -> StateMachine | None:
        """The state machine of a kind, inherited from the nearest ancestor that has one."""
        machines = self.state_machines(kind_id)
        return machines[0] if machines else None

    def state_machines(self, kind_id: str) -> list[StateMachine]:
        """The state machines of a kind and its ancestors, nearest first."""
        cache = self._cached()
        machines = cache.get(("machines", kind_id))
        if machines is None:
            machines = cache[("machines", kind_id)] = [
                machine
                for kind in self.ancestors(kind_id)
                if (machine := self._own_state_machine(kind.id)) is not None
            ]
        return machines

    def _own_state_machine(self, kind_id: str) -> StateMachine | None:
        machine = self._state_machines.get(kind_id)
        if machine is None and self._base is not None:
            return self._base._own_state_machine(kind_id)
        return machine

    def canonical_attribute_name(self, name: str) -> str:
        """The 1.2 name for an attribute name other implementations send."""
        return self._all_legacy_names().get(name, name)

    def _all_legacy_names(self) -> Mapping[str, str]:
        cache = self._cached()
        names = cache.get(("legacy",))
        if names is None:
            inherited = self._base._all_legacy_names() if self._base is not None else {}
            names = cache[("legacy",)] = {**inherited, **self._legacy_names}
        return names

    # --- hierarchy --------------------------------------------------------------

    def ancestors(self, kind_id: str) -> list[Kind]:
        """The kind and its parents, nearest first; unknown parents end the chain."""
        cache = self._cached()
        chain = cache.get(("ancestors", kind_id))
        if chain is None:
            chain = []
            seen: set[str] = set()
            current: str | None = kind_id
            while current is not None and current not in seen:
                seen.add(current)
                category = self.get(current)
                if not isinstance(category, Kind):
                    break
                chain.append(category)
                current = category.parent
            cache[("ancestors", kind_id)] = chain
        return list(chain)

    def location_of(self, kind_id: str, entity_id: str) -> str:
        """Where an entity lives: its kind's collection plus its id (GFD.223 §1)."""
        return normalize_location(self.kind(kind_id).location or "/") + entity_id

    def is_kind_of(self, kind_id: str, ancestor_id: str) -> bool:
        """Whether `kind_id` is `ancestor_id` or one of its descendants."""
        return any(kind.id == ancestor_id for kind in self.ancestors(kind_id))

    def dependencies(self, mixin_id: str) -> list[Mixin]:
        """The mixin and every mixin it depends on, transitively, nearest first."""
        cache = self._cached()
        key = ("dependencies", mixin_id)
        known = cache.get(key)
        if known is None:
            found: list[Mixin] = []
            seen: set[str] = set()
            pending = [mixin_id]
            while pending:
                current = pending.pop(0)
                if current in seen:
                    continue
                seen.add(current)
                category = self.get(current)
                if isinstance(category, Mixin):
                    found.append(category)
                    pending.extend(category.depends)
            known = cache[key] = tuple(found)
        return list(known)

    def depends_on(self, mixin_id: str, parent_id: str) -> bool:
        """Whether a mixin is, or transitively depends on, `parent_id` (e.g. os_tpl)."""
        cache = self._cached()
        key = ("depends on", mixin_id)
        ids = cache.get(key)
        if ids is None:
            ids = cache[key] = frozenset(mixin.id for mixin in self.dependencies(mixin_id))
        return parent_id in ids

    def templates(self, parent_id: str) -> list[Mixin]:
        """The mixins that depend on a parent mixin (os_tpl, resource_tpl ...), minus it."""
        return [m for m in self.mixins if m.id != parent_id and self.depends_on(m.id, parent_id)]

    def effective_applies(self, mixin_id: str) -> tuple[str, ...]:
        """The kinds a mixin applies to: its own `applies`, else those of what it depends on.

        Empty means it applies to any entity.
        """
        for mixin in self.dependencies(mixin_id):
            if mixin.applies:
                return mixin.applies
        return ()

    def mixin_applies_to(self, mixin_id: str, kind_id: str) -> bool:
        """Whether a mixin may be associated with an entity of this kind."""
        applies = self.effective_applies(mixin_id)
        if not applies:
            return True
        ancestry = {kind.id for kind in self.ancestors(kind_id)}
        return any(target in ancestry for target in applies)

    # --- what an entity has -------------------------------------------------------

    def attribute_definitions(
        self, kind_id: str, mixin_ids: Iterable[str] = ()
    ) -> Mapping[str, AttributeDefinition]:
        """Every attribute definition an entity of this kind with these mixins has.

        Kind definitions come root first so a child's definition replaces its
        parent's; mixin definitions (with their dependencies) come last, so a
        template's default replaces the kind's. The answer is read-only and
        cached until the model changes.
        """
        key = ("definitions", kind_id, tuple(mixin_ids))
        cache = self._cached()
        cached = cache.get(key)
        if cached is None:
            definitions: dict[str, AttributeDefinition] = {}
            for kind in reversed(self.ancestors(kind_id)):
                definitions.update(kind.attributes)
            for mixin_id in key[2]:
                for mixin in reversed(self.dependencies(mixin_id)):
                    definitions.update(mixin.attributes)
            cached = cache[key] = MappingProxyType(definitions)
        return cached

    def declared_actions(self, kind_id: str, mixin_ids: Iterable[str] = ()) -> list[str]:
        """Identifiers of every action the kind (with ancestors) and mixins define."""
        key = ("actions", kind_id, tuple(mixin_ids))
        cache = self._cached()
        actions = cache.get(key)
        if actions is None:
            found: list[str] = []
            for kind in reversed(self.ancestors(kind_id)):
                found.extend(kind.actions)
            for mixin_id in key[2]:
                for mixin in self.dependencies(mixin_id):
                    found.extend(mixin.actions)
            actions = cache[key] = tuple(dict.fromkeys(found))
        return list(actions)

    def applicable_actions(self, entity: Entity) -> list[str]:
        """The actions an entity offers now: declared ones its state machine allows.

        A kind with a life cycle of its own (ipreservation under network) does
        not offer the inherited actions that drive its parent's life cycle.
        Actions no machine governs (a provider mixin's) always apply. The answer
        depends only on the kind, the mixins and the state, and is remembered.
        """
        kind_id = entity.kind
        if kind_id is None:
            return []
        # One look at the memo for both answers: this runs for every entity listed.
        cache = self._cached()
        machines = cache.get(("machines", kind_id))
        if machines is None:
            machines = self.state_machines(kind_id)
        state = None
        if machines:
            state = entity.attributes.get(machines[0].attribute, machines[0].initial)
        key = ("applicable", kind_id, tuple(entity.mixins), state)
        applicable = cache.get(key)
        if applicable is None:
            applicable = cache[key] = tuple(self._applicable(entity, machines, state))
        return list(applicable)

    def _applicable(
        self, entity: Entity, machines: list[StateMachine], state: Any
    ) -> Iterator[str]:
        declared = self.declared_actions(entity.kind or "", entity.mixins)
        if not machines:
            yield from declared
            return
        nearest = machines[0]
        for action in declared:
            moves = nearest.transitions.get(action)
            if moves is not None:
                if state in moves:
                    yield action
            elif not any(action in machine.transitions for machine in machines[1:]):
                yield action

    def find_actions(self, entity: Entity, term: str) -> list[str]:
        """Identifiers of the actions declared for an entity whose term is `term`."""
        return [
            action
            for action in self.declared_actions(entity.kind or "", entity.mixins)
            if action.rsplit("#", 1)[-1] == term
        ]

    # --- normalisation ------------------------------------------------------------

    def coerce(self, entity: Entity) -> None:
        """Rename legacy attribute names and bring lossy wire values to their types.

        Text renderings carry no types and some servers quote everything; after
        this, values have the Python type their definition says, where the
        conversion is safe. Inline links are coerced too.
        """
        definitions = self.attribute_definitions(entity.kind or "", entity.mixins)
        legacy = self._all_legacy_names()
        coerced: dict[str, Any] = {}
        for name, value in entity.attributes.items():
            name = legacy.get(name, name)
            definition = definitions.get(name)
            coerced[name] = value if definition is None else definition.coerce(value)
        entity.attributes = coerced
        if isinstance(entity, Resource):
            for link in entity.links:
                self.coerce(link)

    def coerce_invocation_attributes(
        self, action_id: str, attributes: dict[str, Any]
    ) -> dict[str, Any]:
        """Coerce action parameters to the types the action declares."""
        action = self.get(action_id)
        if action is None:
            return dict(attributes)
        return {
            name: (action.attributes[name].coerce(value) if name in action.attributes else value)
            for name, value in attributes.items()
        }

    def apply_defaults(self, entity: Entity) -> None:
        """Fill in defaults, and let resource templates set the sizes they define.

        GFD.224: a resource template associated with a resource overrides the
        resource's own size attributes; other defaults only fill gaps.
        """
        definitions = self.attribute_definitions(entity.kind or "", entity.mixins)
        for name, definition in definitions.items():
            if definition.default is not None and name not in entity.attributes:
                entity.attributes[name] = definition.default
        for mixin_id in entity.mixins:
            if self.depends_on(mixin_id, RESOURCE_TPL_ID):
                for mixin in self.dependencies(mixin_id):
                    for name, definition in mixin.attributes.items():
                        if definition.default is not None:
                            entity.attributes[name] = definition.default

    # --- validation ---------------------------------------------------------------

    def validate(
        self, entity: Entity, *, creating: bool = True, allow_undeclared: bool = False
    ) -> None:
        """Check an entity against its kind and mixins; raise ValidationError if it fails.

        With `creating`, the client-supplied view of a new entity is checked:
        required attributes must be given (or have defaults) and attributes the
        kind marks immutable must not be set. Undeclared attributes are refused
        unless `allow_undeclared`: clients must add the mixin that defines them.
        """
        problems = self.problems(entity, creating=creating, allow_undeclared=allow_undeclared)
        if problems:
            raise ValidationError(problems)

    def problems(
        self, entity: Entity, *, creating: bool = True, allow_undeclared: bool = False
    ) -> list[str]:
        """Like `validate`, but return the list of problems instead of raising."""
        problems = self._own_problems(entity, creating, allow_undeclared)
        if isinstance(entity, Resource):
            for link in entity.links:
                problems.extend(
                    f"link {link.id or link.target or '?'}: {problem}"
                    for problem in self.problems(
                        link, creating=creating, allow_undeclared=allow_undeclared
                    )
                )
        return problems

    def change_problems(self, current: Entity, desired: Entity) -> list[str]:
        """The problems of `desired`, an update of the stored entity `current`: what
        `problems` finds with ``creating=False``, links left out (they change on their
        own). Where the kind and mixins stay, only the attributes the update set are
        checked: the others are the very values `current` holds (the same objects, so an
        equal value of another type, ``true`` for ``1``, counts as set)."""
        if desired.kind != current.kind or desired.mixins != current.mixins:
            return self._own_problems(desired, False, False)
        before = current.attributes
        changed = {
            name: value
            for name, value in desired.attributes.items()
            if before.get(name, _ABSENT) is not value
        }
        if not changed:
            return []
        return self._attribute_problems(desired, False, False, changed)

    def _own_problems(self, entity: Entity, creating: bool, allow_undeclared: bool) -> list[str]:
        """The entity's problems, its inline links left out."""
        if entity.kind is None:
            return ["the entity names no kind; give exactly one kind"]
        kind = self.get(entity.kind)
        if not isinstance(kind, Kind):
            what = "a " + kind.category_class if kind is not None else "unknown"
            return [f"kind {entity.kind!r} is {what}; use one of the kinds the server lists at /-/"]
        problems: list[str] = []
        problems.extend(self._entity_class_problems(entity))
        problems.extend(self._mixin_problems(entity))
        problems.extend(self._attribute_problems(entity, creating, allow_undeclared))
        return problems

    def _entity_class_problems(self, entity: Entity) -> list[str]:
        if entity.kind == ENTITY.id:
            return [f"{ENTITY.id!r} is abstract; use a resource or link kind"]
        is_link_kind = self.is_kind_of(entity.kind, LINK.id)
        if isinstance(entity, Link) and not is_link_kind:
            return [f"{entity.kind!r} is not a link kind, but the entity has a source and target"]
        if isinstance(entity, Resource) and is_link_kind:
            return [f"{entity.kind!r} is a link kind; give occi.core.source and occi.core.target"]
        return []

    def _mixin_problems(self, entity: Entity) -> list[str]:
        problems: list[str] = []
        template_parents: dict[str, list[str]] = {}
        for mixin_id in entity.mixins:
            category = self.get(mixin_id)
            if category is None:
                problems.append(f"unknown mixin {mixin_id!r}; the server lists its mixins at /-/")
                continue
            if not isinstance(category, Mixin):
                problems.append(f"{mixin_id!r} is a {category.category_class}, not a mixin")
                continue
            if not self.mixin_applies_to(mixin_id, entity.kind):
                applies = ", ".join(self.effective_applies(mixin_id))
                problems.append(
                    f"mixin {mixin_id!r} cannot be applied to {entity.kind!r}; "
                    f"it applies to {applies}"
                )
            for parent in (OS_TPL_ID, RESOURCE_TPL_ID):
                if mixin_id != parent and self.depends_on(mixin_id, parent):
                    template_parents.setdefault(parent, []).append(mixin_id)
        for parent, templates in template_parents.items():
            if len(templates) > 1:
                term = parent.rsplit("#", 1)[1]
                problems.append(
                    f"an entity takes at most one {term} template; got {', '.join(templates)}"
                )
        return problems

    def _attribute_problems(
        self,
        entity: Entity,
        creating: bool,
        allow_undeclared: bool,
        attributes: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """The problems of the entity's `attributes` (all of them by default)."""
        problems: list[str] = []
        definitions = self.attribute_definitions(entity.kind, entity.mixins)
        kind_definitions = self.attribute_definitions(entity.kind)
        for name, value in (entity.attributes if attributes is None else attributes).items():
            definition = definitions.get(name)
            if definition is None:
                if not allow_undeclared:
                    problems.append(
                        f"attribute {name} is not defined by {entity.kind!r} or the entity's "
                        "mixins; add the mixin that defines it"
                    )
                continue
            if value is None:
                continue
            problem = definition.problem_with(value)
            if problem is not None:
                problems.append(problem)
            kind_definition = kind_definitions.get(name)
            if (
                creating
                and kind_definition is not None
                and not kind_definition.mutable
                and name not in SETTABLE_AT_CREATION
            ):
                problems.append(f"attribute {name} is managed by the server and cannot be set")
        if creating:
            for name, definition in definitions.items():
                if (
                    definition.required
                    and definition.default is None
                    and entity.attributes.get(name) is None
                ):
                    problems.append(f"attribute {name} is required")
        return problems

    def validate_invocation(self, action_id: str, attributes: Mapping[str, Any]) -> None:
        """Check action parameters against the action's definitions."""
        action = self.action(action_id)
        problems: list[str] = []
        for name, value in attributes.items():
            definition = action.attributes.get(name)
            if definition is None:
                allowed = ", ".join(action.attributes) or "none"
                problems.append(
                    f"{action.term} takes no parameter {name!r} (parameters: {allowed})"
                )
                continue
            problem = definition.problem_with(value)
            if problem is not None:
                problems.append(problem)
        for name, definition in action.attributes.items():
            if definition.required and definition.default is None and name not in attributes:
                problems.append(f"{action.term} needs the parameter {name!r}")
        if problems:
            raise ValidationError(problems)

    # --- user mixins ----------------------------------------------------------------

    def add_user_mixin(self, mixin: Mixin) -> None:
        """Define a user mixin (a tag or a grouping), checking what a client may define.

        A user mixin needs a valid term, a scheme ending in ``#``, a location,
        no attribute definitions and no actions (GFD.223 §4); what it depends
        on must exist.
        """
        problems: list[str] = []
        if not TERM_PATTERN.fullmatch(mixin.term):
            problems.append(f"term {mixin.term!r} is not a valid OCCI term")
        if not mixin.scheme.endswith("#"):
            problems.append(f"scheme {mixin.scheme!r} must end with '#'")
        if mixin.location is None:
            problems.append("a user mixin needs a location")
        if mixin.attributes or mixin.actions:
            problems.append("a user mixin cannot define attributes or actions")
        for depended in mixin.depends:
            if not isinstance(self.get(depended), Mixin):
                problems.append(f"mixin {mixin.id!r} depends on unknown mixin {depended!r}")
        for kind_id in mixin.applies:
            if not isinstance(self.get(kind_id), Kind):
                problems.append(f"mixin {mixin.id!r} applies to unknown kind {kind_id!r}")
        if problems:
            raise ValidationError(problems)
        self.add(mixin)
