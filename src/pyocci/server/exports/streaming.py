"""One HTTP PUT whose body is fed chunk by chunk as an export reads them.

The HTTPS and Glance writers both send an image as the body of a single
request, sent chunked (or with the Content-Length they know) while the
image is still being read. The request runs in a task of its own, its body
an async generator reading a queue that holds one chunk at most: handing the
next chunk waits until the request has taken the one before, so memory does
not grow with the image, and a receiver that stops reading holds the export
back instead of filling memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

__all__ = ["StreamingPut", "summary"]

#: Sends the request whose body is the iterator given, and returns its answer.
Send = Callable[[AsyncIterator[bytes]], Awaitable[httpx.Response]]


def summary(response: httpx.Response) -> str:
    """A receiver's refusal in a line for an export's message: the status, its reason
    and the start of the body the receiver sent (which mostly says why)."""
    text = " ".join(response.text.split())[:200]
    return f"{response.status_code} {response.reason_phrase}" + (f": {text}" if text else "")


class StreamingPut:
    """A request, started on the first chunk, whose body is the chunks handed to it.

    `send` makes the request with the body it is given (its client, URL and
    headers are the writer's); `failure` turns an `httpx.HTTPError` of the
    request into the exception the writer raises instead (whose message says
    what went wrong in the writer's terms).
    """

    def __init__(self, send: Send, failure: Callable[[httpx.HTTPError], Exception]) -> None:
        self._send = send
        self._failure = failure
        # One chunk waits at most: the export's next read waits for the request to take it.
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=1)
        self._request: asyncio.Task[httpx.Response] | None = None

    @property
    def started(self) -> bool:
        """Whether the request has been started."""
        return self._request is not None

    def start(self) -> asyncio.Task[httpx.Response]:
        """The request's task, started now if it was not yet."""
        if self._request is None:
            self._request = asyncio.create_task(self._send(self._body()))
        return self._request

    async def _body(self) -> AsyncIterator[bytes]:
        while (chunk := await self._queue.get()) is not None:
            yield chunk

    async def hand(self, chunk: bytes | None) -> httpx.Response | None:
        """Queue the next piece of the body (None ends it), waiting while the piece
        before is being sent. None once the request has it to take; the request's
        answer when the request ended without taking it (the receiver answered before
        the end of the body: a refusal, a quota), for the writer to say why."""
        request = self.start()
        put = asyncio.ensure_future(self._queue.put(chunk))
        await asyncio.wait({put, request}, return_when=asyncio.FIRST_COMPLETED)
        if put.done():
            return None
        put.cancel()
        return await self.answer()

    async def answer(self) -> httpx.Response:
        """The request's answer, once it has ended (whatever its status); `failure`'s
        exception when it could not be sent or answered."""
        try:
            return await self.start()
        except httpx.HTTPError as error:
            raise self._failure(error) from None

    async def cancel(self) -> None:
        """Drop the request if it is under way (the receiver never gets a whole body)."""
        if self._request is not None and not self._request.done():
            self._request.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._request
