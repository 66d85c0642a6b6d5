"""uvicorn's httptools protocol with the limits uvicorn leaves out.

As shipped, uvicorn's httptools protocol buffers a request head of any size,
waits for the rest of a head or a body forever, waits forever on a client
that does not read its response, and accepts connections until the process
runs out of file descriptors. `LimitedHttpToolsProtocol`, given to uvicorn
as its ``http`` protocol class, adds, from `pyocci.server.config.Limits`:

* caps on the request head: the URL (414 above ``max_url_bytes``), the
  number of fields (431 above twice ``max_header_count``: the app's own,
  precise 431 comes first) and the bytes of line plus headers, chunked
  trailers included (431 above ``server_header_limit``);
* deadlines: the head must arrive within ``header_timeout`` of the
  connection's opening or of the request's first byte (408; a connection
  that sent nothing is closed without a word), the body within
  ``body_timeout`` of the end of the head (408), and a response the client
  stopped reading may wait ``send_timeout`` before the connection is dropped;
* a cap on open connections per process (``max_connections``, lowered to
  what the open-files limit holds): a connection past it is answered 503
  at once and closed, so that it costs a descriptor only for that moment.

Over TLS, each request's scope also carries the ASGI TLS extension with the
client's verified certificate (`tls_extension`), which uvicorn leaves out:
the Keystone-like handshake exchanges it for a token. Every request's scope
keeps the connection's peer as well (`PEER_EXTENSION`), which method voms
trusts certificate headers by.

Each answer's head leaves with the first part of its body, in one write
(`pyocci.server.head_with_body`), where uvicorn writes them apart.

Idle keep-alive is uvicorn's own ``timeout_keep_alive`` (``keep_alive_timeout``).
Each refusal closes the connection: what follows a refused head cannot be
trusted to be the next request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from typing import Any, ClassVar, cast

import httptools
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from pyocci.server.auth.front import PEER_EXTENSION
from pyocci.server.config import Limits, config_from_environment
from pyocci.server.head_with_body import HeadWithBody
from pyocci.server.open_files import connection_cap
from pyocci.store.freshness import ARRIVED_EXTENSION

__all__ = ["LimitedHttpToolsProtocol", "refusal", "tls_extension"]

logger = logging.getLogger("uvicorn.error")

#: How often, at most, a process logs that it turns connections away.
_BUSY_LOG_INTERVAL = 10.0


def refusal(status: int, message: str, *headers: bytes) -> bytes:
    """A complete ``connection: close`` response with `message` as its text body."""
    body = (message + "\n").encode("ascii", "replace")
    return b"".join(
        [
            STATUS_LINE[status],
            b"content-type: text/plain; charset=utf-8\r\nconnection: close\r\n",
            *headers,
            b"content-length: %d\r\n\r\n" % len(body),
            body,
        ]
    )


_BUSY = refusal(
    503, "the server has too many open connections; try again shortly", b"retry-after: 1\r\n"
)


@functools.cache
def _worker_limits() -> Limits:
    return config_from_environment().limits


# One getrlimit call per process rather than per connection.
_connection_cap = functools.cache(connection_cap)


#: TLS versions as the ASGI TLS extension numbers them (their wire values).
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def tls_extension(transport: asyncio.BaseTransport) -> dict[str, Any] | None:
    """The ASGI TLS extension (``scope["extensions"]["tls"]``) of a connection: the
    client's certificate, which the handshake verified against ``[tls] client_ca``, as
    ``client_cert_chain`` (PEM). Python's ssl module gives the peer's own certificate,
    not the chain it sent, so the list holds that one. None over plain HTTP."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


