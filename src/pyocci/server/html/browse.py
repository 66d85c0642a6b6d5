"""What the HTML view shows for a GET: the query interface, a page of a collection, an
entity with its links and the forms that act on it, a create form, a delete question.

Each page reads what it shows through the service, as the OCCI handlers
do, and is rendered by `pyocci.rendering.html`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyocci.model.category import Action, Kind, Mixin
from pyocci.model.core import ENTITY, LINK, RESOURCE
from pyocci.model.entity import CORE_SOURCE, CORE_TITLE, Entity, Resource
from pyocci.model.extensions import SECURITYGROUP, SECURITYGROUPLINK
from pyocci.model.infrastructure import (
    COMPUTE,
    NETWORK,
    NETWORKINTERFACE,
    STORAGE,
    STORAGELINK,
)
from pyocci.model.registry import Model
from pyocci.rendering.html import (
    ATTRIBUTE_FIELD,
    Choice,
    Frame,
    LinkChoice,
    ListingFilters,
    Paging,
    action_form,
    creatable_kind,
    creation_fields,
    entity_row,
    render_create,
    render_delete,
    render_entity,
    render_listing,
    render_query_interface,
    template_pickers,
)
from pyocci.server.handlers.exchange import Exchange
from pyocci.server.handlers.listings import page_request
from pyocci.service.errors import BadRequestError, NotFoundError
from pyocci.service.filters import coerce_filter_values, parse_category_identifiers
from pyocci.service.occi import Listing, OcciService, PageRequest
from pyocci.service.paths import Collection, EntityPath

#: The page sizes a listing offers; the first page shows `DEFAULT_PAGE_SIZE` entities.
PAGE_SIZES = (10, 20, 50, 100)
DEFAULT_PAGE_SIZE = 20
#: The most resources a link form offers as targets (a select, not a search).
MOST_TARGETS = 100
#: The links a resource's page offers to make: (source kind, link kind, target kind).
LINKABLE = (
    (COMPUTE.id, STORAGELINK.id, STORAGE.id),
    (COMPUTE.id, NETWORKINTERFACE.id, NETWORK.id),
    (COMPUTE.id, SECURITYGROUPLINK.id, SECURITYGROUP.id),
)
#: Attributes a link form does not ask for: the ends are the form's own.
_LINK_ENDS = frozenset(
    {CORE_SOURCE, "occi.core.target", "occi.core.source.kind", "occi.core.target.kind"}
)


class Browser:
    """Reads what the pages show, for one service."""

    def __init__(self, service: OcciService) -> None:
        self.service = service

    def query_interface(self, exchange: Exchange, frame: Frame) -> bytes:
        """The query interface, or the categories ``?category=`` names."""
        model = exchange.model
        wanted = exchange.query.get("category", "")
        filters = parse_category_identifiers(wanted) if wanted else []
        categories = self.service.discover(model, filters)
        return render_query_interface(frame, model, categories, filtered=bool(filters))

    async def listing(self, exchange: Exchange, frame: Frame, target: Collection) -> bytes:
        """One page of a collection, narrowed by the filters of the page's form."""
        model, category = exchange.model, target.category
        query = exchange.query
        page = page_request(query) or PageRequest(1, DEFAULT_PAGE_SIZE)
        filters = ListingFilters(
            category=query.get("category", ""),
            attribute=query.get("attribute", CORE_TITLE),
            value=query.get("value", ""),
            categories=_filter_choices(model, category),
            attributes=_filter_attributes(model, category),
        )
        narrowing = []
        if filters.category:
            found = model.get(filters.category)
            if not isinstance(found, Kind | Mixin):
                raise BadRequestError(f"cannot filter by {filters.category}: no such kind or mixin")
            narrowing.append(found)
        attributes = {}
        if filters.attribute and filters.value:
            attributes = coerce_filter_values(model, category, {filters.attribute: filters.value})
        found_entities = await self.service.listing(
            exchange.tenant, model, category, filters=narrowing, attributes=attributes, page=page
        )
        rows = [entity_row(model, entity) for entity in await _all(found_entities)]
        sizes = sorted({*PAGE_SIZES, page.size})
        paging = Paging(page.index, page.size, found_entities.total, sizes)
        creatable = isinstance(category, Kind) and self._creatable(model, category)
        return render_listing(frame, category, rows, paging, filters, creatable)

    def create_form(self, exchange: Exchange, frame: Frame, target: Collection) -> bytes:
        """The form that creates a resource of the collection's kind."""
        kind = target.category
        if not isinstance(kind, Kind) or not self._creatable(exchange.model, kind):
            raise NotFoundError(
                f"{exchange.path} has no create form: resources are made in "
                "the collection of their kind"
            )
        model = exchange.model
        return render_create(
            frame, kind, template_pickers(model, kind), creation_fields(model, kind)
        )

    async def entity(self, exchange: Exchange, frame: Frame, path: EntityPath) -> bytes:
        """One entity, the actions that apply to it now, its links and the forms that
        link it to more."""
        model = exchange.model
        entity = await self.service.get(exchange.tenant, model, path)
        actions = []
        for action_id in entity.actions:
            action = model.get(action_id)
            if isinstance(action, Action):
                actions.append(action_form(action))
        choices = await self._link_choices(exchange, entity)
        return render_entity(frame, model, entity, actions, choices)

    async def delete_question(self, exchange: Exchange, frame: Frame, path: EntityPath) -> bytes:
        """The page that asks before an entity is deleted."""
        entity = await self.service.get(exchange.tenant, exchange.model, path)
        return render_delete(frame, entity)

    def collections(self, model: Model) -> list[Kind]:
        """The kinds the navigation lists: those this cloud holds, bar the core ones
        (``/`` lists every entity)."""
        core = {ENTITY.id, RESOURCE.id, LINK.id}
        supports = self.service.backend.capabilities.supports_kind
        return [k for k in model.kinds if k.location and k.id not in core and supports(k.id)]

    def _creatable(self, model: Model, kind: Kind) -> bool:
        return creatable_kind(model, kind) and self.service.backend.capabilities.supports_kind(
            kind.id
        )

    async def _link_choices(self, exchange: Exchange, entity: Entity) -> list[LinkChoice]:
        if not isinstance(entity, Resource):
            return []
        model = exchange.model
        supports = self.service.backend.capabilities.supports_kind
        choices = []
        for source_id, link_id, target_id in LINKABLE:
            link_kind, target_kind = model.get(link_id), model.get(target_id)
            if (
                not isinstance(link_kind, Kind)
                or not isinstance(target_kind, Kind)
                or not model.is_kind_of(entity.kind or "", source_id)
                or not supports(link_id)
                or not supports(target_id)
            ):
                continue
            listed = await self.service.listing(
                exchange.tenant, model, target_kind, page=PageRequest(1, MOST_TARGETS)
            )
            targets = [
                Choice(e.location or "", f"{e.title or e.id} ({e.location})")
                for e in await _all(listed)
            ]
            fields = [
                f
                for f in creation_fields(model, link_kind)
                if f.name.removeprefix(ATTRIBUTE_FIELD) not in _LINK_ENDS
            ]
            choices.append(LinkChoice(link_kind, target_kind, targets, MOST_TARGETS, fields))
        return choices


