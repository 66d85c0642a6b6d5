"""The HTML view's entry: which requests it answers, and how each is routed.

The application (`pyocci.server.app`) hands a request over when its
Accept prefers text/html (a browser's does; no OCCI client's does), after
the same checks, authentication and path resolution as any request. GET
shows a page; POST carries a form, checked against cross-site forgery
(`csrf`) before it does anything, and answers with a redirect to the page
that shows what it did.
"""

from __future__ import annotations

import functools

from starlette.responses import Response

from pyocci import __version__
from pyocci.rendering.html import Frame
from pyocci.rendering.negotiation import prefers_html
from pyocci.server.handlers.exchange import Exchange
from pyocci.server.html.act import Actor
from pyocci.server.html.browse import Browser
from pyocci.server.html.csrf import CsrfGuard
from pyocci.server.html.forms import read_form
from pyocci.server.html.responses import error_page, page, see_other
from pyocci.server.origins import Origins
from pyocci.server.responses import Dialect
from pyocci.service.occi import OcciService
from pyocci.service.paths import Collection, EntityPath, QueryInterface, Target

#: The methods the HTML view answers: a browser without script sends no others.
METHODS = ("GET", "HEAD", "POST")


class HtmlView:
    """Answers the requests of browsers."""

    def __init__(self, service: OcciService, origins: Origins) -> None:
        self.csrf = CsrfGuard(origins)
        self.browser = Browser(service)
        self.actor = Actor(service)

    @staticmethod
    def wanted(method: str, accept: str | None, dialect: Dialect) -> bool:
        """Whether a request is the HTML view's: a GET, HEAD or POST whose Accept prefers
        text/html to every OCCI rendering the server offers."""
        return method in METHODS and _prefers_html(accept, dialect.offered)

    async def route(self, exchange: Exchange, target: Target) -> Response:
        """The page for a GET or HEAD; for a POST, the form done and a redirect."""
        if exchange.method == "POST":
            form = read_form(exchange.headers.get("content-type"), exchange.body)
            self.csrf.check(exchange.headers, exchange.scope, exchange.tenant, form.csrf_token)
            location = await self.actor.act(exchange, target, form)
            return see_other(exchange.absolute(location), exchange.dialect)
        nonce, set_cookie = self.csrf.nonce(exchange.headers, exchange.scope)
        frame = Frame(
            csrf_token=self.csrf.token(nonce, exchange.tenant),
            tenant=exchange.tenant.name or exchange.tenant.id,
            collections=self.browser.collections(exchange.model),
            path=exchange.path,
            server=f"pyocci {__version__}, OCCI {exchange.dialect.name}",
        )
        body = await self._page(exchange, frame, target)
        return page(body, exchange.dialect, set_cookie=set_cookie)

    async def _page(self, exchange: Exchange, frame: Frame, target: Target) -> bytes:
        browser, form = self.browser, exchange.query.get("form")
        if isinstance(target, QueryInterface):
            return browser.query_interface(exchange, frame)
        if isinstance(target, Collection):
            if form == "create":
                return browser.create_form(exchange, frame, target)
            return await browser.listing(exchange, frame, target)
        if isinstance(target, EntityPath) and form == "delete":
            return await browser.delete_question(exchange, frame, target)
        return await browser.entity(exchange, frame, target)

    @staticmethod
    def error(error: Exception, method: str, path: str, dialect: Dialect) -> Response:
        """An error as a page, linking back to where the person came from: the page of
        the form that failed, or the start."""
        own_page = path.startswith("/") and not path.startswith("//")
        back = path if method == "POST" and own_page else ("/" if path != "/" else None)
        return error_page(error, dialect, back)


@functools.lru_cache(maxsize=512)
def _prefers_html(accept: str | None, offered: tuple[str, ...]) -> bool:
    # Browsers repeat the same few Accept headers: remember the answers.
    return prefers_html(accept, offered)
