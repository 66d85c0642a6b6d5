"""The pages of the HTML view, rendered from the model's objects.

Each ``render_*`` function is pure: what the page shows comes in as model
objects (categories, entities) and small view records built here or by the
server; out comes the page as UTF-8 bytes. The server decides what to read
and where forms post; these functions decide only how it looks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyocci.model.attribute import AttributeDefinition, AttributeType
from pyocci.model.category import Action, Category, Kind, Mixin
from pyocci.model.core import ENTITY, LINK, RESOURCE
from pyocci.model.entity import CORE_ID, CORE_SUMMARY, CORE_TITLE, Entity, Link, Resource
from pyocci.model.registry import OS_TPL_ID, RESOURCE_TPL_ID, Model
from pyocci.rendering.html.environment import ENVIRONMENT

#: The form field that carries the CSRF token in every form that posts.
CSRF_FIELD = "csrf"
#: The prefix of form fields that carry attribute values (``attribute:occi.core.title``).
ATTRIBUTE_FIELD = "attribute:"


@dataclass(frozen=True, slots=True)
class Frame:
    """What every page shows around its content: who is signed in, where to go,
    and the token its forms post back."""

    #: The CSRF token of this browser and tenant (see `pyocci.server.html.csrf`).
    csrf_token: str
    #: Who the pages act for.
    tenant: str
    #: The collections the navigation links to (kinds with a location).
    collections: Sequence[Kind]
    #: The request's path, to mark the current page in the navigation.
    path: str
    #: The server's name and OCCI version, for the footer.
    server: str


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a select: its value and what a person reads."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Field:
    """One form input for an attribute (of a kind, or a parameter of an action)."""

    name: str
    label: str
    #: ``text``, ``number``, ``select`` or ``checkbox``.
    input: str
    required: bool = False
    description: str | None = None
    choices: Sequence[Choice] = ()
    #: The number input's step (``1`` for integers, ``any`` for numbers).
    step: str | None = None
    value: str = ""
    #: What the input shows while empty (the default the server applies).
    placeholder: str = ""


@dataclass(frozen=True, slots=True)
class TemplatePicker:
    """A select of the templates under one parent mixin (os_tpl, resource_tpl)."""

    parent: Mixin
    choices: Sequence[Choice]
    required: bool


@dataclass(frozen=True, slots=True)
class ActionForm:
    """A button that triggers an action, with inputs for its parameters."""

    action: Action
    fields: Sequence[Field]


@dataclass(frozen=True, slots=True)
class LinkChoice:
    """A form that links the entity to a resource of one kind (storage, network)."""

    kind: Kind
    target_kind: Kind
    targets: Sequence[Choice]
    #: The most targets listed; more exist when ``len(targets)`` reaches it.
    most: int
    fields: Sequence[Field] = ()


@dataclass(frozen=True, slots=True)
class EntityRow:
    """One line of a listing."""

    location: str
    title: str
    kind: str
    state: str
    mixins: Sequence[str]


@dataclass(frozen=True, slots=True)
class Paging:
    """Where a listing page stands: its index and size, the total when known."""

    index: int
    size: int
    total: int | None
    sizes: Sequence[int]

    @property
    def last(self) -> int | None:
        """The index of the last page, when the total is known."""
        if self.total is None:
            return None
        return max(1, -(-self.total // self.size))


@dataclass(frozen=True, slots=True)
class ListingFilters:
    """The filters of a listing page: a category, one attribute's value."""

    category: str = ""
    attribute: str = ""
    value: str = ""
    categories: Sequence[Choice] = ()
    attributes: Sequence[str] = ()

    @property
    def active(self) -> bool:
        """Whether any filter narrows the listing."""
        return bool(self.category or (self.attribute and self.value))


@dataclass(slots=True)
class DiscoveryGroups:
    """The categories of the query interface as a person looks for them."""

    kinds: list[Kind] = field(default_factory=list)
    os_templates: list[Mixin] = field(default_factory=list)
    resource_templates: list[Mixin] = field(default_factory=list)
    mixins: list[Mixin] = field(default_factory=list)
    user_mixins: list[Mixin] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


def _page(template: str, frame: Frame | None, **context: Any) -> bytes:
    return ENVIRONMENT.get_template(template).render(frame=frame, **context).encode("utf-8")


# --- the query interface ---------------------------------------------------------------------


