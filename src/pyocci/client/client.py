"""`OcciClient`: the OCCI HTTP protocol (GFD.223) from the client's side.

One client talks to one endpoint. It discovers the server's model on first
use, speaks the best rendering the server offers (JSON to 1.2 servers,
text/plain to 1.1 ones, or what the caller forces), checks input against
the model before sending it, and follows paging while listing::

    with OcciClient("http://127.0.0.1:8787") as occi:
        location = occi.create(occi.new_compute(os="ubuntu", size="small", title="vm1"))
        occi.wait_for(location, "active", timeout=120)
        for vm in occi.list("compute"):
            print(vm.location, vm.title)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from pyocci.client import matching
from pyocci.client import templates as template_choice
from pyocci.client.auth import Credentials
from pyocci.client.discovery import QUERY_INTERFACE, Discovery, discover, response_headers
from pyocci.client.errors import InvalidInputError, ProtocolError, ServerError
from pyocci.client.templates import Template
from pyocci.client.transport import EventHooks, HeaderList, Transport
from pyocci.client.validation import check_entity, check_invocation, check_kind, value_problem
from pyocci.client.waiting import Progress, wait_for_offer, wait_for_state
from pyocci.model.category import Action, Category, Kind, Mixin
from pyocci.model.core import ENTITY
from pyocci.model.entity import ActionInvocation, Entity, Link, Resource
from pyocci.model.registry import Model
from pyocci.rendering import Codec, Rendering, codec_for
from pyocci.rendering.errors import ParseError, UnsupportedDocumentError
from pyocci.rendering.json import JsonCodec
from pyocci.rendering.negotiation import TEXT_OCCI
from pyocci.rendering.textgrammar import (
    RenderError,
    format_attribute,
    format_category_reference,
)

#: Items per page when listing; the pyocci server's own default maximum.
DEFAULT_PAGE_SIZE = 1000
T = TypeVar("T")

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
LINK_KIND = "http://schemas.ogf.org/occi/core#link"
COMPUTE = INFRA + "compute"
USER_DATA = "http://schemas.ogf.org/occi/infrastructure/compute#user_data"
SSH_KEY = "http://schemas.ogf.org/occi/infrastructure/credentials#ssh_key"
#: The link kind to use for a target of each kind, when the caller names none.
LINK_KIND_FOR_TARGET = {
    INFRA + "network": INFRA + "networkinterface",
    INFRA + "storage": INFRA + "storagelink",
    INFRA + "securitygroup": INFRA + "securitygrouplink",
}


class OcciClient:
    """A client of one OCCI endpoint; use it as a context manager, or `close` it."""

    def __init__(
        self,
        endpoint: str,
        credentials: Credentials | None = None,
        *,
        media_type: str | None = None,
        timeout: float | None = 30.0,
        page_size: int = DEFAULT_PAGE_SIZE,
        event_hooks: EventHooks | None = None,
    ) -> None:
        """`media_type` forces a rendering (``application/occi+json``, ``text/plain``,
        ``text/occi``); `timeout` bounds each request, in seconds (None: no bound);
        `event_hooks` are httpx's, to watch the raw exchange."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._transport = Transport(
            endpoint, credentials or Credentials(), timeout=timeout, event_hooks=event_hooks
        )
        self._forced = media_type
        self._discovery: Discovery | None = None
        self.page_size = page_size

    # --- life --------------------------------------------------------------------------

    def __enter__(self) -> OcciClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections to the server."""
        self._transport.close()

    @property
    def endpoint(self) -> str:
        """The endpoint URL, without a trailing slash."""
        return self._transport.endpoint

    def url(self, location: str) -> str:
        """The absolute URL of a location on this endpoint."""
        return self._transport.url(location)

    # --- discovery ---------------------------------------------------------------------

    def discover(self) -> Discovery:
        """Ask the server for its categories again (done once, on first use, otherwise)."""
        self._discovery = discover(self._transport, self._forced)
        return self._discovery

    @property
    def discovery(self) -> Discovery:
        """What discovery found; discovers on first use."""
        return self._discovery or self.discover()

    @property
    def model(self) -> Model:
        """The server's categories as a Model."""
        return self.discovery.model

    @property
    def categories(self) -> tuple[Category, ...]:
        """Every Kind, Mixin and Action the server lists, in its order."""
        return self.discovery.categories

    @property
    def media_type(self) -> str:
        """The rendering in use."""
        return self.discovery.media_type

    @property
    def codec(self) -> Codec:
        """The codec of the rendering in use."""
        codec = codec_for(self.media_type)
        if codec is None:  # media_type_named keeps this from happening
            raise ProtocolError(f"no codec for {self.media_type}")
        return codec

    def templates(self, kind: str = "os") -> list[Template]:
        """The OS (``"os"``) or resource (``"resource"``) templates the server offers."""
        return template_choice.templates(self.model, kind)

    def os_template(self, spec: str) -> Template:
        """The OS template a spec names (term, id, or a unique substring of term or title)."""
        return template_choice.match(self.templates("os"), spec, "OS template")

    def resource_template(
        self, spec: str | None = None, *, cores: int | None = None, memory: float | None = None
    ) -> Template:
        """The resource template a spec names, or the smallest with `cores` and `memory` GiB."""
        candidates = self.templates("resource")
        if spec is not None:
            chosen = template_choice.match(candidates, spec, "resource template")
            if cores is not None or memory is not None:
                template_choice.smallest([chosen], cores=cores, memory=memory)
            return chosen
        return template_choice.smallest(candidates, cores=cores, memory=memory)

    def category(self, spec: str, *, kinds: bool = True, mixins: bool = True) -> Kind | Mixin:
        """A Kind or Mixin by identifier, collection location, or unique term."""
        wanted = spec.strip()
        found = self.model.get(wanted)
        if found is None and "/" in wanted:
            found = self.model.by_location(self._transport.path(wanted))
        candidates = (
            [found]
            if found is not None
            else [c for c in self.model if getattr(c, "location", None) and c.term == wanted]
        )
        allowed = (Kind,) * kinds + (Mixin,) * mixins
        candidates = [c for c in candidates if isinstance(c, allowed)]
        if len(candidates) == 1:
            return candidates[0]  # type: ignore[return-value]
        what = "kind or mixin" if kinds and mixins else "kind" if kinds else "mixin"
        if not candidates:
            raise InvalidInputError(
                f"the server has no {what} {spec!r}; `occi discover` lists what it has"
            )
        listed = ", ".join(c.id for c in candidates)
        raise InvalidInputError(f"{spec!r} names several categories ({listed}); give the full id")

    def find_category(self, spec: str, *, kinds: bool = True, mixins: bool = True) -> Kind | Mixin:
        """A Kind or Mixin chosen as templates are (`pyocci.client.matching`): by identifier,
        term or collection location, else by title, else by a unique part of its term or
        title (``ubuntu``, ``"extra memory"``)."""
        wanted = spec.strip()
        if "/" in wanted and "#" not in wanted:
            wanted = self._transport.path(wanted)
        allowed = (Kind,) * kinds + (Mixin,) * mixins
        candidates = [c for c in self.model if isinstance(c, allowed)]
        what = "kind or mixin" if kinds and mixins else "kind" if kinds else "mixin"
        plural = "kinds or mixins" if kinds and mixins else None
        return matching.match(candidates, wanted, what, plural)  # type: ignore[return-value]

    # --- reading -----------------------------------------------------------------------

    def locations(
        self,
        category: str | Kind | Mixin,
        *,
        filters: Sequence[str] = (),
        attributes: Mapping[str, Any] | None = None,
    ) -> Iterator[str]:
        """The locations in a collection, page after page."""
        for entities, locations in self._pages(category, filters, attributes):
            yield from (e.location or "" for e in entities) if entities is not None else locations

    def list(
        self,
        category: str | Kind | Mixin,
        *,
        filters: Sequence[str] = (),
        attributes: Mapping[str, Any] | None = None,
    ) -> Iterator[Entity]:
        """The entities of a Kind or Mixin collection, following paging as they are read.

        `filters` are category identifiers an entity must have; `attributes`
        values it must have. JSON listings carry the entities; text ones only
        locations, so each entity is fetched.
        """
        for entities, locations in self._pages(category, filters, attributes):
            if entities is not None:
                yield from entities
            else:
                for location in locations:
                    yield self.get(location)

    def _pages(
        self,
        category: str | Kind | Mixin,
        filters: Sequence[str],
        attributes: Mapping[str, Any] | None,
    ) -> Iterator[tuple[list[Entity] | None, list[str]]]:
        """Each page of a listing, parsed: (entities, []) in JSON, (None, locations) in text.

        The next page is fetched while the current one is parsed and used: the
        server renders while the client reads, which halves the time of a big
        listing on a machine with two cores.
        """
        target = category if isinstance(category, Kind | Mixin) else self.category(category)
        headers = self._filter_headers(filters, attributes or {})
        response: httpx.Response | None = self._first_page(target.location or "/", headers)
        with ThreadPoolExecutor(max_workers=1) as prefetcher:
            while response is not None:
                following = response.links.get("next", {}).get("url")
                if following:
                    # The next page of this collection: its path on this endpoint, even when
                    # a server behind a proxy names its own internal host in the link.
                    parts = urlsplit(following)
                    following = parts.path + (f"?{parts.query}" if parts.query else "")
                upcoming = prefetcher.submit(self._get, following, headers) if following else None
                entities, locations = self._listing(response)
                if not (entities or locations):
                    return
                yield entities, locations
                response = upcoming.result() if upcoming is not None else None

    def first_locations(self, category: str | Kind | Mixin, limit: int) -> list[str]:
        """At most `limit` locations of a collection, from its first page alone: a glance
        (what shell completion offers), never a walk through every page."""
        target = category if isinstance(category, Kind | Mixin) else self.category(category)
        response = self._first_page(target.location or "/", [], size=max(1, limit))
        entities, locations = self._listing(response)
        found = [e.location or "" for e in entities] if entities is not None else locations
        return found[:limit]

    def _first_page(
        self, location: str, headers: HeaderList, size: int | None = None
    ) -> httpx.Response:
        """The first page, at `size` (default: the client's page size) or, if the server
        refuses it with 413 (its maximum is lower), at half that, and so on."""
        size = min(size or self.page_size, self.page_size)
        while True:
            try:
                return self._get(location, headers, {"page": 1, "number": size})
            except ServerError as error:
                if error.status != 413 or size == 1:
                    raise
                size = max(1, size // 2)

    def _listing(self, response: httpx.Response) -> tuple[list[Entity] | None, list[str]]:
        codec = self._answer_codec(response)
        headers = response_headers(response)
        try:
            if isinstance(codec, JsonCodec):
                return codec.parse_entities(response.content, headers, model=self.model), []
            found = codec.parse_locations(response.content, headers)
        except (ParseError, UnsupportedDocumentError) as error:
            raise ProtocolError(
                f"cannot read the listing {response.request.url}: {error}"
            ) from None
        return None, [self._transport.path(location) for location in found]

    def _filter_headers(self, filters: Sequence[str], attributes: Mapping[str, Any]) -> HeaderList:
        """Category and X-OCCI-Attribute request headers that filter a listing."""
        headers: HeaderList = []
        for spec in filters:
            category = self.find_category(spec)
            headers.append(
                ("category", format_category_reference(category.id, category.category_class))
            )
        if attributes:
            problems = []
            for name, value in attributes.items():
                problem = value_problem(name, value)
                if value is None:
                    problems.append(f"the filter on {name} needs a value")
                elif problem is not None:
                    problems.append(problem)
            if problems:
                raise InvalidInputError(problems)
            # Servers read filters from request headers, whatever the rendering.
            try:
                rendered = ", ".join(format_attribute(n, v) for n, v in attributes.items())
            except RenderError as error:
                raise InvalidInputError(f"cannot filter on {error}") from None
            headers.append(("x-occi-attribute", rendered))
        return headers

    def get(self, location: str) -> Entity:
        """The entity at a location (a path or an absolute URL on this endpoint)."""
        response = self._get(location)
        entity = self._entity_of(response)
        if entity.location is None:
            entity.location = self._transport.path(location)
        return entity

    def _get(
        self,
        location: str,
        headers: HeaderList | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        return self._transport.request(
            "GET", location, headers=[("accept", self.media_type), *(headers or [])], params=params
        )

    # --- writing -----------------------------------------------------------------------

    def new_compute(
        self,
        *,
        os: str | None = None,
        size: str | None = None,
        cores: int | None = None,
        memory: float | None = None,
        title: str | None = None,
        user_data: str | None = None,
        ssh_key: str | None = None,
        links: Iterable[str] = (),
        mixins: Iterable[str] = (),
        attributes: Mapping[str, Any] | None = None,
    ) -> Resource:
        """A compute to `create`, with templates chosen by spec and contextualisation.

        `user_data` is the (already base64) ``occi.compute.userdata``; `ssh_key`
        the public key text; `links` target locations (networks, storages).
        """
        entity = Resource(kind=COMPUTE, attributes=dict(attributes or {}))
        if title is not None:
            entity.title = title
        if os is not None:
            entity.mixins.append(self.os_template(os).id)
        if size is not None or cores is not None or memory is not None:
            entity.mixins.append(self.resource_template(size, cores=cores, memory=memory).id)
        if user_data is not None:
            entity.mixins.append(USER_DATA)
            entity.attributes["occi.compute.userdata"] = user_data
        if ssh_key is not None:
            entity.mixins.append(SSH_KEY)
            entity.attributes["occi.credentials.ssh.publickey"] = ssh_key
        for mixin in mixins:
            entity.mixins.append(self.category(mixin, kinds=False).id)
        for target in links:
            entity.links.append(self.new_link(None, target))
        return entity

    def new_link(
        self,
        source: str | None,
        target: str,
        *,
        kind: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        mixins: Iterable[str] = (),
    ) -> Link:
        """A link from `source` (None: inline in a resource being created) to `target`."""
        target_path = self._transport.path(target)
        target_kind = self.kind_of(target_path)
        if kind is None:
            if target_kind is None or target_kind.id not in LINK_KIND_FOR_TARGET:
                raise InvalidInputError(
                    f"cannot tell which link kind goes to {target}; give --kind "
                    "(networkinterface, storagelink, securitygrouplink...)"
                )
            kind_id = LINK_KIND_FOR_TARGET[target_kind.id]
        else:
            kind_id = self.category(kind, mixins=False).id
        link = Link(kind=kind_id, attributes=dict(attributes or {}))
        link.mixins.extend(self.category(m, kinds=False).id for m in mixins)
        link.target = target_path
        if target_kind is not None:
            link.target_kind = target_kind.id
        if source is not None:
            link.source = self._transport.path(source)
            source_kind = self.kind_of(link.source)
            if source_kind is not None:
                link.source_kind = source_kind.id
        return link

    def kind_of(self, location: str) -> Kind | None:
        """The Kind whose collection holds an entity location, if the server has one."""
        path = self._transport.path(location)
        collection = path.rstrip("/").rsplit("/", 1)[0] + "/"
        category = self.model.by_location(collection)
        return category if isinstance(category, Kind) else None

    def collection_at(self, location: str) -> Kind | None:
        """The Kind whose collection a location names (with or without its trailing
        slash; ``/`` names every entity); None for anything else."""
        path = self._transport.path(location)
        if path == "/":
            category = self.model.get(ENTITY.id)
        else:
            category = self.model.by_location(path if path.endswith("/") else path + "/")
        return category if isinstance(category, Kind) else None

    def create(self, entity: Entity) -> str:
        """Create an entity in its kind's collection; return its location."""
        check_entity(self.model, entity, creating=True)
        kind = check_kind(self.model, entity.kind or "")
        if kind.location is None:
            raise InvalidInputError(f"kind {kind.id!r} has no collection to create in")
        response = self._send("POST", kind.location, self._render(self.codec.render_entity, entity))
        return self._created_location(response)

    def update(
        self,
        location: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        mixins: Iterable[str] = (),
    ) -> Entity:
        """Partial update (POST to the entity): change attributes, add mixins.

        A new resource template replaces the old one (a resize), a new OS
        template the old image (a rebuild). Returns the entity as it is now.
        """
        kind = self._kind_or_error(location)
        changes = Resource(kind=None, attributes=dict(attributes or {}))
        changes.mixins = [self.category(m, kinds=False).id for m in mixins]
        probe = Resource(kind=kind.id, mixins=list(changes.mixins), attributes=changes.attributes)
        check_entity(self.model, probe, creating=False)
        changes.attributes = probe.attributes
        response = self._send("POST", location, self._render(self.codec.render_entity, changes))
        return self._answered_entity(response, location) or self.get(location)

    def replace(self, location: str, entity: Entity) -> Entity:
        """PUT a whole entity at its location; the entity as it is now."""
        check_entity(self.model, entity, creating=False)
        response = self._send("PUT", location, self._render(self.codec.render_entity, entity))
        if response.status_code == 201:
            return self.get(location)
        return self._answered_entity(response, location) or self.get(location)

    def resize(
        self,
        location: str,
        size: str | None = None,
        *,
        cores: int | None = None,
        memory: float | None = None,
    ) -> Entity:
        """Give a compute another resource template (by spec, or by size constraints)."""
        template = self.resource_template(size, cores=cores, memory=memory)
        return self.update(location, mixins=[template.id])

    def delete(self, location: str) -> bool:
        """Delete an entity (a resource takes its links with it). True when the server
        answers that it is gone; False when it accepted the delete (202) and the cloud
        is still at it: the entity goes on showing, in its current state, for a while."""
        response = self._transport.request(
            "DELETE", location, headers=[("accept", self.media_type)]
        )
        return response.status_code != 202

    # --- actions -----------------------------------------------------------------------

    def action(self, location: str, name: str) -> Action:
        """The action an entity offers under a term (or a full identifier).

        Its kind's actions and those provider mixins add are candidates; the
        server decides whether the entity's state allows it now.
        """
        kind = self._kind_or_error(location)
        if "#" in name:
            found = [name]
        else:
            offered = [
                *self.model.declared_actions(kind.id),
                *(action for mixin in self.model.mixins for action in mixin.actions),
            ]
            found = list(dict.fromkeys(a for a in offered if a.rsplit("#", 1)[-1] == name))
        if not found:
            terms = ", ".join(a.rsplit("#", 1)[-1] for a in self.model.declared_actions(kind.id))
            raise InvalidInputError(
                f"{kind.term} has no action {name!r}; its actions: {terms or 'none'}"
            )
        if len(found) > 1:
            raise InvalidInputError(f"{name!r} is ambiguous: {', '.join(found)}; give the id")
        action = self.model.get(found[0])
        if not isinstance(action, Action):
            raise InvalidInputError(f"the server has no action {found[0]!r}")
        return action

    def trigger(self, location: str, action: str, **parameters: Any) -> Entity | None:
        """Trigger an action on an entity; the entity as the server answers it, if it does."""
        return self._answered_entity(self._trigger(location, action, parameters), location)

    def save(self, location: str, name: str | None = None, **parameters: Any) -> Mixin:
        """The compute ``save`` action: the new OS template the server made of it."""
        if name is not None:
            parameters["name"] = name
        response = self._trigger(location, "save", parameters)
        codec = self._answer_codec(response)
        try:
            categories = codec.parse_categories(response.content, response_headers(response))
        except (ParseError, UnsupportedDocumentError) as error:
            raise ProtocolError(f"cannot read the saved template: {error}") from None
        mixins = [c for c in categories if isinstance(c, Mixin)]
        if not mixins:
            raise ProtocolError("the server answered the save action without an OS template")
        # Discover again when next needed: the server offers the template once the
        # cloud has written the image (`wait_for_template` waits for that).
        self._discovery = None
        return mixins[0]

    def _trigger(self, location: str, name: str, parameters: Mapping[str, Any]) -> httpx.Response:
        action = self.action(location, name)
        coerced = check_invocation(action, dict(parameters))
        invocation = ActionInvocation(action=action.id, attributes=coerced)
        rendering = self._render(self.codec.render_action, invocation)
        return self._send("POST", location, rendering, params={"action": action.term})

    # --- links -------------------------------------------------------------------------

    def link(
        self,
        source: str,
        target: str,
        *,
        kind: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        mixins: Iterable[str] = (),
    ) -> str:
        """Create a link from one resource to another (or any URI); return its location."""
        self._kind_or_error(source)
        return self.create(
            self.new_link(source, target, kind=kind, attributes=attributes, mixins=mixins)
        )

    def unlink(self, location: str) -> bool:
        """Delete a link; InvalidInputError, with nothing sent, for a location that is not one.
        True when gone, False when the server accepted it and the cloud is still detaching."""
        kind = self._kind_or_error(location)
        if not self.model.is_kind_of(kind.id, LINK_KIND):
            raise InvalidInputError(
                f"{location} is a {kind.term}, not a link; nothing was deleted "
                "(deleting a resource is delete, not unlink)"
            )
        return self.delete(location)

    # --- mixins ------------------------------------------------------------------------

    def define_mixin(
        self,
        term: str,
        *,
        scheme: str | None = None,
        title: str | None = None,
        location: str | None = None,
        depends: Iterable[str] = (),
        applies: Iterable[str] = (),
    ) -> Mixin:
        """Define a user mixin (a tag); return it as the server now lists it."""
        mixin = Mixin(
            scheme=scheme or self.endpoint + "/occi/user#",
            term=term,
            title=title,
            location=location,
            depends=tuple(self.category(d, kinds=False).id for d in depends),
            applies=tuple(self.category(a, mixins=False).id for a in applies),
        )
        if self.model.get(mixin.id) is not None:
            raise InvalidInputError(f"the server already has a category {mixin.id!r}")
        # A term that names a kind or mixin already would name two: `occi list TERM`
        # could no longer tell which (occi-server refuses a provider's term, 409).
        for category in self.model:
            if isinstance(category, Kind | Mixin) and category.term == term:
                raise InvalidInputError(
                    f"{term} is the term of {category.id} (a {category.category_class} of "
                    "the server); choose another term for a user mixin"
                )
        self._send("POST", QUERY_INTERFACE, self.codec.render_categories([mixin]))
        self._discovery = None
        defined = self.model.get(mixin.id)
        return defined if isinstance(defined, Mixin) else mixin

    def remove_mixin(self, mixin: str) -> None:
        """Remove a user mixin definition (its members lose it)."""
        category = self.category(mixin, kinds=False)
        self._send("DELETE", QUERY_INTERFACE, self.codec.render_categories([category]))
        self._discovery = None

    def associate(self, mixin: str, locations: Iterable[str]) -> None:
        """Give entities a mixin (POST their locations to the mixin's collection)."""
        self._members("POST", mixin, locations)

    def dissociate(self, mixin: str, locations: Iterable[str]) -> None:
        """Take a mixin from entities (DELETE their locations from its collection)."""
        self._members("DELETE", mixin, locations)

    def _members(self, method: str, mixin: str, locations: Iterable[str]) -> None:
        category = self.category(mixin, kinds=False)
        paths = [self._transport.path(location) for location in locations]
        if not paths:
            raise InvalidInputError("name at least one entity location")
        for path in paths:
            kind = self._kind_or_error(path)
            if not self.model.mixin_applies_to(category.id, kind.id):
                raise InvalidInputError(f"mixin {category.id!r} does not apply to {kind.id!r}")
        if category.location is None:
            raise InvalidInputError(f"mixin {category.id!r} has no collection")
        self._send(method, category.location, self.codec.render_locations(paths))

    # --- waiting -----------------------------------------------------------------------

    def wait_for(
        self,
        location: str,
        state: str,
        *,
        timeout: float = 300.0,
        interval: float = 1.0,
        on_progress: Progress | None = None,
    ) -> Entity:
        """Poll an entity until its state attribute says `state`; return it then.

        `on_progress(entity, state, elapsed)` is called after every poll.
        Raises WaitTimeoutError after `timeout` seconds, EntityFailedError if
        the entity goes into ``error`` instead.
        """
        return wait_for_state(
            lambda: self.get(location),
            self.model,
            location,
            state,
            timeout=timeout,
            interval=interval,
            on_progress=on_progress,
        )

    def wait_for_template(
        self, template: Mixin | str, *, timeout: float = 300.0, interval: float = 1.0
    ) -> Mixin:
        """Poll discovery until the server offers a template, such as the image a `save`
        made (offered once the cloud has written it: until then creating from it is a
        409 with Retry-After); return it then. WaitTimeoutError after `timeout` s."""
        wanted = template.id if isinstance(template, Mixin) else template
        return wait_for_offer(
            lambda: self.discover().model, wanted, timeout=timeout, interval=interval
        )

    # --- plumbing ----------------------------------------------------------------------

    def _kind_or_error(self, location: str) -> Kind:
        kind = self.kind_of(location)
        if kind is None:
            raise InvalidInputError(
                f"{location} is not an entity location of this server (like /compute/<id>)"
            )
        return kind

    @staticmethod
    def _render(render: Callable[[T], Rendering], document: T) -> Rendering:
        """A document rendered to send; InvalidInputError, nothing sent, when the rendering
        in use cannot carry it (a line break in a text/plain value, say)."""
        try:
            return render(document)
        except UnsupportedDocumentError as error:
            raise InvalidInputError(str(error)) from None

    def _send(
        self,
        method: str,
        location: str,
        rendering: Any,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        headers: HeaderList = [
            ("accept", self.media_type),
            ("content-type", rendering.content_type),
        ]
        headers.extend(rendering.headers)
        return self._transport.request(
            method, location, headers=headers, body=rendering.body, params=params
        )

    def _answer_codec(self, response: httpx.Response) -> Codec:
        codec = codec_for(response.headers.get("content-type"))
        if codec is None:
            if self.media_type == TEXT_OCCI:
                return self.codec
            raise ProtocolError(
                f"{response.request.url} answered {response.headers.get('content-type')!r}, "
                "not an OCCI rendering"
            )
        return codec

    def _entity_of(self, response: httpx.Response, location: str | None = None) -> Entity:
        codec = self._answer_codec(response)
        try:
            entity = codec.parse_entity(
                response.content, response_headers(response), model=self.model
            )
        except (ParseError, UnsupportedDocumentError) as error:
            raise ProtocolError(
                f"cannot read the entity at {response.request.url}: {error}"
            ) from None
        if entity.location is None and location is not None:
            entity.location = self._transport.path(location)
        return entity

    def _answered_entity(self, response: httpx.Response, location: str) -> Entity | None:
        """The entity a write was answered with; None when the answer carries none
        (an empty body, ``OK``, or only a Location: servers differ there)."""
        if not response.content.strip() and not response.headers.get("x-occi-attribute"):
            return None
        try:
            return self._entity_of(response, location)
        except ProtocolError:
            return None

    def _created_location(self, response: httpx.Response) -> str:
        header = response.headers.get("location")
        if header:
            return self._transport.path(header)
        codec = self._answer_codec(response)
        try:
            locations = codec.parse_locations(response.content, response_headers(response))
        except (ParseError, UnsupportedDocumentError):
            locations = []
        if not locations:
            raise ProtocolError("the server created the entity but did not say where")
        return self._transport.path(locations[0])