class _RefusalError(Exception):
    """Raised in a parser callback to stop the request with `status` and `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _BusyLog:
    """Says, at most every `_BUSY_LOG_INTERVAL` seconds, that connections are turned away."""

    last = float("-inf")
    refused = 0

    @classmethod
    def note(cls, open_connections: int) -> None:
        cls.refused += 1
        now = time.monotonic()
        if now - cls.last >= _BUSY_LOG_INTERVAL:
            logger.warning(
                "%d open connections, the most limits.max_connections allows: %d new "
                "connection(s) answered 503",
                open_connections,
                cls.refused,
            )
            cls.last = now
            cls.refused = 0


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, bounded in size, time and number (see the module)."""

    #: The limits served; None: those of the configuration handed to this worker.
    limits: ClassVar[Limits | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = self.limits or _worker_limits()
        self._max_url = limits.max_url_bytes
        self._max_head = limits.server_header_limit
        self._max_fields = 2 * limits.max_header_count
        self._max_connections = _connection_cap(limits.max_connections)
        self._header_timeout = limits.header_timeout
        self._body_timeout = limits.body_timeout
        self._send_timeout = limits.send_timeout
        # The head's and the body's deadlines (loop time), watched by one timer per
        # connection that fires at the earliest; requests that meet their deadlines
        # cost no timer of their own.
        self._head_deadline: float | None = None
        self._body_deadline: float | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._watchdog_at = 0.0
        self._send_timer: asyncio.TimerHandle | None = None
        #: The requests of this connection the app has (several when pipelined).
        self._cycles: list[RequestResponseCycle] = []
        #: The ASGI TLS extension of this connection's requests; None over plain HTTP.
        self._tls: dict[str, Any] | None = None
        self._reset_message_state()

    def _reset_message_state(self) -> None:
        #: Between requests or inside a head (as opposed to inside a body).
        self._reading_head = True
        #: Whether a byte of this request has arrived (a head timeout then says 408).
        self._head_started = False
        #: Bytes read while reading this head (may miss a part of its first read).
        self._head_bytes = 0
        self._in_body = False
        # Trailers: after the last chunk's header the parser buffers trailer fields
        # itself, out of sight until each is complete. The last chunk is the one
        # whose header is followed by no data.
        self._chunk_header_open = False
        self._body_events = 0
        self._trailer_bytes = 0

    # --- connections -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self._max_connections:
            # Answered before anything is read and never counted: a connection past the
            # cap holds its descriptor only while this small write goes out.
            self.transport = transport
            _BusyLog.note(len(self.connections))
            transport.write(_BUSY)
            transport.close()
            return
        # Each answer's head leaves with its body, in one write (see HeadWithBody).
        super().connection_made(cast(asyncio.Transport, HeadWithBody(transport, self.loop)))
        self._tls = tls_extension(transport)
        # A new connection owes a request head: the clock runs from now.
        self._set_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._watchdog, self._send_timer):
            if timer is not None:
                timer.cancel()
        self._watchdog = self._send_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, with the checks that need to see every read.
        if self.transport.is_closing():
            return  # refused or turned away: what else comes is not read
        self._unset_keepalive_if_required()
        if self._reading_head:
            self._head_bytes += len(data)
            if self._head_deadline is None:
                self._set_head_deadline()  # a new request (or stray bytes) after a pause
        in_trailers = self._chunk_header_open
        body_events = self._body_events
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as error:
            cause = error.__context__
            if isinstance(cause, _RefusalError):
                self._refuse(cause.status, cause.message)
            else:
                self._refuse(400, f"not a valid HTTP/1.1 request: {error}")
            return
        # Checked once per read rather than per field: one read is bounded, and so is
        # what the parser can have made of it.
        if self._head_started:
            refusal = self._head_refusal(complete=False)
            if refusal is not None:
                self._refuse(*refusal)
                return
        if in_trailers and self._chunk_header_open and self._body_events == body_events:
            self._trailer_bytes += len(data)  # the whole read was trailer fields
            if self._trailer_bytes > self._max_head:
                self._refuse(431, f"the chunked trailers are over {self._max_head} bytes")
                return
        if self._in_body and self._body_deadline is None:
            self._body_deadline = self.loop.time() + self._body_timeout
            self._watch(self._body_deadline)

    def _head_refusal(self, *, complete: bool) -> tuple[int, str] | None:
        """Why this request's head (or, in a body, its trailers) is refused, if it is."""
        if self._reading_head and len(self.url) > self._max_url:
            return 414, f"the request target is over {self._max_url} bytes"
        if len(self.headers) > self._max_fields:
            return 431, f"more than {self._max_fields} header fields"
        if complete:
            # The exact size (a head's first read may not have been counted whole).
            size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        else:
            size = self._head_bytes if self._reading_head else 0
        if size > self._max_head:
            return 431, f"the request line and headers are over {self._max_head} bytes"
        return None

    # --- parser callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        # The peer, kept before uvicorn's proxy-headers middleware replaces the client
        # with what X-Forwarded-For says (see pyocci.server.auth.front).
        # And when the request arrived: its reads must show what was committed before
        # (see pyocci.store.freshness).
        extensions: dict[str, Any] = {
            PEER_EXTENSION: self.client,
            ARRIVED_EXTENSION: time.monotonic(),
        }
        if self._tls is not None:
            extensions["tls"] = self._tls
        self.scope["extensions"] = extensions

    def on_headers_complete(self) -> None:
        refusal = self._head_refusal(complete=True)
        if refusal is not None:
            raise _RefusalError(*refusal)
        self._reading_head = False
        self._in_body = True
        self._head_deadline = None
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None:
            if self._cycles and self._cycles[-1].response_complete:
                self._cycles.clear()  # the usual case: the previous request is done
            self._cycles.append(cycle)
            if self.timeout_keep_alive == 0:
                cycle.keep_alive = False  # say "connection: close" rather than just close

    def on_chunk_header(self) -> None:
        self._chunk_header_open = True

    def on_body(self, body: bytes) -> None:
        self._chunk_header_open = False
        self._body_events += 1
        super().on_body(body)

    def on_chunk_complete(self) -> None:
        self._chunk_header_open = False

    def on_message_complete(self) -> None:
        self._body_deadline = None
        self._reset_message_state()
        super().on_message_complete()

    # --- deadlines ---------------------------------------------------------------------

    def _set_head_deadline(self) -> None:
        self._head_deadline = self.loop.time() + self._header_timeout
        self._watch(self._head_deadline)

    def _watch(self, deadline: float) -> None:
        """Have the watchdog fire no later than `deadline`."""
        if self._watchdog is not None:
            if self._watchdog_at <= deadline:
                return
            self._watchdog.cancel()
        self._watchdog_at = deadline
        self._watchdog = self.loop.call_at(deadline, self._on_watchdog)

    def _on_watchdog(self) -> None:
        self._watchdog = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        head, body = self._head_deadline, self._body_deadline
        if head is not None and head <= now:
            if self._head_started:
                self._refuse(
                    408, f"the request head did not arrive within {self._header_timeout:g} s"
                )
            else:
                self._refuse(None, "nothing arrived")
        elif body is not None and body <= now:
            self._refuse(408, f"the request body did not arrive within {self._body_timeout:g} s")
        else:
            for deadline in (head, body):
                if deadline is not None:
                    self._watch(deadline)

    # --- writing -----------------------------------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self._send_timeout, self._send_timed_out)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    # --- refusals ----------------------------------------------------------------------

    def _send_timed_out(self) -> None:
        self._send_timer = None
        logger.debug("%s - the client stopped reading its response; dropped", self._peer())
        self._abandon_requests()
        # close() would wait for the unread response to drain: the very thing that hangs.
        self.transport.abort()

    def _refuse(self, status: int | None, message: str) -> None:
        """Close the connection, first answering `status` with `message` unless that
        would land inside or after another response (None: close without a word)."""
        self._head_deadline = self._body_deadline = None
        # Inside a body, the request refused is the last one parsed; inside a head,
        # it has no cycle yet.
        own = None if self._reading_head else self.cycle
        queued = [cycle for cycle, _ in self.pipeline]
        running = [
            cycle
            for cycle in self._cycles
            if cycle is not own and cycle not in queued and not cycle.response_complete
        ]
        if running:
            # Pipelining: an earlier request's answer is still going out. A refusal now
            # would land inside it: let it finish and close after it, unread.
            logger.debug("%s - closing after the current answer: %s", self._peer(), message)
            for cycle in running:
                cycle.keep_alive = False
            self._cycles = running
            self.pipeline.clear()
            self.flow.pause_reading()
            return
        if own is not None and own.response_started:
            status = None  # the app has answered (or is answering) this request
        self._abandon_requests()
        logger.debug("%s - %s: %s", self._peer(), status or "closed", message)
        if status is not None:
            self.transport.write(refusal(status, message))
        self.transport.close()

    def _abandon_requests(self) -> None:
        """Every request of this connection still in the app: its receive() says
        ``http.disconnect`` from now on, and what it sends is dropped."""
        for cycle in self._cycles:
            cycle.disconnected = True
            cycle.message_event.set()
        self._cycles.clear()
        self.pipeline.clear()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "client"
