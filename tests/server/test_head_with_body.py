"""`HeadWithBody`: what reaches the transport, write by write, on a real event loop.

The transport here records its writes (the socket's side is covered through
uvicorn in tests/server/test_uvicorn_protocol.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyocci.server.head_with_body import JOINED_BYTES, HeadWithBody

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"


class RecordingTransport:
    """Keeps every write and call, in order."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
        self.calls.append("close")

    def abort(self) -> None:
        self.closing = True
        self.calls.append("abort")

    def write_eof(self) -> None:
        self.calls.append("eof")

    def get_extra_info(self, name: str) -> str:
        return f"info {name}"


def held(body: Any) -> tuple[RecordingTransport, list[Any]]:
    """Run `body(wrapper)` on a loop, then one more turn; what the transport got."""
    transport = RecordingTransport()

    async def run() -> None:
        wrapper = HeadWithBody(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        await body(wrapper)
        await asyncio.sleep(0)

    asyncio.run(run())
    return transport, transport.calls


def test_a_head_and_its_body_leave_in_one_write() -> None:
    async def answer(wrapper: HeadWithBody) -> None:
        wrapper.write(HEAD)
        wrapper.write(b"hello")
        wrapper.write(b" more")

    _, calls = held(answer)
    assert calls == [HEAD + b"hello", b" more"]


def test_a_big_first_part_follows_the_head_uncopied() -> None:
    big = b"b" * (JOINED_BYTES + 1)

    async def answer(wrapper: HeadWithBody) -> None:
        wrapper.write(HEAD)
        wrapper.write(big)

    _, calls = held(answer)
    assert calls == [HEAD, big]


def test_a_head_whose_body_is_not_ready_leaves_alone_at_the_end_of_the_turn() -> None:
    async def answer(wrapper: HeadWithBody) -> None:
        wrapper.write(HEAD)
        assert wrapper.transport.calls == []  # type: ignore[attr-defined]
        await asyncio.sleep(0)
        assert wrapper.transport.calls == [HEAD]  # type: ignore[attr-defined]
        wrapper.write(b"hello")

    _, calls = held(answer)
    assert calls == [HEAD, b"hello"]


def test_an_interim_100_continue_is_never_held() -> None:
    async def answer(wrapper: HeadWithBody) -> None:
        wrapper.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        assert wrapper.transport.calls == [b"HTTP/1.1 100 Continue\r\n\r\n"]  # type: ignore[attr-defined]

    held(answer)


def test_closing_sends_the_held_head_first() -> None:
    async def answer(wrapper: HeadWithBody) -> None:
        wrapper.write(HEAD)
        wrapper.close()

    _, calls = held(answer)
    assert calls == [HEAD, "close"]


def test_eof_sends_the_held_head_first() -> None:
    async def answer(wrapper: HeadWithBody) -> None:
        wrapper.writelines([HEAD])
        wrapper.write_eof()

    _, calls = held(answer)
    assert calls == [HEAD, "eof"]


def test_an_aborted_connection_sends_nothing_more() -> None:
    async def answer(wrapper: HeadWithBody) -> None:
        wrapper.write(HEAD)
        wrapper.abort()

    _, calls = held(answer)
    assert calls == ["abort"]


def test_a_head_held_when_the_connection_closes_under_it_is_dropped() -> None:
    async def answer(wrapper: HeadWithBody) -> None:
        wrapper.write(HEAD)
        wrapper.transport.closing = True  # type: ignore[attr-defined]

    _, calls = held(answer)
    assert calls == []


@pytest.mark.parametrize("data", [b"body bytes", b"HTTP/1.0 200 OK\r\n\r\n"])
def test_other_bytes_leave_at_once(data: bytes) -> None:
    async def answer(wrapper: HeadWithBody) -> None:
        wrapper.write(data)
        assert wrapper.transport.calls == [data]  # type: ignore[attr-defined]

    held(answer)


def test_everything_else_is_the_transports_own() -> None:
    async def answer(wrapper: HeadWithBody) -> None:
        assert wrapper.get_extra_info("peername") == "info peername"
        assert not wrapper.is_closing()

    held(answer)
