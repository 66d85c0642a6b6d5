"""Each request watched from arrival to the end of its response: its id, metrics, access log.

`RequestObserver` wraps the answering of every HTTP request. It gives the
request an id (the client's ``X-Request-Id`` when it is sane: at most 128
characters, letters, digits and ``._~:+/=@-``; a new random one otherwise),
returns it in the response's ``X-Request-Id``, and keeps what the
application learns on the way in a `RequestRecord` (the tenant once
authenticated, the target once the path is resolved) while the backend
calls it makes are tallied (`pyocci.backends.measured`). When the response
has been sent, the request goes to the metrics and, one line, to the access
log (logger ``pyocci.access``, level info).

The access line carries no header but the User-Agent, and of the query
string only the parameters OCCI defines (``action``, ``page``,
``number``; any other shows as ``***``): credentials (``Authorization``, ``X-Auth-Token``,
a token some client put in the query) never reach the log.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.types import Message, Receive, Scope, Send

from pyocci.backends.measured import CallTally, current_tally
from pyocci.model.category import Kind
from pyocci.service.paths import EntityPath, QueryInterface, Target

if TYPE_CHECKING:
    # Imported where metrics are on only: see pyocci.server.metrics.
    from pyocci.server.metrics import ServerMetrics

__all__ = [
    "ACCESS_LOGGER",
    "REQUEST_ID_HEADER",
    "TARGETS",
    "RequestObserver",
    "RequestRecord",
    "current_request",
    "request_id_of",
    "target_label",
]

#: The logger of the access log: one line per request, at level info.
ACCESS_LOGGER = "pyocci.access"
#: The header that carries a request's id, both ways.
REQUEST_ID_HEADER = "x-request-id"
#: The most characters of a client's request id accepted.
MAX_REQUEST_ID = 128
#: Every value of the ``target`` label: what a request's path named.
TARGETS = (
    "query_interface",
    "kind_collection",
    "mixin_collection",
    "collection_action",
    "entity",
    "entity_action",
    "metrics",
    "unresolved",
)
#: Query parameters whose values the access log shows (OCCI's); others are masked.
SHOWN_PARAMETERS = frozenset(("action", "page", "number"))
#: The most characters of a path or a User-Agent the access log shows.
MAX_LOGGED = 512

_SANE_ID = re.compile(rb"[A-Za-z0-9._~:+/=@-]{1,%d}\Z" % MAX_REQUEST_ID)
_RAW_HEADER = REQUEST_ID_HEADER.encode("latin-1")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

access_log = logging.getLogger(ACCESS_LOGGER)


@dataclass(slots=True)
class RequestRecord:
    """What is known of a request being answered, filled in on the way."""

    request_id: str
    #: The tenant it acts for, once authenticated.
    tenant: str | None = None
    #: What its path names (one of `TARGETS`), once resolved.
    target: str = "unresolved"
    #: The response's status, once started.
    status: int = 0
    #: Bytes of response body sent.
    sent: int = 0


#: The record of the request being answered in this context; None outside requests.
current_request: ContextVar[RequestRecord | None] = ContextVar("pyocci_request", default=None)


def request_id_of(fields: list[tuple[bytes, bytes]]) -> str:
    """The request's id: its ``X-Request-Id`` when sane, else a new random one."""
    for name, value in fields:
        if name == _RAW_HEADER or (len(name) == len(_RAW_HEADER) and name.lower() == _RAW_HEADER):
            if _SANE_ID.match(value):
                return value.decode("ascii")
            break
    return os.urandom(16).hex()


def target_label(target: Target, method: str, query: Mapping[str, str]) -> str:
    """The target label of a resolved request (as `OcciApplication` routes it)."""
    action = method == "POST" and "action" in query
    if isinstance(target, EntityPath):
        return "entity_action" if action else "entity"
    if isinstance(target, QueryInterface):
        return "query_interface"
    if action:
        return "collection_action"
    return "kind_collection" if isinstance(target.category, Kind) else "mixin_collection"


