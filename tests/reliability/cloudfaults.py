"""EC2 failing under a running occi-server: refused, hung, killed, answering nonsense.

The cloud is a real moto EC2 server (`motoserver`), made to fail the ways a
real endpoint does: its port closed (`refused`), its process stopped with
SIGSTOP so that connections open and nothing answers (`paused`: a hung
endpoint), or killed with SIGKILL. For answers that are not EC2's,
`BrokenEndpoint` is a tiny HTTP server on loopback standing in for a broken
EC2 endpoint (or a proxy in front of one): it answers every request with one
of `BROKEN_ANSWERS` (an empty body, garbage, an HTML page, XML cut short,
an EC2 document lacking what any EC2 answer has).

What occi-server must do meanwhile: answer 503 with ``Retry-After`` and a
message, in the client's rendering, within its ``[limits] cloud_deadline``
(`probe`, `probe_many`); never a 500, never a wait without end.

`figures(scale)` measures the time to 503 with a hung cloud (a real
occi-server on ec2 in front of a SIGSTOPped moto), and counts the answers
that were not a 503 with Retry-After over every fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from e2e.server import OCCI_12_USER_AGENT, occi_server
from motoserver import (
    CREDENTIALS,
    INSTANCE_TYPES,
    REGION,
    MotoServer,
    moto_server,
    register_images,
    toml_settings,
)
from reliability.figures import Figure

COMPUTE_TEXT = (
    'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
)
#: How long a probe may wait for its answer at most: this bounds a hang (the test
#: fails), it does not measure speed.
ANSWER_TIMEOUT = 60.0
#: What the client side adds to the server's deadline: carrying the request and the
#: answer over loopback, and the server's own work around the cloud call.
SEND_ALLOWANCE = 0.25

_EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"

#: A valid EC2 answer with nothing in it: botocore reads it as an empty answer to any
#: call, so a server in front of a `BrokenEndpoint` starts (discovery lists no templates).
VALID_EMPTY = (
    200,
    f'<?xml version="1.0"?><Response xmlns="{_EC2_XMLNS}"><requestId>ok-1</requestId>'
    "</Response>".encode(),
    "text/xml",
)

#: The answers of a broken EC2 endpoint: name -> (status, body, content type).
BROKEN_ANSWERS: dict[str, tuple[int, bytes, str]] = {
    "empty": (200, b"", "text/xml"),
    "garbage": (200, b"\x00\xffnot XML at all\r\n", "application/octet-stream"),
    "html": (
        200,
        b"<html><head><title>Moved</title></head><body>Service moved</body></html>",
        "text/html",
    ),
    "html error page": (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
    "cut short": (
        200,
        f'<?xml version="1.0"?><DescribeInstancesResponse xmlns="{_EC2_XMLNS}">'
        "<requestId>cut-1</requestId><reservationSet><item><instancesSet>".encode(),
        "text/xml",
    ),
    # Well-formed EC2, from an EC2 that forgot the fields every instance has.
    "incomplete": (
        200,
        f'<?xml version="1.0"?><DescribeInstancesResponse xmlns="{_EC2_XMLNS}">'
        "<requestId>incomplete-1</requestId><reservationSet><item>"
        "<instancesSet><item><instanceId>i-0123456789abcdef0</instanceId></item>"
        "</instancesSet></item></reservationSet></DescribeInstancesResponse>".encode(),
        "text/xml",
    ),
}


class BrokenEndpoint:
    """An HTTP server on a loopback port answering every request with `answer`: a name of
    `BROKEN_ANSWERS`, or None for `VALID_EMPTY`; it can be changed while the server runs.
    `requests` counts the requests it got."""

    def __init__(self, answer: str | None = None) -> None:
        self.answer = answer
        self.requests = 0
        self._lock = threading.Lock()
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with endpoint._lock:
                    endpoint.requests += 1
                name = endpoint.answer
                status, body, content_type = BROKEN_ANSWERS[name] if name else VALID_EMPTY
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's naming

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test's output is the server's answers

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The endpoint URL to give the ec2 backend."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> BrokenEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextlib.contextmanager
def silent_endpoint() -> Iterator[str]:
    """A loopback port that takes connections and never answers (nobody accepts them:
    the kernel queues them); its URL."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@contextlib.contextmanager
