"""What every rendering offers: the `Codec` interface and the `Rendering` it produces.

One codec per media type. Each parses and renders every document the OCCI
HTTP protocol moves: category collections (the query interface, filters,
user mixin definitions), one entity (a resource with its inline links, or a
link), entity collections (listings), action invocations and location lists.
Parsers take the request body and the request headers, because text/occi
puts everything in headers. A codec that cannot carry a document raises
`UnsupportedDocumentError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from pyocci.model.category import Category
from pyocci.model.entity import ActionInvocation, Entity
from pyocci.model.registry import Model

#: Message headers: a mapping, or a sequence of (name, value) pairs when a
#: name repeats (as it does in text/occi). Names are matched case-insensitively.
Headers = Mapping[str, str] | Sequence[tuple[str, str]]


def header_items(headers: Headers) -> list[tuple[str, str]]:
    """Headers as a list of (name, value) pairs, whatever form they came in."""
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


@dataclass(frozen=True, slots=True)
class Rendering:
    """A rendered document: its Content-Type, its body and any headers it lives in.

    text/occi puts the document in `headers` and ``OK`` in the body; the
    other media types leave `headers` empty.
    """

    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class Codec(ABC):
    """Parse and render every OCCI document in one media type."""

    #: The canonical media type this codec produces.
    media_type: str = ""

    # --- categories ---------------------------------------------------------------

    @abstractmethod
    def render_categories(self, categories: Iterable[Category]) -> Rendering:
        """Render Kinds, Mixins and Actions in full (the query interface)."""

    @abstractmethod
    def parse_categories(self, body: bytes, headers: Headers = ()) -> list[Category]:
        """Parse a category collection: a query-interface answer, a filter, user mixins.

        Categories given by identifier only (filters, mixin lists in a partial
        update) come back as bare Kinds, Mixins or Actions.
        """

    # --- entities -----------------------------------------------------------------

    @abstractmethod
    def render_entity(self, entity: Entity) -> Rendering:
        """Render one resource (with inline links and action links) or one link."""

    @abstractmethod
    def parse_entity(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> Entity:
        """Parse one resource or link.

        A document with no kind (a partial update) yields an entity whose
        `kind` is None. With a `model`, attribute values are coerced to their
        declared types and a Resource/Link is chosen by the kind's ancestry;
        without one, an entity with a source or target is a Link.
        """

    def parse_entities(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> list[Entity]:
        """Parse a creation body: one entity, or (where the media type allows) several."""
        return [self.parse_entity(body, headers, model=model)]

    # --- collections --------------------------------------------------------------

    @abstractmethod
    def iter_collection(self, entities: Iterable[Entity]) -> Iterator[bytes]:
        """Render a listing as body chunks, so that large collections stream.

        Text renderings list locations; JSON renders the entities in full.
        """

    def collection_headers(self, entities: Sequence[Entity]) -> tuple[tuple[str, str], ...]:
        """Headers a listing needs besides its body (text/occi puts it all there)."""
        return ()

    def render_collection(self, entities: Iterable[Entity]) -> Rendering:
        """Render a whole listing at once."""
        materialized = list(entities)
        body = b"".join(self.iter_collection(materialized))
        return Rendering(self.media_type, body, self.collection_headers(materialized))

    @abstractmethod
    def render_locations(self, locations: Iterable[str]) -> Rendering:
        """Render a list of entity locations (create responses, mixin membership)."""

    @abstractmethod
    def parse_locations(self, body: bytes, headers: Headers = ()) -> list[str]:
        """Parse a list of entity locations."""

    # --- actions ------------------------------------------------------------------

    @abstractmethod
    def render_action(self, invocation: ActionInvocation) -> Rendering:
        """Render an action invocation (the body of ``POST ...?action=``)."""

    @abstractmethod
    def parse_action(
        self, body: bytes, headers: Headers = (), *, model: Model | None = None
    ) -> ActionInvocation:
        """Parse an action invocation; with a `model`, coerce the parameters."""
