"""From OCCI results to HTTP responses: renderings, listings, and errors with the right status."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

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
from pyocci.rendering.negotiation import OCCI_JSON, TEXT_OCCI, URI_LIST
from pyocci.server.auth import AuthenticationError
from pyocci.service import errors as service_errors

log = logging.getLogger("pyocci.server")

SERVER_HEADER = f"pyocci/{__version__} OCCI/1.2"

#: Media types a client may ask for, in the order the server prefers them.
OFFERED = ["text/plain", "text/occi", OCCI_JSON, "application/json", URI_LIST, "text/occi+plain"]
ACCEPT_HEADER = ", ".join(OFFERED)

#: Error class -> status; the first match (in order) wins, so subclasses come first.
STATUS_OF: list[tuple[type[Exception], int]] = [
    (AuthenticationError, 401),
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
]


class HttpError(OcciError):
    """An HTTP-level refusal (406, 413, 415, 431, 501 for a too-new client...)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def base_headers() -> dict[str, str]:
    """Headers every response carries (GFD.223: Server with the OCCI version, Accept)."""
    return {"server": SERVER_HEADER, "accept": ACCEPT_HEADER}


def rendered(
    rendering: Rendering, status: int = 200, extra: dict[str, str] | None = None
) -> Response:
    """A response carrying a rendering (text/occi: in the headers, body ``OK``)."""
    response = Response(rendering.body, status_code=status, media_type=rendering.content_type)
    headers = response.headers
    for name, value in base_headers().items():
        headers[name] = value
    for name, value in rendering.headers:
        headers.append(name, value)
    for name, value in (extra or {}).items():
        headers[name] = value
    return response


def streamed(
    codec: Codec, chunks: AsyncIterator[bytes], extra: dict[str, str] | None = None
) -> Response:
    """A listing streamed as it is rendered."""
    headers = {**base_headers(), **(extra or {})}
    return StreamingResponse(chunks, status_code=200, media_type=codec.media_type, headers=headers)


def status_of(error: Exception) -> int:
    """The HTTP status for an error raised on purpose; 500 for anything else."""
    if isinstance(error, HttpError):
        return error.status
    for error_class, status in STATUS_OF:
        if isinstance(error, error_class):
            return status
    return 500


def error_response(error: Exception, codec: Codec | None) -> Response:
    """The error in the client's rendering, with ``X-OCCI-Error`` for every client."""
    status = status_of(error)
    if status == 500:
        log.exception("unexpected error", exc_info=error)
        message = "internal error; the server log has the details"
    else:
        message = error.message if isinstance(error, OcciError) else str(error)
    one_line = " ".join(message.split())
    headers = {**base_headers(), "x-occi-error": _latin1(one_line)}
    if isinstance(error, HttpError):
        headers.update(error.headers)
    if isinstance(error, AuthenticationError):
        headers["www-authenticate"] = error.challenge
    if isinstance(error, backend_errors.BackendUnavailableError):
        headers["retry-after"] = str(error.retry_after)
    if isinstance(error, service_errors.MethodNotAllowedError):
        headers["allow"] = ", ".join(error.allowed)
    media_type = codec.media_type if codec is not None else "text/plain"
    if media_type in (OCCI_JSON, "application/json"):
        body = json.dumps({"status": status, "error": message}).encode()
        return Response(body, status_code=status, media_type=OCCI_JSON, headers=headers)
    if media_type == TEXT_OCCI:
        return Response(b"", status_code=status, media_type=TEXT_OCCI, headers=headers)
    return Response(
        (message + "\n").encode("utf-8"),
        status_code=status,
        media_type="text/plain; charset=utf-8",
        headers=headers,
    )


def codec_named(media_type: str) -> Codec:
    """The codec for a negotiated media type."""
    return CODECS[media_type]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _latin1(text: str) -> str:
    """A header value: Latin-1 only, with control characters (which a client may have
    sent and the message quotes) shown as ``?``."""
    return _CONTROL.sub("?", text).encode("latin-1", "replace").decode("latin-1")