def group_categories(model: Model, categories: Sequence[Category]) -> DiscoveryGroups:
    """Sort categories into what the query interface page shows under each heading."""
    groups = DiscoveryGroups()
    os_templates = {m.id for m in model.templates(OS_TPL_ID)}
    resource_templates = {m.id for m in model.templates(RESOURCE_TPL_ID)}
    for category in categories:
        if isinstance(category, Kind):
            groups.kinds.append(category)
        elif isinstance(category, Action):
            groups.actions.append(category)
        elif isinstance(category, Mixin):
            if category.id in os_templates:
                groups.os_templates.append(category)
            elif category.id in resource_templates:
                groups.resource_templates.append(category)
            elif model.owns(category.id):
                groups.user_mixins.append(category)
            else:
                groups.mixins.append(category)
    return groups


def render_query_interface(
    frame: Frame, model: Model, categories: Sequence[Category], filtered: bool
) -> bytes:
    """The query interface: kinds, templates, mixins and actions with their attributes."""
    return _page(
        "query_interface.html",
        frame,
        groups=group_categories(model, categories),
        filtered=filtered,
        attribute_rows=attribute_rows,
    )


def attribute_rows(definitions: Mapping[str, AttributeDefinition]) -> list[dict[str, str]]:
    """The attribute definitions of a category as table rows."""
    rows = []
    for definition in definitions.values():
        notes = []
        if definition.enum:
            notes.append("one of " + ", ".join(definition.enum))
        if definition.pattern:
            notes.append(f"matching {definition.pattern}")
        rows.append(
            {
                "name": definition.name,
                "type": definition.type.value,
                "use": "required"
                if definition.required
                else ("settable" if definition.mutable else "set by the server"),
                "default": "" if definition.default is None else str(definition.default),
                "description": " ".join([definition.description or "", *notes]).strip(),
            }
        )
    return rows


# --- listings --------------------------------------------------------------------------------


def render_listing(
    frame: Frame,
    category: Kind | Mixin,
    rows: Sequence[EntityRow],
    paging: Paging,
    filters: ListingFilters,
    creatable: bool,
) -> bytes:
    """One page of a collection, with its filters and its paging links."""
    heading = "All entities" if category.id == ENTITY.id else (category.title or category.term)
    return _page(
        "listing.html",
        frame,
        heading=heading,
        category=category,
        rows=rows,
        paging=paging,
        filters=filters,
        creatable=creatable,
    )


def entity_row(model: Model, entity: Entity) -> EntityRow:
    """How a listing shows one entity."""
    return EntityRow(
        location=entity.location or "",
        title=entity.title or entity.id or entity.location or "",
        kind=(entity.kind or "").rpartition("#")[2],
        state=state_of(model, entity),
        mixins=[_category_label(model, m) for m in entity.mixins],
    )


def state_of(model: Model, entity: Entity) -> str:
    """The value of the entity's state attribute, when its kind has a life cycle."""
    machine = model.state_machine(entity.kind or "")
    if machine is None:
        return ""
    state = entity.attributes.get(machine.attribute)
    return "" if state is None else str(state)


def _category_label(model: Model, identifier: str) -> str:
    category = model.get(identifier)
    if category is not None and category.title:
        return category.title
    return identifier.rpartition("#")[2]


# --- one entity ------------------------------------------------------------------------------


def render_entity(
    frame: Frame,
    model: Model,
    entity: Entity,
    actions: Sequence[ActionForm],
    link_choices: Sequence[LinkChoice],
) -> bytes:
    """One entity: its attributes, mixins, links and the forms that act on it."""
    kind = model.get(entity.kind or "")
    definitions = model.attribute_definitions(entity.kind or "", entity.mixins)
    attributes = [
        (name, value, definitions[name].description if name in definitions else None)
        for name, value in entity.attributes.items()
        if name not in (CORE_TITLE, CORE_SUMMARY)
    ]
    links = entity.links if isinstance(entity, Resource) else []
    return _page(
        "entity.html",
        frame,
        entity=entity,
        kind=kind,
        heading=entity.title or entity.id or entity.location,
        summary=entity.attributes.get(CORE_SUMMARY),
        state=state_of(model, entity),
        attributes=attributes,
        mixins=[Choice(m, _category_label(model, m)) for m in entity.mixins],
        links=[(link, model.get(link.kind or ""), state_of(model, link)) for link in links],
        is_link=isinstance(entity, Link),
        actions=actions,
        link_choices=link_choices,
        collection=_collection_of(entity.location or ""),
    )


