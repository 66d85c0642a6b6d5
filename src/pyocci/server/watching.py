"""What watches a server, as its configuration asks: metrics, request ids, the access log.

`watching_for` builds, at start-up, the pieces the application is given:
the request observer (`pyocci.server.observation`), the backend measured
where the service calls it (`pyocci.backends.measured`), the metrics page
of the OCCI port (`pyocci.server.metrics_page`) and the background count of
entities (`pyocci.server.census`). With metrics off and no access log,
nothing watches and requests take the way they took before.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pyocci.backends.api import Backend
from pyocci.backends.measured import MeasuredBackend
from pyocci.server.config import ServerConfig
from pyocci.server.observation import RequestObserver
from pyocci.service.occi import OcciService

if TYPE_CHECKING:
    # Imported only when metrics are on: see pyocci.server.metrics.
    from pyocci.server.metrics import ServerMetrics
    from pyocci.server.metrics_page import MetricsPage

__all__ = ["Watching", "watching_for"]


class Watching:
    """The observer, the measured backend and, with metrics on, the page and the census."""

    def __init__(self, config: ServerConfig, backend: Backend) -> None:
        self.config = config
        metrics: ServerMetrics | None = None
        #: ``/metrics`` on the OCCI port; None when metrics are off or on a port of their own.
        self.page: MetricsPage | None = None
        if config.metrics.enabled:
            # Only now: prometheus-client must be imported after the multiprocess
            # directory is known (see pyocci.server.metrics).
            from pyocci.server.metrics import server_metrics
            from pyocci.server.metrics_page import MetricsPage

            metrics = server_metrics()
            metrics.describe_server(config.backend, config.auth.method)
            if config.metrics.port is None:
                self.page = MetricsPage(metrics, config.metrics.token)
        self.metrics = metrics
        #: The backend the service is to call.
        self.backend = MeasuredBackend(backend, metrics.backend_call if metrics else None)
        self.observer = RequestObserver(
            metrics=metrics, access=config.access_log, auth_method=config.auth.method
        )

    def count_entities(self, service: OcciService) -> asyncio.Task[None] | None:
        """Start counting the entities for the metrics, if they are on and asked for (the
        task is the caller's to cancel at shutdown)."""
        seconds = self.config.metrics.census_seconds
        if self.metrics is None or seconds <= 0:
            return None
        from pyocci.server.census import keep_counting
        from pyocci.server.metrics import known_states

        states = known_states(service.standard, service.backend.capabilities.kinds)
        return asyncio.get_running_loop().create_task(
            keep_counting(self.backend, self.metrics, states, seconds)
        )


def watching_for(config: ServerConfig, backend: Backend) -> Watching | None:
    """What watches a server of this configuration over `backend`; None: nothing does."""
    if not config.metrics.enabled and not config.access_log:
        return None
    return Watching(config, backend)
