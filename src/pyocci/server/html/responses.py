"""HTTP responses of the HTML view: pages, redirects after a form, error pages.

Every page carries headers that keep it to itself: no script may run
(the Content-Security-Policy allows the inline stylesheet by its hash and
nothing else), no other site may frame it or receive its forms, and no
cache keeps it (pages hold a tenant's entities and a CSRF token).
"""

from __future__ import annotations

import http
import logging

from starlette.responses import Response

from pyocci.model.errors import OcciError
from pyocci.rendering.html import render_error
from pyocci.rendering.html.environment import STYLE_HASH
from pyocci.server.responses import Dialect, bounded, error_headers, status_of

log = logging.getLogger("pyocci.server")

HTML_CONTENT_TYPE = "text/html; charset=utf-8"

#: What every page of the HTML view may load and do.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {STYLE_HASH}; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    # The same URL answers OCCI clients: caches must tell the answers apart.
    "vary": "Accept, Authorization, Cookie",
}


def page(
    body: bytes, dialect: Dialect, status: int = 200, set_cookie: str | None = None
) -> Response:
    """A page of the HTML view."""
    headers = {**dialect.headers, **PAGE_HEADERS}
    if set_cookie is not None:
        headers["set-cookie"] = set_cookie
    return Response(body, status_code=status, media_type=HTML_CONTENT_TYPE, headers=headers)


def see_other(location: str, dialect: Dialect) -> Response:
    """303 to the page that shows what a form did (so that reloading it sends nothing)."""
    headers = {**dialect.headers, **PAGE_HEADERS, "location": location}
    return Response(b"", status_code=303, headers=headers)


def error_page(error: Exception, dialect: Dialect, back: str | None) -> Response:
    """The error as a page, with the status and headers an OCCI client would get: a 401
    carries the challenge, so that a browser asks for a user name and password."""
    status = status_of(error)
    if status == 500:
        log.exception("unexpected error", exc_info=error)
        message = "internal error; the server log has the details"
    else:
        message = bounded(error.message if isinstance(error, OcciError) else str(error))
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    response = page(render_error(None, status, reason, message, back or ""), dialect, status)
    for name, value in error_headers(error).items():
        response.headers[name] = value
    return response
