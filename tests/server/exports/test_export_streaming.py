"""`StreamingPut`, the streamed request body the HTTPS and Glance writers share: a
real PUT to the loopback HTTPS receiver, at most one chunk waiting, an early answer
handed back, transport errors mapped, cancellation."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from e2e.server import free_port
from pki import Pki
from put_receiver import PutReceiver
from pyocci.server.exports.streaming import StreamingPut
from pyocci.server.exports.targets import verification

pytestmark = pytest.mark.anyio


class SendFailedError(Exception):
    """What the tests' `failure` turns a transport error into."""


def refused(error: httpx.HTTPError) -> Exception:
    return SendFailedError(f"mapped {type(error).__name__}")


async def test_the_chunks_handed_are_the_body_a_real_receiver_gets(
    receiver: PutReceiver, pki: Pki
) -> None:
    chunks = [bytes([n]) * (256 * 1024) for n in range(4)]

    async def send(body: AsyncIterator[bytes]) -> httpx.Response:
        async with httpx.AsyncClient(verify=verification(pki.ca)) as client:
            return await client.put(
                f"{receiver.url}/targets/streaming.img",
                content=body,
                headers={"Content-Length": str(sum(map(len, chunks)))},
            )

    stream = StreamingPut(send, refused)
    assert not stream.started
    for chunk in chunks:
        assert await stream.hand(chunk) is None
    assert stream.started
    assert await stream.hand(None) is None
    assert (await stream.answer()).status_code == 200
    assert receiver.received("/targets/streaming.img") == {
        "size": 4 * 256 * 1024,
        "sha256": hashlib.sha256(b"".join(chunks)).hexdigest(),
    }


async def settle() -> None:
    """Let every task run as far as it can without waiting for anything outside."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_one_chunk_waits_at_most_until_the_request_takes_it() -> None:
    taken: list[bytes] = []
    take = asyncio.Event()

    async def send(body: AsyncIterator[bytes]) -> httpx.Response:
        # A receiver that reads a chunk only when the test lets it.
        async for chunk in body:
            await take.wait()
            take.clear()
            taken.append(chunk)
        return httpx.Response(200)

    stream = StreamingPut(send, refused)
    assert await stream.hand(b"one") is None
    await settle()  # the request holds "one", waiting to be let read it
    assert await stream.hand(b"two") is None  # "two" waits in the queue
    third = asyncio.create_task(stream.hand(b"three"))
    await settle()
    assert not third.done()  # a second chunk waiting: its hand waits instead
    take.set()
    await settle()
    assert taken == [b"one"] and third.done()  # "two" taken: "three" waits in its place
    ended = asyncio.create_task(stream.hand(None))
    for _ in range(3):
        take.set()
        await settle()
    assert await ended is None
    assert (await stream.answer()).status_code == 200
    assert taken == [b"one", b"two", b"three"]


async def test_a_request_that_ends_before_taking_a_chunk_hands_back_its_answer() -> None:
    async def send(body: AsyncIterator[bytes]) -> httpx.Response:
        await anext(aiter(body))  # reads one chunk, then answers, as a refusal would
        return httpx.Response(413, text="too large")

    stream = StreamingPut(send, refused)
    assert await stream.hand(b"one") is None
    answers = [await stream.hand(chunk) for chunk in (b"two", b"three")]
    # "two" may still fit in the queue once "one" was taken; "three" cannot.
    early = answers[-1]
    assert early is not None and early.status_code == 413 and early.text == "too large"


async def test_a_transport_error_is_raised_as_the_writers_failure() -> None:
    url = f"http://127.0.0.1:{free_port()}/nothing-listens-here"

    async def send(body: AsyncIterator[bytes]) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.put(url, content=body)

    stream = StreamingPut(send, refused)
    with pytest.raises(SendFailedError, match="mapped ConnectError"):
        # The first chunks may fit in the queue before the connection fails.
        for chunk in (b"one", b"two", None):
            await stream.hand(chunk)
        await stream.answer()


async def test_cancel_drops_the_request_under_way_and_is_harmless_before_it() -> None:
    await StreamingPut(lambda body: asyncio.sleep(0), refused).cancel()  # never started
    ended: list[str] = []

    async def send(body: AsyncIterator[bytes]) -> httpx.Response:
        try:
            await asyncio.Event().wait()  # a receiver that never reads
        except asyncio.CancelledError:
            ended.append("cancelled")
            raise
        return httpx.Response(200)

    stream = StreamingPut(send, refused)
    assert await stream.hand(b"one") is None
    await settle()
    await stream.cancel()
    assert ended == ["cancelled"]
    await stream.cancel()  # again: nothing left to drop