def _filter_choices(model: Model, category: Kind | Mixin) -> list[Choice]:
    """The kinds and mixins a collection's listing can be narrowed to."""
    choices = []
    if isinstance(category, Kind):
        for kind in model.kinds:
            if kind.id != category.id and model.is_kind_of(kind.id, category.id):
                choices.append(Choice(kind.id, f"{kind.title or kind.term} (kind)"))
        for mixin in model.mixins:
            if category.id == ENTITY.id or model.mixin_applies_to(mixin.id, category.id):
                choices.append(Choice(mixin.id, f"{mixin.title or mixin.term} (mixin)"))
    else:
        for kind in model.kinds:
            choices.append(Choice(kind.id, f"{kind.title or kind.term} (kind)"))
    return choices


def _filter_attributes(model: Model, category: Kind | Mixin) -> list[str]:
    """The attributes a listing's entities can be filtered by, the title first."""
    if isinstance(category, Kind):
        names = list(model.attribute_definitions(category.id))
    else:
        names = [CORE_TITLE, *model.attribute_definitions(ENTITY.id, [category.id])]
    return [CORE_TITLE, *(n for n in dict.fromkeys(names) if n != CORE_TITLE)]


async def _all(listing: Listing[Entity]) -> Sequence[Entity]:
    """Every entity of a listing (a page of one: the view never lists without paging)."""
    entities: list[Entity] = []
    async for batch in listing.batches:
        entities.extend(batch)
    return entities
