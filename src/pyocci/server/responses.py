"""From OCCI results to HTTP responses: renderings, listings, and errors with the right status."""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from pyocci import __version__
from pyocci.backends import errors as backend_errors
from pyocci.model.errors import (
    CategoryConflictError,
    OcciError,
    UnknownCategoryError,
    ValidationError,
)
from pyocci.rendering import CODECS, Codec, Rendering
from pyocci.rendering.errors import ParseError, UnsupportedDocumentError
from pyocci.rendering.negotiation import OCCI_JSON, TEXT_OCCI, TEXT_PLAIN, URI_LIST, negotiate
from pyocci.server.auth import AccessDeniedError, AuthenticationError, TooManyAttemptsError
from pyocci.service import errors as service_errors
from pyocci.store import errors as store_errors

log = logging.getLogger("pyocci.server")

#: Media types a client may ask for, in the order the server prefers them.
OFFERED = ("text/plain", "text/occi", OCCI_JSON, "application/json", URI_LIST, "text/occi+plain")
#: What an OCCI 1.1 server offers: 1.1 has no JSON rendering.
OFFERED_1_1 = ("text/plain", "text/occi", URI_LIST, "text/occi+plain")


@dataclass(frozen=True)
class Dialect:
    """The OCCI version a server speaks: what it announces, renders and reads."""

    version: tuple[int, int]
    offered: tuple[str, ...]

    @property
    def name(self) -> str:
        """``1.2`` or ``1.1``."""
        return f"{self.version[0]}.{self.version[1]}"

    @functools.cached_property
    def headers(self) -> dict[str, str]:
        """Headers every response carries (GFD.223: Server with the OCCI version, Accept)."""
        return {
            "server": f"pyocci/{__version__} OCCI/{self.name}",
            "accept": ", ".join(self.offered),
        }

    def negotiate(self, accept: str | None) -> str | None:
        """The media type to answer in for an Accept header; None when nothing fits."""
        return _negotiated(accept, self.offered)

    def reads(self, media_type: str) -> bool:
        """Whether request bodies of `media_type` (a codec's own type) are understood."""
        return media_type in self.offered

    def rendered(
        self, rendering: Rendering, status: int = 200, extra: dict[str, str] | None = None
    ) -> Response:
        """A response carrying a rendering (text/occi: in the headers, body ``OK``)."""
        response = Response(rendering.body, status_code=status, media_type=rendering.content_type)
        headers = response.headers
        for name, value in self.headers.items():
            headers[name] = value
        # OCCI text in headers is UTF-8 (HTTP carries any octet above 0x7f as
        # obs-text; the parsers read header values as UTF-8): a title in any script
        # travels, where Latin-1 would fail on the first character outside it.
        raw = response.raw_headers
        for name, value in rendering.headers:
            raw.append((name.lower().encode("latin-1"), value.encode("utf-8")))
        for name, value in (extra or {}).items():
            headers[name] = value
        return response

    def streamed(
        self, codec: Codec, chunks: AsyncIterator[bytes], extra: dict[str, str] | None = None
    ) -> Response:
        """A listing streamed as it is rendered."""
        headers = {**self.headers, **(extra or {})}
        return StreamingResponse(
            chunks, status_code=200, media_type=codec.media_type, headers=headers
        )

    def empty(self) -> Response:
        """``200 OK`` without a document: what a delete or an association answers."""
        return Response(status_code=200, headers=self.headers)

    def error(self, error: Exception, codec: Codec | None) -> Response:
        """The error in the client's rendering, with ``X-OCCI-Error`` for every client."""
        return error_response(error, codec, self)


OCCI_1_2 = Dialect((1, 2), OFFERED)
OCCI_1_1 = Dialect((1, 1), OFFERED_1_1)
#: The dialect for each ``occi_version`` of the configuration.
DIALECTS = {dialect.name: dialect for dialect in (OCCI_1_2, OCCI_1_1)}


@functools.lru_cache(maxsize=512)
def _negotiated(accept: str | None, offered: tuple[str, ...]) -> str | None:
    # Clients repeat the same few Accept headers: remember the answers.
    return negotiate(accept, list(offered), default=TEXT_PLAIN)


