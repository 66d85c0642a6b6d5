"""``/metrics`` on a listener of its own (``[metrics] port``), run by ``occi-server``.

The workers write their values to the multiprocess directory; this
listener, a thread of ``occi-server``'s main process, reads every worker's
from there at each scrape. It answers ``GET /metrics`` (with ``Authorization:
Bearer <token>`` when ``[metrics] token`` is set) and 404 for any other
path, over plain HTTP: it is meant for an address only the scraper
reaches (the default is 127.0.0.1).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from pyocci.server.metrics import CONTENT_TYPE, METRICS_PATH, check_scraper, metrics_page

__all__ = ["MetricsListener"]

StartResponse = Callable[..., Any]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """No line on stderr per scrape: the access log is the OCCI port's."""

    def log_message(self, format: str, *args: Any) -> None:
        return None


class MetricsListener:
    """The metrics page on `address`:`port` (bound at once: OSError when it cannot be);
    `page` makes its text (by default every worker's metrics, `metrics_page`)."""

    def __init__(
        self,
        address: str,
        port: int,
        token: str | None,
        page: Callable[[], bytes] = metrics_page,
    ) -> None:
        self.token = token
        self._page = page
        server_class = _Server6 if ":" in address else _Server
        self._server = make_server(
            address, port, self._app, server_class=server_class, handler_class=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="pyocci-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on (the one chosen by the system, for port 0)."""
        return self._server.server_address[1]

    def start(self) -> None:
        """Serve in a thread of this process."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != METRICS_PATH:
            return _plain(start_response, "404 Not Found", "only /metrics is served here")
        refusal = check_scraper(environ.get("HTTP_AUTHORIZATION"), self.token)
        if refusal is not None:
            return _plain(
                start_response,
                "401 Unauthorized",
                refusal,
                [("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _plain(
                start_response,
                "405 Method Not Allowed",
                "the metrics are read with GET",
                [("Allow", "GET, HEAD")],
            )
        page = self._page()
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(page)))]
        )
        return [page]


def _plain(
    start_response: StartResponse,
    status: str,
    message: str,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = (message + "\n").encode("utf-8")
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *(headers or []),
        ],
    )
    return [body]
