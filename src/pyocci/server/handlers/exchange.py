"""One request as the handlers see it: who asks, for what, and how the answer is written.

The application builds an `Exchange` once it knows the tenant, the
tenant's model and the rendering to answer in; every handler then reads
the request through it, whichever target the path names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import URL
from starlette.types import Scope

from pyocci.backends.api import Tenant
from pyocci.model.category import Category
from pyocci.model.registry import Model
from pyocci.rendering import Codec, codec_for
from pyocci.rendering.negotiation import DEFAULT_MEDIA_TYPE
from pyocci.server.origins import Origins
from pyocci.server.responses import Dialect, HttpError, codec_named
from pyocci.service.filters import parse_filter_categories

#: Header fields that carry an OCCI document in the text rendering (a request may
#: send its document there, with no body at all).
DOCUMENT_FIELDS = ("category", "x-occi-attribute", "x-occi-location")


@dataclass(slots=True)
class Exchange:
    """A request with what the server worked out about it before its handler runs."""

    method: str
    path: str
    #: The first value of each header field, by lowercase name, as Latin-1 text.
    headers: Mapping[str, str]
    #: The query string's parameters (the last value of a repeated one).
    query: Mapping[str, str]
    #: The request body; empty for methods that carry none (GET, HEAD).
    body: bytes
    tenant: Tenant
    #: The tenant's categories, for parsing and validating what it sends.
    model: Model
    #: The codec the answer is written in (negotiated from Accept).
    codec: Codec
    dialect: Dialect
    scope: Scope
    origins: Origins

    @property
    def fields(self) -> list[tuple[bytes, bytes]]:
        """The header fields as sent, for the OCCI parsers: they read values as UTF-8
        (the Latin-1 text of `headers` would turn a UTF-8 title into mojibake) and
        refuse values that are not UTF-8 with a 400."""
        fields: list[tuple[bytes, bytes]] = self.scope["headers"]
        return fields

    def absolute(self, location: str) -> str:
        """`location` as an absolute URL on this server, as the client names it."""
        return self.origins.absolute(self.scope, location)

    def url_path(self) -> str:
        """The request's path as it appears in the request's URL (escaped as there)."""
        return URL(scope=self.scope).path

    def category_filters(self) -> list[Category]:
        """The categories the request's ``Category`` header fields name (filters of a
        listing or of discovery); most requests send none, and are not parsed."""
        headers = self.headers
        # Two lookups, not a loop: every read of the query interface asks this.
        if "category" not in headers and "x-occi-category" not in headers:
            return []
        return parse_filter_categories(self.fields)

    def has_document(self) -> bool:
        """Whether the request carries an OCCI document, in its body or in header fields
        (rOCCI clients send a body of just ``OK`` with the document in the headers)."""
        body = self.body.strip()
        if body and body != b"OK":
            return True
        return any(name in self.headers for name in DOCUMENT_FIELDS)

    def reader(self) -> Codec:
        """The codec that reads the request's document, by its Content-Type (the
        default rendering when it names none); 415 for a type this server does not read."""
        content_type = self.headers.get("content-type")
        if not content_type:
            return codec_named(DEFAULT_MEDIA_TYPE)
        # rOCCI-cli sends the list "text/plain,text/occi" (invalid, but in the field):
        # read it as its first media type that this server reads.
        for candidate in content_type.split(","):
            codec = codec_for(candidate)
            if codec is not None and self.dialect.reads(codec.media_type):
                return codec
        offered = ", ".join(self.dialect.offered)
        raise HttpError(415, f"cannot read {content_type}; send one of {offered}")
