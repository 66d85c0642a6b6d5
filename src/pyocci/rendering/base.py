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
from pyocci.rendering.errors import UnsupportedDocumentError

#: Message headers: a mapping, or a sequence of (name, value) pairs when a
#: name repeats (as it does in text/occi). Names are matched case-insensitively.
Headers = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Rendering:
    """A rendered document: its Content-Type, its body and any headers it lives in.

    text/occi puts the document in `headers` and ``OK`` in the body; the
    other media types leave `headers` empty.
    """

    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class CollectionWriter(ABC):
    """Renders one listing a batch at a time, for entities that arrive in batches
    (from an async source, say) rather than as one iterable."""

    @abstractmethod
    def write(self, entities: Iterable[Entity]) -> bytes:
        """Body bytes for the next entities of the listing (may be empty)."""

    @abstractmethod
    def close(self) -> bytes:
        """The rest of the body, once every entity has been written."""

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """Headers the listing needs; complete only after `close` (text/occi)."""
        return ()


class LocationWriter(CollectionWriter):
    """A listing that shows each entity's location and nothing else (text/plain,
    text/occi, uri-list): given the locations alone, it never needs the entities."""

    #: Named in the error for an entity without a location.
    media_type: str = ""

    def write(self, entities: Iterable[Entity]) -> bytes:
        """Body bytes for the locations of the next entities."""
        locations = []
        for entity in entities:
            if entity.location is None:
                raise UnsupportedDocumentError(
                    self.media_type, f"a listing entry without a location ({entity.id})"
                )
            locations.append(entity.location)
        return self.write_locations(locations)

    @abstractmethod
    def write_locations(self, locations: Sequence[str]) -> bytes:
        """Body bytes for the next locations of the listing (may be empty)."""


class Codec(ABC):
    """Parse and render every OCCI document in one media type."""

    #: The canonical media type this codec produces.
    media_type: str = ""

    #: Whether listings travel in headers, so a response cannot start before
    #: the last entity is known (text/occi).
    collection_in_headers: bool = False

    @property
    def variant(self) -> str:
        """What tells this codec's output from other codecs' of the same media type (the
        OCCI 1.1 form, say): a key for responses kept once rendered."""
        return self.media_type

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
    def open_collection(self) -> CollectionWriter:
        """Start rendering a listing; text renderings list locations, JSON renders the
        entities in full."""

    def iter_collection(self, entities: Iterable[Entity]) -> Iterator[bytes]:
        """Render a listing as body chunks, so that large collections stream."""
        writer = self.open_collection()
        for entity in entities:
            chunk = writer.write((entity,))
            if chunk:
                yield chunk
        last = writer.close()
        if last:
            yield last

    def render_collection(self, entities: Iterable[Entity]) -> Rendering:
        """Render a whole listing at once."""
        writer = self.open_collection()
        body = writer.write(entities) + writer.close()
        return Rendering(self.media_type, body, writer.headers)

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