def paused(moto: MotoServer) -> Iterator[None]:
    """moto stopped with SIGSTOP for the block (a hung endpoint), then continued (unless
    it was killed meanwhile)."""
    assert moto.process is not None and moto.process.poll() is None, "moto is not running"
    os.kill(moto.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        if moto.process.poll() is None:  # not killed meanwhile
            os.kill(moto.process.pid, signal.SIGCONT)


def kill(moto: MotoServer) -> None:
    """SIGKILL moto and reap it; `MotoServer.start` brings it back on the same port."""
    assert moto.process is not None
    moto.process.kill()
    moto.process.wait(timeout=10)


def ec2_settings(endpoint_url: str, **overrides: Any) -> dict[str, Any]:
    """``[backend_settings]`` for an ec2 backend on any endpoint (moto's own helper gives
    those of a moto server): one attempt per call, 1 s to connect."""
    settings: dict[str, Any] = {
        "region": REGION,
        "endpoint_url": endpoint_url,
        "access_key_id": CREDENTIALS["aws_access_key_id"],
        "secret_access_key": CREDENTIALS["aws_secret_access_key"],
        "instance_types": list(INSTANCE_TYPES),
        "default_image": "ami-0123456789abcdef0",
        "max_attempts": 1,
        "connect_timeout": 1,
        "retry_after": 2,
        "wait_seconds": 10,
    }
    settings.update(overrides)
    return settings


def workdir_in(parent: Path, name: str) -> Path:
    """A new directory `name` in `parent`, for one occi-server's files."""
    path = parent / name
    path.mkdir()
    return path


def server_config(settings: dict[str, Any], deadline: float) -> str:
    """An occi-server configuration serving ec2 with these settings and cloud deadline."""
    return f'backend = "ec2"\n\n[limits]\ncloud_deadline = {deadline!r}\n\n' + toml_settings(
        settings
    )


@dataclass(frozen=True)
class Answer:
    """What occi-server answered a probe, and how long it took (client side, seconds)."""

    status: int
    retry_after: str | None
    message: str
    content_type: str
    body: str
    seconds: float

    @property
    def is_unavailable(self) -> bool:
        """A 503 with a positive Retry-After and a message: what a cloud fault must give."""
        return (
            self.status == 503
            and self.retry_after is not None
            and self.retry_after.isdigit()
            and int(self.retry_after) > 0
            and bool(self.message)
        )

    def __str__(self) -> str:
        return (
            f"{self.status} after {self.seconds:.2f} s, Retry-After {self.retry_after}, "
            f"{self.content_type}: {self.message or self.body[:200]!r}"
        )


#: A probe: method, path, body (text/plain), Accept.
Probe = tuple[str, str, str | None, str]

#: What clients ask that needs EC2: a listing, a read, a create; in two renderings.
PROBES: tuple[Probe, ...] = (
    ("GET", "/compute/", None, "text/plain"),
    ("GET", "/compute/i-0123456789abcdef0", None, "application/occi+json"),
    ("POST", "/compute/", COMPUTE_TEXT, "application/occi+json"),
    ("GET", "/storage/", None, "text/occi"),
)


#: The probes a broken answer is a fault for. "incomplete" is a well-formed EC2 document
#: answering DescribeInstances: to any other call it is an empty (valid) answer.
PROBES_OF_ANSWER: dict[str, tuple[Probe, ...]] = {"incomplete": PROBES[:2]}


def probes_of(answer: str) -> tuple[Probe, ...]:
    """The probes that `answer` of a `BrokenEndpoint` must turn into 503."""
    return PROBES_OF_ANSWER.get(answer, PROBES)


def _answer(response: httpx.Response, seconds: float) -> Answer:
    return Answer(
        status=response.status_code,
        retry_after=response.headers.get("retry-after"),
        message=response.headers.get("x-occi-error", ""),
        content_type=response.headers.get("content-type", ""),
        body=response.text,
        seconds=seconds,
    )


async def _send(http: httpx.AsyncClient, probe: Probe) -> Answer:
    method, path, body, accept = probe
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = "text/plain"
    started = time.monotonic()
    response = await http.request(method, path, content=body, headers=headers)
    return _answer(response, time.monotonic() - started)


async def _send_all(url: str, probes: list[Probe]) -> list[Answer]:
    limits = httpx.Limits(max_connections=len(probes) + 1)
    async with httpx.AsyncClient(
        base_url=url,
        timeout=ANSWER_TIMEOUT,
        limits=limits,
        headers={"User-Agent": OCCI_12_USER_AGENT},
    ) as http:
        return list(await asyncio.gather(*(_send(http, probe) for probe in probes)))


def probe(url: str, which: Probe = PROBES[0]) -> Answer:
    """One request to occi-server at `url`, answered within `ANSWER_TIMEOUT` or failing."""
    return asyncio.run(_send_all(url, [which]))[0]


def probe_many(url: str, count: int, probes: tuple[Probe, ...] = PROBES) -> list[Answer]:
    """`count` requests at once (cycling through `probes`), each answered within
    `ANSWER_TIMEOUT` or failing."""
    return asyncio.run(_send_all(url, [probes[i % len(probes)] for i in range(count)]))


def not_unavailable(answers: list[Answer]) -> list[Answer]:
    """The answers that are not a 503 with Retry-After and a message."""
    return [answer for answer in answers if not answer.is_unavailable]


# --- faults of a real EC2 (moto) under a running server ---------------------------------------


def hung_answers(url: str, moto: MotoServer, count: int, *, at_once: bool = True) -> list[Answer]:
    """`count` requests to occi-server at `url` while its moto is SIGSTOPped: all at
    once, or one after the other."""
    with paused(moto):
        if at_once:
            return probe_many(url, count)
        return [probe(url) for _ in range(count)]


def killed_answers(url: str, moto: MotoServer, count: int) -> list[Answer]:
    """`count` requests at once, moto SIGKILLed while they wait for it (connections
    reset mid-call); moto is started again afterwards, empty, with the test AMIs."""
    answers: list[Answer] = []
    with paused(moto):
        sending = threading.Thread(target=lambda: answers.extend(probe_many(url, count)))
        sending.start()
        # Give the requests time to reach moto; those that do not are refused instead,
        # which must be a 503 just the same.
        time.sleep(0.5)
        kill(moto)
    sending.join(ANSWER_TIMEOUT)
    restart(moto)
    if sending.is_alive():
        raise AssertionError(f"occi-server did not answer within {ANSWER_TIMEOUT:g} s")
    return answers


def refused_answers(url: str, moto: MotoServer, count: int) -> list[Answer]:
    """`count` requests at once while moto is stopped (its port closed: connections are
    refused); moto is started again afterwards, empty, with the test AMIs."""
    moto.stop()
    try:
        return probe_many(url, count)
    finally:
        restart(moto)


def restart(moto: MotoServer) -> None:
    """Start moto again on its port (it forgot everything) with the test AMIs."""
    moto.start()
    moto.images = register_images(moto.client())


def broken_answers(url: str, broken: BrokenEndpoint, count: int) -> list[Answer]:
    """`count` requests per answer of `BROKEN_ANSWERS` given by `broken`, which the
    server at `url` takes for EC2; `broken` answers validly again afterwards."""
    answers: list[Answer] = []
    try:
        for name in BROKEN_ANSWERS:
            broken.answer = name
            answers += probe_many(url, count, probes_of(name))
    finally:
        broken.answer = None
    return answers


# --- figures -----------------------------------------------------------------------------------

#: scale -> (cloud deadline in seconds, requests one after the other and at once
#: against the hung cloud, requests per other fault). More requests at once than the
#: backend's 16 threads wait for a thread, and meet the deadline itself rather than
#: botocore's timeouts.
SCALES = {"quick": (3.0, 2, 20, 4), "full": (10.0, 3, 40, 40)}
#: What a burst of requests at once may add to the deadline, for the server to take
#: them all in (each is read, authenticated and routed before its cloud call starts).
BURST_ALLOWANCE = 1.0


def figures(scale: str) -> list[Figure]:
    """Time to 503 with a hung cloud, and the answers other than 503 over every fault."""
    deadline, one_by_one, hung_requests, requests = SCALES[scale]
    answers: list[Answer] = []
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        with moto_server(workdir) as moto:
            config = server_config(moto.backend_settings(), deadline)
            with occi_server(workdir_in(workdir, "moto"), config=config) as server:
                assert probe(server.url).status == 200, "occi-server on moto does not serve"
                alone = hung_answers(server.url, moto, one_by_one, at_once=False)
                hung = hung_answers(server.url, moto, hung_requests)
                recovered = probe(server.url)
                answers += killed_answers(server.url, moto, requests)
                answers += refused_answers(server.url, moto, requests)
        with BrokenEndpoint() as broken:
            config = server_config(ec2_settings(broken.url, template_ttl=0.001), deadline)
            with occi_server(workdir_in(workdir, "broken"), config=config) as server:
                answers += broken_answers(server.url, broken, requests)
    alone_longest = max(answer.seconds for answer in alone)
    alone_wrong = not_unavailable(alone)
    longest = max(answer.seconds for answer in hung)
    hung_wrong = not_unavailable(hung)
    wrong = not_unavailable(answers)
    return [
        Figure(
            f"time to 503 with a hung cloud (EC2 SIGSTOPped; {one_by_one} requests one "
            "after the other, the slowest)",
            f"{alone_longest:.2f} s ({len(alone) - len(alone_wrong)} of {len(alone)} were 503)",
            f"<= {deadline:g} s (the configured deadline)",
            not alone_wrong and alone_longest <= deadline + SEND_ALLOWANCE,
        ),
        Figure(
            f"time to 503 with a hung cloud, {hung_requests} requests at once (the slowest)",
            f"{longest:.2f} s ({len(hung) - len(hung_wrong)} of {len(hung)} were 503)",
            f"<= {deadline:g} s + {BURST_ALLOWANCE:g} s for the server to take in the burst",
            not hung_wrong and longest <= deadline + BURST_ALLOWANCE,
        ),
        Figure(
            "answers other than 503 + Retry-After with EC2 killed mid-call, refused, or "
            f"answering nonsense ({len(BROKEN_ANSWERS)} kinds)",
            f"{len(wrong)} of {len(answers)}",
            "0",
            not wrong,
        ),
        Figure(
            "first request after the hung cloud is back",
            str(recovered.status),
            "200",
            recovered.status == 200,
        ),
    ]
