"""A response's head and the first part of its body in one write.

uvicorn's httptools protocol writes a response's status line and header
fields when the app sends ``http.response.start``, and its body when the app
sends ``http.response.body``: two writes, two system calls and two TCP
segments for every small answer, and the client is woken twice. On
loopback a write costs more than the whole of a discovery answer's
rendering. `HeadWithBody` stands between the protocol and its transport and
holds a head back until the next write joins it; when nothing has joined by
the end of the event loop's current turn (a HEAD answer, which has no body;
an app that awaits something between starting an answer and sending its
body), the head goes out alone. Bytes always leave in the order they were
written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

#: How every response head uvicorn writes begins (it answers HTTP/1.0 clients so too).
_HEAD = b"HTTP/1.1 "
#: An interim answer the client waits for before it sends the body: never held.
_CONTINUE = b"HTTP/1.1 100 "
#: A first part of a body up to this size is copied after the head (a quarter of a µs
#: for 14 KiB); a bigger one follows it in a write of its own rather than be copied.
JOINED_BYTES = 64 * 1024


class HeadWithBody:
    """A connection's transport, as the protocol and its response cycles use it, that
    sends a response's head together with what is written next.

    Everything but writing and closing goes to the transport itself.
    """

    __slots__ = ("_held", "_loop", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        #: A head written and not yet sent.
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        """Send `data`, after the head held back if there is one; hold it if it is a
        response's head (uvicorn writes bytes, and each head in one write)."""
        held = self._held
        if held is not None:
            self._held = None
            if len(data) <= JOINED_BYTES:
                self.transport.write(held + data)
                return
            self.transport.write(held)
            self.transport.write(data)
        elif type(data) is bytes and data.startswith(_HEAD) and not data.startswith(_CONTINUE):
            self._held = data
            # Its body is usually written in this same turn; if not, it goes alone. The
            # flush stays scheduled when the body joined: finding nothing held costs less
            # than keeping and cancelling its handle.
            self._loop.call_soon(self.flush)
        else:
            self.transport.write(data)

    def writelines(self, chunks: Iterable[bytes]) -> None:
        """Send the chunks, as one write."""
        self.write(b"".join(chunks))

    def flush(self) -> None:
        """Send the head held back, if any."""
        held = self._held
        if held is not None:
            self._held = None
            if not self.transport.is_closing():
                self.transport.write(held)

    def is_closing(self) -> bool:
        """Whether the transport is closing or closed."""
        return self.transport.is_closing()

    def close(self) -> None:
        """Send the head held back, then close once what is buffered has left."""
        self.flush()
        self.transport.close()

    def write_eof(self) -> None:
        """Send the head held back, then end the sending half of the connection."""
        self.flush()
        self.transport.write_eof()

    def abort(self) -> None:
        """Drop the connection at once, the head held back and what is buffered with it."""
        self._held = None
        self.transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)
