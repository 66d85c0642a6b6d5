"""``/metrics`` on the OCCI port: the metrics page, for scrapers that send the token.

Served only when ``[metrics] enabled`` and no ``port`` of its own is set;
then ``[metrics] token`` is required (`MetricsConfig` insists), and a
scrape without ``Authorization: Bearer <token>`` gets 401. The page is
outside the OCCI namespace: it is answered before any OCCI authentication,
rendering or path resolution.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import Scope

from pyocci.server.metrics import CONTENT_TYPE, METRICS_PATH, ServerMetrics, check_scraper
from pyocci.server.observation import current_request

__all__ = ["MetricsPage"]

_AUTHORIZATION = b"authorization"


class MetricsPage:
    """Answers ``GET /metrics`` with the metrics of every worker process."""

    #: The path it is served at.
    path = METRICS_PATH

    def __init__(self, metrics: ServerMetrics, token: str | None) -> None:
        self.metrics = metrics
        self.token = token

    def answer(self, scope: Scope) -> Response:
        """The page, or why not: 401 without the token, 405 for a method but GET or HEAD."""
        record = current_request.get()
        if record is not None:
            record.target = "metrics"
        authorization = next(
            (value for name, value in scope["headers"] if name.lower() == _AUTHORIZATION), None
        )
        refusal = check_scraper(
            authorization.decode("latin-1") if authorization is not None else None, self.token
        )
        if refusal is not None:
            return Response(
                refusal + "\n",
                status_code=401,
                media_type="text/plain",
                headers={"www-authenticate": 'Bearer realm="metrics"'},
            )
        if scope["method"] not in ("GET", "HEAD"):
            return Response(
                "the metrics are read with GET\n",
                status_code=405,
                media_type="text/plain",
                headers={"allow": "GET, HEAD"},
            )
        return Response(self.metrics.page(), media_type=CONTENT_TYPE)
