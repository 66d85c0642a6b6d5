"""`read_body`: a body whole from its ASGI messages, within its limit."""

from __future__ import annotations

from typing import Any

import pytest

from pyocci.server.bodies import read_body
from pyocci.server.responses import HttpError

pytestmark = pytest.mark.anyio


def receiving(*messages: dict[str, Any]) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


def part(body: bytes, more: bool = True) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_the_parts_are_joined_in_order() -> None:
    receive = receiving(part(b"ab"), part(b""), part(b"cd", more=False))
    assert await read_body(receive, {}, 10) == b"abcd"


async def test_a_body_without_parts_is_empty() -> None:
    assert await read_body(receiving({"type": "http.request"}), {}, 10) == b""


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(HttpError) as refused:
        await read_body(receiving(), {"content-length": "11"}, 10, "a token request")
    assert refused.value.status == 413
    assert str(refused.value) == "the body is 11 bytes; a token request takes at most 10"


async def test_parts_are_counted_as_they_come() -> None:
    receive = receiving(part(b"x" * 6), part(b"y" * 5, more=False))
    with pytest.raises(HttpError) as refused:
        await read_body(receive, {}, 10)
    assert refused.value.status == 413
    assert str(refused.value) == "the body is over 10 bytes, the most this server takes"
    # Exactly the limit is taken.
    assert await read_body(receiving(part(b"x" * 10, more=False)), {}, 10) == b"x" * 10


async def test_a_client_that_leaves_is_a_400() -> None:
    with pytest.raises(HttpError) as refused:
        await read_body(receiving(part(b"ab"), {"type": "http.disconnect"}), {}, 10)
    assert refused.value.status == 400
    assert "went away before the body ended" in str(refused.value)
