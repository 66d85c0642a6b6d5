"""Cross-site request forgery: only the HTML view's own forms may change anything.

A browser sends basic credentials (and cookies) with every request to the
server, whichever site made it post a form; so a form post is accepted only
when all of these hold (docs/html.md says why each):

1. ``Sec-Fetch-Site``, when the browser sends it, is ``same-origin``;
2. ``Origin``, when sent, is this server's origin;
3. the ``csrf`` field equals the token derived from the browser's CSRF
   cookie (a random nonce, ``HttpOnly`` and ``SameSite=Strict``, set with the
   first page) and the tenant the request is authenticated as.

The token is an HMAC of the tenant under the nonce: another site can read
neither, a cookie planted from a sibling domain fails checks 1 and 2, and a
form rendered for one tenant is refused when the browser has meanwhile
signed in as another. Nothing is kept on the server, so every worker and
every host behind a balancer checks tokens alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.requests import cookie_parser
from starlette.types import Scope

from pyocci.backends.api import Tenant
from pyocci.server.origins import Origins
from pyocci.service.errors import ForbiddenError

#: The cookie over plain HTTP.
COOKIE = "occi-csrf"
#: The cookie over HTTPS: the ``__Host-`` prefix makes browsers refuse it unless it is
#: Secure, for the whole host and set by the host itself (not by a sibling domain).
SECURE_COOKIE = "__Host-occi-csrf"
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CsrfGuard:
    """Issues the CSRF cookie and tokens, and checks form posts."""

    def __init__(self, origins: Origins) -> None:
        self._origins = origins

    def nonce(self, headers: Mapping[str, str], scope: Scope) -> tuple[str, str | None]:
        """The browser's nonce, and the ``Set-Cookie`` value that gives it one when it
        has none yet (None when it has)."""
        secure = self._secure(scope)
        found = self._cookie(headers, secure)
        if found is not None:
            return found, None
        nonce = secrets.token_urlsafe(32)
        attributes = "Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
        return nonce, f"{SECURE_COOKIE if secure else COOKIE}={nonce}; {attributes}"

    @staticmethod
    def token(nonce: str, tenant: Tenant) -> str:
        """The token forms carry for this nonce and tenant."""
        digest = hmac.new(nonce.encode(), tenant.id.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def check(
        self, headers: Mapping[str, str], scope: Scope, tenant: Tenant, token: str | None
    ) -> None:
        """Raise ForbiddenError unless a form post comes from this server's own page."""
        site = headers.get("sec-fetch-site")
        if site is not None and site != "same-origin":
            raise ForbiddenError(
                f"this form was sent from a page that is not this server's (Sec-Fetch-Site: "
                f"{site}); use the forms of this server's own pages"
            )
        origin = headers.get("origin")
        if origin is not None and not self._is_own_origin(origin, scope):
            raise ForbiddenError(
                f"this form was sent from {origin}, not from this server; "
                "use the forms of this server's own pages"
            )
        nonce = self._cookie(headers, self._secure(scope))
        if nonce is None or not token or not hmac.compare_digest(token, self.token(nonce, tenant)):
            raise ForbiddenError(
                "this form is out of date or was not made by this server; "
                "reload the page and send it again"
            )

    def _secure(self, scope: Scope) -> bool:
        return self._origins.base_url(scope).startswith("https:")

    @staticmethod
    def _cookie(headers: Mapping[str, str], secure: bool) -> str | None:
        cookies = headers.get("cookie")
        if not cookies:
            return None
        value = cookie_parser(cookies).get(SECURE_COOKIE if secure else COOKIE)
        return value if value is not None and _NONCE.fullmatch(value) else None

    def _is_own_origin(self, origin: str, scope: Scope) -> bool:
        own = _origin_key(self._origins.base_url(scope))
        return own is not None and _origin_key(origin) == own


def _origin_key(url: str) -> tuple[str, str, int] | None:
    """Scheme, host and port of an origin or URL, default ports filled in; None when it
    names none (``null``, garbage)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port