Respond = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestObserver:
    """Ids, metrics and the access log of every request (see the module's note)."""

    def __init__(self, *, metrics: ServerMetrics | None, access: bool, auth_method: str) -> None:
        self.metrics = metrics
        self.access = access
        self.auth_method = auth_method

    async def observe(self, scope: Scope, receive: Receive, send: Send, respond: Respond) -> None:
        """Answer a request with `respond`, watched."""
        started = time.perf_counter()
        record = RequestRecord(request_id_of(scope["headers"]))
        tally = CallTally()
        request_token = current_request.set(record)
        tally_token = current_tally.set(tally)
        raw_id = record.request_id.encode("ascii")

        async def send_watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                # A new message: responses kept for reuse keep their own.
                message = {**message, "headers": [*message["headers"], (_RAW_HEADER, raw_id)]}
            elif message["type"] == "http.response.body":
                record.sent += len(message.get("body", b""))
            await send(message)

        try:
            await respond(scope, receive, send_watched)
        finally:
            seconds = time.perf_counter() - started
            current_tally.reset(tally_token)
            current_request.reset(request_token)
            if record.status == 0:
                # Nothing was sent: the ASGI server answers 500 (or the client left).
                record.status = 500
            self._answered(scope, record, tally, seconds)

    def _answered(
        self, scope: Scope, record: RequestRecord, tally: CallTally, seconds: float
    ) -> None:
        metrics = self.metrics
        if metrics is not None:
            metrics.request(scope["method"], record.target, record.status, seconds)
            reason = _auth_failure(record)
            if reason is not None:
                metrics.auth_failure(self.auth_method, reason)
        if self.access and access_log.isEnabledFor(logging.INFO):
            _log_access(scope, record, tally, seconds)


#: Statuses that, before a request has a tenant, only authentication answers.
_AUTH_REFUSALS = {401: "refused", 429: "throttled", 503: "unavailable"}


def _auth_failure(record: RequestRecord) -> str | None:
    """Why authentication refused the request, if it did: an answer of `_AUTH_REFUSALS`
    before a tenant was known (the checks before authentication answer 406, 431, 501)."""
    if record.tenant is not None or record.target != "unresolved":
        return None
    return _AUTH_REFUSALS.get(record.status)


def _log_access(scope: Scope, record: RequestRecord, tally: CallTally, seconds: float) -> None:
    client = scope.get("client")
    fields = {
        "request_id": record.request_id,
        "client": client[0] if client else None,
        "method": scope["method"],
        "path": _printable(scope["path"]),
        "query": _shown_query(scope.get("query_string", b"")),
        "target": record.target,
        "tenant": record.tenant,
        "status": record.status,
        "duration_ms": round(seconds * 1000, 3),
        "backend_calls": tally.calls,
        "backend_ms": round(tally.seconds * 1000, 3),
        "bytes": record.sent,
        "user_agent": _user_agent(scope["headers"]),
    }
    query = f"?{fields['query']}" if fields["query"] else ""
    message = (
        f'{fields["client"] or "-"} "{fields["method"]} {fields["path"]}{query}" '
        f"{record.status} {record.target} tenant={record.tenant or '-'} "
        f"{fields['duration_ms']}ms backend_calls={tally.calls} bytes={record.sent}"
    )
    # The request is over (its context reset): the id goes with the record itself. Made
    # and handled here rather than through info(), which would walk the stack for a
    # caller that is always this line.
    access_log.handle(
        access_log.makeRecord(
            ACCESS_LOGGER,
            logging.INFO,
            __file__,
            0,
            message,
            (),
            None,
            extra={"access": fields, "request_id": record.request_id},
        )
    )


def _shown_query(raw: bytes) -> str:
    if not raw:
        return ""
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    # A parameter of no OCCI meaning is masked whole, its name too: a client may send
    # anything there, a token as a name for one.
    shown = "&".join(
        f"{name}={value}" if name in SHOWN_PARAMETERS else "***" for name, value in pairs
    )
    return _printable(shown)


def _user_agent(fields: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in fields:
        if name.lower() == b"user-agent":
            return _printable(value.decode("latin-1"))
    return None


def _printable(text: str) -> str:
    """`text` cut to `MAX_LOGGED` characters, control characters shown as ``?``: a
    client's newline must not start a line of its own in a text log."""
    if len(text) > MAX_LOGGED:
        text = text[:MAX_LOGGED] + "..."
    return _CONTROL.sub("?", text)
