"""Renderings of the OCCI model: text/plain, text/occi, application/occi+json, text/uri-list.

Each media type has a `Codec` that parses and renders every document the
protocol moves; `codec_for` finds it by media type.
"""

from __future__ import annotations

from pyocci.rendering.base import Codec, Headers, Rendering
from pyocci.rendering.errors import ParseError, UnsupportedDocumentError
from pyocci.rendering.json import JsonCodec, PlainJsonCodec
from pyocci.rendering.negotiation import (
    JSON,
    OCCI_JSON,
    TEXT_OCCI,
    TEXT_OCCI_PLAIN,
    TEXT_PLAIN,
    URI_LIST,
    media_type_of,
    negotiate,
)
from pyocci.rendering.text import TextOcciCodec, TextPlainCodec
from pyocci.rendering.urilist import UriListCodec

_TEXT_PLAIN = TextPlainCodec()
_JSON = JsonCodec()

#: Every media type pyocci reads and writes, mapped to its codec.
CODECS: dict[str, Codec] = {
    TEXT_PLAIN: _TEXT_PLAIN,
    TEXT_OCCI_PLAIN: _TEXT_PLAIN,
    TEXT_OCCI: TextOcciCodec(),
    OCCI_JSON: _JSON,
    JSON: PlainJsonCodec(),
    URI_LIST: UriListCodec(),
}


def codec_for(content_type: str | None) -> Codec | None:
    """The codec for a Content-Type or media type (parameters ignored), or None."""
    media_type = media_type_of(content_type)
    return CODECS.get(media_type) if media_type else None


__all__ = [
    "CODECS",
    "Codec",
    "Headers",
    "ParseError",
    "Rendering",
    "UnsupportedDocumentError",
    "codec_for",
    "negotiate",
]
