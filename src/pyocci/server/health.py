"""``/healthz`` and ``/livez``: what a load balancer and a process supervisor ask.

``GET /healthz`` answers 200 when this process can serve: its database
answers a query and its cloud answers the backend's cheap check
(`Backend.check_health`); else 503, naming what fails. A load balancer
sends requests only to processes that answer 200. ``GET /livez`` answers
200 while the process answers at all, without asking anything: a
supervisor restarts a process only when that fails, not when the database
does (a restart would not mend the database).

Both are outside the OCCI namespace and need no credentials: they show only
whether each part answers and, for a failing one, a fixed category taken from
the error's class (``database unreachable``, ``cloud timed out``...). The
error's own text can name hosts, database URLs or a driver's words, so it goes
to the server's log only, at warning, when a part starts failing or fails in
another way (not on every probe). Probes arrive every second or two from each
balancer: one answer is reused for `KEEP_SECONDS`, and concurrent probes wait
for the one check under way rather than each asking the cloud.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from pyocci.backends.api import Backend
from pyocci.backends.deadline import CloudDeadlineError
from pyocci.backends.errors import (
    BackendError,
    BackendUnavailableError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
    QuotaExceededError,
)
from pyocci.server.observation import current_request
from pyocci.store.database import Database
from pyocci.store.errors import StoreError, StoreUnavailableError

__all__ = ["HEALTH_PATH", "LIVE_PATH", "HealthPage"]

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
LIVE_PATH = "/livez"
#: How long each check may take before it counts as failing.
CHECK_SECONDS = 3.0
#: How long an answer is reused for later probes.
KEEP_SECONDS = 1.0

_NO_STORE = {"cache-control": "no-store"}

#: What a probe is told of a failing cloud, by the class of the backend's error (the
#: first that matches: subclasses come before their bases).
_CLOUD_CATEGORIES: tuple[tuple[type[BackendError], str], ...] = (
    (CloudDeadlineError, "cloud timed out"),
    (BackendUnavailableError, "cloud unreachable or throttling"),
    (QuotaExceededError, "cloud refused the service account (credentials, permission or quota)"),
    (NotSupportedError, "cloud check not supported"),
    (EntityNotFoundError, "cloud answered not found"),
    (ConflictError, "cloud busy"),
    (InvalidRequestError, "cloud refused the check as invalid"),
)
_UNEXPECTED = "unexpected error; see the server's log"


def database_category(error: StoreError) -> str:
    """What a probe is told of a failing database: the incident the error's class
    names (``database unreachable``, ``database full``...), never the error's text."""
    if isinstance(error, StoreUnavailableError):
        return f"database {type(error).kind}"
    return "database error"


def cloud_category(error: BackendError) -> str:
    """What a probe is told of a failing cloud, from the error's class, never its text."""
    for error_class, category in _CLOUD_CATEGORIES:
        if isinstance(error, error_class):
            return category
    return "cloud error"


def _logged_text(error: BaseException) -> str:
    """The error's full text for the server's log, with the database's own words when
    the store kept them apart (`StoreUnavailableError.detail`)."""
    detail = getattr(error, "detail", "")
    return f"{error} ({detail})" if detail else str(error)


class HealthPage:
    """Answers ``/healthz`` from checks of the database and the cloud, and ``/livez``."""

    def __init__(
        self, database: Database, backend: Backend, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.database = database
        self.backend = backend
        self._clock = clock
        self._lock = anyio.Lock()
        self._kept: tuple[float, dict[str, Any]] | None = None
        #: part -> the category it last failed with, to log each change once.
        self._failing: dict[str, str] = {}

    @staticmethod
    def serves(path: str) -> bool:
        """Whether `path` is one of the health pages."""
        return path in (HEALTH_PATH, LIVE_PATH)

    async def answer(self, scope: Scope) -> Response:
        """The page at ``scope``'s path; 405 for a method but GET or HEAD."""
        record = current_request.get()
        if record is not None:
            record.target = "health"
        if scope["method"] not in ("GET", "HEAD"):
            return JSONResponse(
                {"error": "health is read with GET"},
                status_code=405,
                headers={"allow": "GET, HEAD", **_NO_STORE},
            )
        if scope["path"] == LIVE_PATH:
            return JSONResponse({"status": "ok"}, headers=_NO_STORE)
        report = await self.report()
        status = 200 if report["status"] == "ok" else 503
        return JSONResponse(report, status_code=status, headers=_NO_STORE)

    async def report(self) -> dict[str, Any]:
        """``{"status": "ok" | "failing", "checks": {"database": ..., "cloud": ...}}``,
        checked now or at most `KEEP_SECONDS` ago."""
        async with self._lock:
            kept = self._kept
            if kept is not None and self._clock() - kept[0] < KEEP_SECONDS:
                return kept[1]
            checks = {"database": await self._database(), "cloud": await self._cloud()}
            failing = any(check["status"] == "failing" for check in checks.values())
            report = {"status": "failing" if failing else "ok", "checks": checks}
            self._kept = (self._clock(), report)
            return report

    async def _database(self) -> dict[str, Any]:
        try:
            with anyio.fail_after(CHECK_SECONDS):
                await self._ping()
        except TimeoutError:
            return self._failed("database", f"no answer within {CHECK_SECONDS:g} s")
        except StoreError as error:
            return self._failed("database", database_category(error), _logged_text(error))
        except Exception:
            log.exception("the database check failed unexpectedly")
            return self._failed("database", _UNEXPECTED)
        return self._passed("database", {"status": "ok"})

    async def _ping(self) -> None:
        """The database's cheapest question. In a thread of its own on a database that
        blocks (PostgreSQL), outside the limit the requests' threads share and abandoned
        when the check's time is up: a hanging database cannot hold the probe longer."""
        if self.database.is_sqlite:
            await self.database.run(self.database.ping)
        else:
            await anyio.to_thread.run_sync(self.database.ping, abandon_on_cancel=True)

    async def _cloud(self) -> dict[str, Any]:
        try:
            with anyio.fail_after(CHECK_SECONDS):
                asked = await self.backend.check_health()
        except TimeoutError:
            return self._failed("cloud", f"no answer within {CHECK_SECONDS:g} s")
        except BackendError as error:
            return self._failed("cloud", cloud_category(error), _logged_text(error))
        except Exception:
            log.exception("the cloud check failed unexpectedly")
            return self._failed("cloud", _UNEXPECTED)
        if asked is None:
            return self._passed("cloud", {"status": "unchecked", "backend": self.backend.name})
        return self._passed("cloud", {"status": "ok", "backend": self.backend.name, "asked": asked})

    def _failed(self, part: str, category: str, text: str | None = None) -> dict[str, Any]:
        """The check of a failing `part`, telling only `category`; `text`, the error's
        own words, is logged when the part starts failing or its category changes, so a
        probe every second does not repeat it."""
        if self._failing.get(part) != category:
            self._failing[part] = category
            if text is None:
                log.warning("health: the %s is failing: %s", part, category)
            else:
                log.warning("health: the %s is failing: %s: %s", part, category, text)
        return {"status": "failing", "reason": category}

    def _passed(self, part: str, check: dict[str, Any]) -> dict[str, Any]:
        if self._failing.pop(part, None) is not None:
            log.info("health: the %s answers again", part)
        return check