def action_form(action: Action) -> ActionForm:
    """The form of one action: a button, and an input per parameter."""
    return ActionForm(
        action, [attribute_field(d, optional=True) for d in action.attributes.values()]
    )


def attribute_field(definition: AttributeDefinition, *, optional: bool = False) -> Field:
    """The input for one attribute, left empty (the server's default applies; the
    default is shown); `optional` leaves out the required mark (action parameters
    the server fills with its default)."""
    name = ATTRIBUTE_FIELD + definition.name
    required = definition.required and not optional
    label = definition.name.rpartition(".")[2]
    description = definition.description
    default = "" if definition.default is None else str(definition.default)
    if definition.type is AttributeType.ENUM and definition.enum:
        choices = [Choice(value, value) for value in definition.enum]
        if not required:
            blank = f"(default: {default})" if default else "(none)"
            choices.insert(0, Choice("", blank))
        return Field(name, label, "select", required, description, choices)
    if definition.type is AttributeType.BOOLEAN:
        return Field(name, label, "checkbox", False, description, value=default)
    if definition.type in (AttributeType.INTEGER, AttributeType.NUMBER):
        step = "1" if definition.type is AttributeType.INTEGER else "any"
        return Field(name, label, "number", required, description, step=step, placeholder=default)
    return Field(name, label, "text", required, description, placeholder=default)


def _collection_of(location: str) -> str:
    return location.rpartition("/")[0] + "/"


# --- forms -----------------------------------------------------------------------------------


def creatable_kind(model: Model, kind: Kind) -> bool:
    """Whether the HTML view offers a create form for a kind: resources only (links
    are made from the page of their source)."""
    return (
        kind.location is not None
        and kind.id != RESOURCE.id
        and model.is_kind_of(kind.id, RESOURCE.id)
        and not model.is_kind_of(kind.id, LINK.id)
    )


def template_pickers(
    model: Model, kind: Kind, required: Sequence[str] = ()
) -> list[TemplatePicker]:
    """The template selects of a kind's create form: one per template parent that has
    templates applying to the kind."""
    pickers = []
    for parent_id in (OS_TPL_ID, RESOURCE_TPL_ID):
        parent = model.get(parent_id)
        templates = [t for t in model.templates(parent_id) if model.mixin_applies_to(t.id, kind.id)]
        if not isinstance(parent, Mixin) or not templates:
            continue
        choices = [Choice(t.id, _template_label(t)) for t in templates]
        pickers.append(TemplatePicker(parent, choices, parent_id in required))
    return pickers


def _template_label(template: Mixin) -> str:
    label = template.title or template.term
    sizes = [
        f"{d.name.rpartition('.')[2]} {d.default}"
        for d in template.attributes.values()
        if d.default is not None
    ]
    return f"{label} ({', '.join(sizes)})" if sizes else label


def creation_fields(model: Model, kind: Kind) -> list[Field]:
    """Inputs for the attributes a client may set when creating an entity of `kind`
    (title and summary have their own)."""
    definitions = model.attribute_definitions(kind.id)
    return [
        attribute_field(definition)
        for name, definition in definitions.items()
        if definition.mutable
        and name not in (CORE_ID, CORE_TITLE, CORE_SUMMARY)
        and definition.type not in (AttributeType.LIST, AttributeType.OBJECT)
    ]


def render_create(
    frame: Frame, kind: Kind, pickers: Sequence[TemplatePicker], fields: Sequence[Field]
) -> bytes:
    """The form that creates an entity of `kind`."""
    return _page("create.html", frame, kind=kind, pickers=pickers, fields=fields)


def render_delete(frame: Frame, entity: Entity) -> bytes:
    """The page that asks before deleting an entity."""
    return _page(
        "delete.html",
        frame,
        entity=entity,
        heading=entity.title or entity.id or entity.location,
        collection=_collection_of(entity.location or ""),
    )


# --- errors ----------------------------------------------------------------------------------


def render_error(frame: Frame | None, status: int, reason: str, message: str, back: str) -> bytes:
    """An error page: what went wrong, and the way back. `frame` is None when the
    request got no further than authentication (the page then has no navigation)."""
    return _page("error.html", frame, status=status, reason=reason, message=message, back=back)