#: Error class -> status; the first match (in order) wins, so subclasses come first.
STATUS_OF: list[tuple[type[Exception], int]] = [
    (AuthenticationError, 401),
    (AccessDeniedError, 403),
    (TooManyAttemptsError, 429),
    (ParseError, 400),
    (UnsupportedDocumentError, 400),
    (ValidationError, 400),
    (UnknownCategoryError, 400),
    (CategoryConflictError, 409),
    (service_errors.BadRequestError, 400),
    (service_errors.NotFoundError, 404),
    (service_errors.ForbiddenError, 403),
    (service_errors.MethodNotAllowedError, 405),
    (service_errors.PageTooLargeError, 413),
    (service_errors.StateConflictError, 409),
    (backend_errors.NotSupportedError, 501),
    (backend_errors.EntityNotFoundError, 404),
    (backend_errors.ConflictError, 409),
    (backend_errors.QuotaExceededError, 403),
    (backend_errors.InvalidRequestError, 400),
    (backend_errors.BackendUnavailableError, 503),
    (store_errors.UnstorableValueError, 400),
    (store_errors.StorageFullError, 507),
    (store_errors.StoreUnavailableError, 503),
]


class HttpError(OcciError):
    """An HTTP-level refusal (406, 413, 415, 431, 501 for a too-new client...)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def status_of(error: Exception) -> int:
    """The HTTP status for an error raised on purpose; 500 for anything else."""
    if isinstance(error, HttpError):
        return error.status
    for error_class, status in STATUS_OF:
        if isinstance(error, error_class):
            return status
    return 500


def error_response(error: Exception, codec: Codec | None, dialect: Dialect = OCCI_1_2) -> Response:
    """The error in the client's rendering, with ``X-OCCI-Error`` for every client."""
    status = status_of(error)
    if status == 500:
        log.exception("unexpected error", exc_info=error)
        message = "internal error; the server log has the details"
    else:
        message = bounded(error.message if isinstance(error, OcciError) else str(error))
    one_line = " ".join(message.split())
    headers = {**dialect.headers, "x-occi-error": _latin1(one_line), **error_headers(error)}
    media_type = codec.media_type if codec is not None else "text/plain"
    if media_type in (OCCI_JSON, "application/json"):
        body = json.dumps({"status": status, "error": message}).encode()
        return Response(body, status_code=status, media_type=media_type, headers=headers)
    if media_type == TEXT_OCCI:
        return Response(b"", status_code=status, media_type=TEXT_OCCI, headers=headers)
    return Response(
        (message + "\n").encode("utf-8"),
        status_code=status,
        media_type="text/plain; charset=utf-8",
        headers=headers,
    )


def error_headers(error: Exception) -> dict[str, str]:
    """The headers an error's answer carries in every rendering: the challenge of a 401,
    when to retry, the methods a path allows."""
    headers: dict[str, str] = {}
    if isinstance(error, HttpError):
        headers.update(error.headers)
    if isinstance(error, AuthenticationError):
        headers["www-authenticate"] = error.challenge
    # Every error a client should retry later (503, 507, 429) says when.
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    if isinstance(error, service_errors.MethodNotAllowedError):
        headers["allow"] = ", ".join(error.allowed)
    return headers


#: The longest error message sent: messages quote the client's input, which can be
#: of any size, and a header of megabytes is one no client reads.
MAX_MESSAGE = 1000


def bounded(message: str) -> str:
    """`message`, cut to `MAX_MESSAGE` characters, saying how much was left out."""
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:MAX_MESSAGE]}... ({len(message) - MAX_MESSAGE} more characters)"


def codec_named(media_type: str) -> Codec:
    """The codec for a negotiated media type."""
    return CODECS[media_type]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _latin1(text: str) -> str:
    """A header value: Latin-1 only, with control characters (which a client may have
    sent and the message quotes) shown as ``?``."""
    return _CONTROL.sub("?", text).encode("latin-1", "replace").decode("latin-1")


async def send_response(
    response: Response, send: Send, scope: Scope | None = None, receive: Receive | None = None
) -> None:
    """Send a response. A plain one (the whole body in memory, as every rendered
    document and error is) goes out as two ASGI messages built once and kept on it,
    since cached responses are sent again and again; any other (streamed) response
    is run as Starlette runs it, which needs `scope` and `receive`."""
    if type(response) is not Response or response.background is not None:
        if scope is None or receive is None:
            raise ValueError("a streamed response needs the request's scope and receive")
        await response(scope, receive, send)
        return
    messages = response.__dict__.get("_asgi_messages")
    if messages is None:
        messages = response.__dict__["_asgi_messages"] = (
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            },
            {"type": "http.response.body", "body": response.body},
        )
    await send(messages[0])
    await send(messages[1])
