"""The entities counted by kind and state, now and then, for the metrics.

A backend that can count its entities in one cheap read (`Backend.census`:
the sim, one grouped query of its store) is asked every ``[metrics]
census_seconds`` by each worker process, in the background; the counts go
to the ``pyocci_entities`` gauge. A scrape never waits for a count, and a
backend that cannot count (a real cloud: every tenant's every entity would
be listed) is asked once and then left alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from pyocci.backends.api import Backend, BackendError
from pyocci.server.metrics import ServerMetrics

__all__ = ["keep_counting"]

log = logging.getLogger("pyocci.server.census")


async def keep_counting(
    backend: Backend,
    metrics: ServerMetrics,
    states: Mapping[str, tuple[str, ...]],
    seconds: float,
) -> None:
    """Count the entities every `seconds` until cancelled; return at once when the
    backend cannot count them. A failed count is logged and tried again next time."""
    while True:
        try:
            counted = await backend.census()
        except Exception as error:
            # A cloud's refusal is the cloud's; anything else is a bug, with its traceback.
            log.warning(
                "counting the entities for the metrics failed: %s",
                error,
                exc_info=not isinstance(error, BackendError),
            )
        else:
            if counted is None:
                return
            metrics.census(counted, states)
        await asyncio.sleep(seconds)
