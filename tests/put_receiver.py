"""A real HTTPS server on a free loopback port that takes PUTs the way a pre-signed URL
does, for the export tests.

Run as its own process (``python tests/put_receiver.py PORT CERT KEY``): it needs a
``Content-Length`` (411 without, as S3 answers), refuses ``/forbidden/...`` with 403
as a pre-signed URL whose signature ran out would, reads ``/slow/...`` bodies a
little at a time (so a test can stop occi-server in the middle of one), and keeps,
per path, the size and SHA-256 of the last whole body it received, which
``GET /received/<path>`` answers as JSON (404 until one arrived whole). Bodies are
not kept, except those PUT under ``/keep/``, which ``GET /file/<path>`` gives back
(for tests that inspect what arrived, such as a converted disk image). A path with
a ``digest`` segment is answered with the body's SHA-256 in ``Repr-Digest`` (RFC
9530), as receivers that confirm what they got do; one with ``wrongdigest`` with
the SHA-256 of something else.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

#: How much of a ``/slow/`` body is read at a time, and the pause after each.
SLOW_READ = 256 * 1024
SLOW_PAUSE = 0.05


class _Receiver(BaseHTTPRequestHandler):
    received: dict[str, dict[str, object]] = {}
    lock = threading.Lock()
    #: Where bodies PUT under /keep/ are written.
    kept = Path(".")

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.command} {self.path.split('?')[0]} {args[1:]!r}\n")

    def _answer(
        self, status: int, body: dict[str, object] | None = None, digest: bytes | None = None
    ) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(status)
        if digest is not None:
            self.send_header("Repr-Digest", f"sha-256=:{base64.b64encode(digest).decode()}:")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop_chunked(self) -> None:
        """Read a chunked body to its end (the last chunk and any trailers), keeping none."""
        while line := self.rfile.readline(1024):
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            self.rfile.read(size + 2)  # the chunk and its CRLF

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.startswith("/received/"):
            with self.lock:
                found = self.received.get(path[len("/received") :])
            self._answer(200 if found else 404, found)
        elif path.startswith("/file/") and (self.kept / _kept_name(path[5:])).is_file():
            data = (self.kept / _kept_name(path[5:])).read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._answer(404)

    def do_PUT(self) -> None:
        path = self.path.split("?")[0]
        length = self.headers.get("Content-Length")
        if length is None:
            self._answer(411, {"error": "Content-Length required"})
            # Read to the end too, as for /forbidden/ below: unread, the body would reset
            # the connection and the 411 with it.
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self._drop_chunked()
            return
        left = int(length)
        if path.startswith("/forbidden/"):
            # Answered at once, then the body read and dropped, as web servers do: closing
            # with a body unread would reset the connection, and the answer with it.
            self._answer(403, {"error": "Request has expired"})
            while left and (chunk := self.rfile.read(min(left, 1024 * 1024))):
                left -= len(chunk)
            return
        digest = hashlib.sha256()
        slow = path.startswith("/slow/")
        keep = path.startswith("/keep/")
        partial = self.kept / (_kept_name(path) + ".part")
        with partial.open("wb") if keep else contextlib.nullcontext() as file:
            while left:
                chunk = self.rfile.read(min(left, SLOW_READ if slow else 1024 * 1024))
                if not chunk:
                    return  # the sender went away: nothing whole arrived
                digest.update(chunk)
                if file is not None:
                    file.write(chunk)
                left -= len(chunk)
                if slow:
                    time.sleep(SLOW_PAUSE)
        if keep:
            partial.replace(self.kept / _kept_name(path))
        with self.lock:
            self.received[path] = {"size": int(length), "sha256": digest.hexdigest()}
        segments = path.split("/")
        if "wrongdigest" in segments:
            self._answer(200, digest=hashlib.sha256(b"something else").digest())
        elif "digest" in segments:
            self._answer(200, digest=digest.digest())
        else:
            self._answer(200)


def _kept_name(path: str) -> str:
    return path.strip("/").replace("/", "__")


@dataclass
class PutReceiver:
    """A running receiver: its base URL and what it received."""

    url: str
    ca: Path
    process: subprocess.Popen[bytes]

    def received(self, path: str) -> dict[str, object] | None:
        """What arrived whole at `path` (size, sha256), or None."""
        trust = ssl.create_default_context(cafile=str(self.ca))
        answer = httpx.get(f"{self.url}/received{path}", verify=trust, timeout=10)
        return answer.json() if answer.status_code == 200 else None

    def body(self, path: str) -> bytes | None:
        """The body that arrived whole at `path` (which starts with ``/keep/``), or None."""
        trust = ssl.create_default_context(cafile=str(self.ca))
        answer = httpx.get(f"{self.url}/file{path}", verify=trust, timeout=60)
        return answer.content if answer.status_code == 200 else None


@contextmanager
def put_receiver(workdir: Path, certificate: Path, key: Path, ca: Path) -> Iterator[PutReceiver]:
    """Run the receiver until the block ends."""
    from e2e.server import free_port

    port = free_port()
    log = workdir / f"put-receiver-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, __file__, str(port), str(certificate), str(key), str(workdir)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/", verify=ssl.create_default_context(cafile=str(ca)), timeout=1)
                break
            except httpx.TransportError as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the PUT receiver did not start:\n{log.read_text()}"
                    ) from error
                time.sleep(0.1)
        yield PutReceiver(url, ca, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(port: int, certificate: str, key: str, kept: str) -> None:
    _Receiver.kept = Path(kept)
    server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    server.serve_forever()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
