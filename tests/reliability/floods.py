"""Connection floods against a running occi-server, over raw sockets.

What a careless or hostile client does to the HTTP server in front of the
app, and what each costs the server:

* `header_flood`: clients that send one request's headers without end;
* `hold_connections`: many connections that send nothing (idle) or drip a
  header line now and then and never finish (slowloris);
* `send_request`: one raw request (an oversized request line, a body that
  never comes...) and what the server answered, within a bounded wait;
* `probe`: a normal client's ``GET /-/`` during any of these.

Every wait is bounded: a server that hangs shows as a timeout in the result,
never as a hung run. `server_rss` sums the resident memory of the server
process and its workers (Linux ``/proc``). `figures` runs them at the scale
of the reliability bench against both ASGI servers.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import selectors
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from reliability.figures import Figure

#: How long a normal client waits for its answer before counting it as a hang.
PROBE_TIMEOUT = 5.0
MIB = 1024 * 1024

# --- the server's memory -----------------------------------------------------------------


def _children(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # The command name (field 2) may hold spaces; the parent pid follows it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry))
    return children


def server_pids(pid: int) -> list[int]:
    """`pid` and every process below it (uvicorn's and granian's workers)."""
    pids, pending = [], [pid]
    while pending:
        current = pending.pop()
        pids.append(current)
        pending.extend(_children(current))
    return pids


def server_rss(pid: int) -> int:
    """Resident memory of the server process `pid` and its workers, in bytes."""
    total = 0
    for process in server_pids(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


class RssSampler:
    """Samples `server_rss` in a thread until stopped; keeps the peak."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        self.pid = pid
        self.every = every
        self.before = server_rss(pid)
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, server_rss(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, server_rss(self.pid))

    @property
    def growth(self) -> int:
        return self.peak - self.before

    def describe(self) -> str:
        return f"{self.before / MIB:.0f} MB -> {self.peak / MIB:.0f} MB"


# --- plumbing ----------------------------------------------------------------------------


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def allow_open_files(count: int) -> None:
    """Let this process open `count` more descriptors (soft limit up to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = len(os.listdir("/proc/self/fd")) + count + 64
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def status_of(answer: bytes) -> int | None:
    """The status code of an HTTP/1.1 answer's first line, if it has one."""
    if not answer.startswith(b"HTTP/1."):
        return None
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


# --- a normal client ---------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A normal client's request: its status (None: no answer) and how long it took."""

    status: int | None
    seconds: float
    #: Why there is no status: "timeout", "reset", "closed", "refused".
    failure: str = ""
    #: Bytes of the answer received.
    length: int = 0

    @property
    def answered(self) -> bool:
        """A whole answer came (a status alone, then a timeout, is a hang)."""
        return self.status is not None and not self.failure


def send_request(url: str, request: bytes, *, timeout: float = PROBE_TIMEOUT) -> Probe:
    """Send `request` on a new connection and read until the server closes it or
    answers in full; give up after `timeout` seconds in all.

    A server may answer and close before it has read the whole request (a refused
    head): what it answered is still read.
    """
    start = time.monotonic()
    deadline = start + timeout
    answer = b""
    failure = ""
    try:
        with socket.create_connection(address(url), timeout=timeout) as sock:
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                sock.sendall(request)
            while not _complete(answer):
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
    except TimeoutError:
        failure = "timeout"
    except ConnectionRefusedError:
        failure = "refused"
    except ConnectionResetError:
        failure = "reset"
    status = status_of(answer)
    if status is None and not failure:
        failure = "closed"
    return Probe(status, time.monotonic() - start, failure, len(answer))


def _complete(answer: bytes) -> bool:
    head, separator, body = answer.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip() or 0)
    return False


def probe(url: str, *, timeout: float = PROBE_TIMEOUT) -> Probe:
    """A normal client's ``GET /-/`` (one request, then ``Connection: close``)."""
    host, port = address(url)
    request = (
        f"GET /-/ HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/plain\r\n"
        f"User-Agent: pyocci-reliability OCCI/1.2\r\nConnection: close\r\n\r\n"
    ).encode("ascii")
    return send_request(url, request, timeout=timeout)


class Prober:
    """Runs `probe` every `every` seconds in a thread while the block runs."""

    def __init__(self, url: str, every: float = 0.5) -> None:
        self.url = url
        self.every = every
        self.probes: list[Probe] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.probes.append(probe(self.url))
            self._stop.wait(self.every)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def describe(self) -> str:
        statuses = Counter(p.status for p in self.probes if p.answered)
        failures = Counter(p.failure for p in self.probes if not p.answered)
        parts = [f"{count} x {status}" for status, count in sorted(statuses.items())]
        parts += [f"{count} x {failure}" for failure, count in sorted(failures.items())]
        answered = sum(statuses.values())
        slowest = max((p.seconds for p in self.probes), default=0.0)
        return f"{answered} of {len(self.probes)} ({', '.join(parts)}; slowest {slowest:.1f} s)"

    @property
    def all_answered(self) -> bool:
        """Every probe got 200 or 503: served, or refused at once; none hung or was reset."""
        return bool(self.probes) and all(p.answered and p.status in (200, 503) for p in self.probes)


# --- a header flood ----------------------------------------------------------------------


@dataclass
class FloodResult:
    """What a header flood did: per connection, the bytes sent and how it ended."""

    connections: int = 0
    #: How each flooding connection ended: an answer's status, or "reset", "closed"...
    endings: Counter[str] = field(default_factory=Counter)
    #: The most bytes one connection got to send before the server cut it off (this
    #: includes what the kernel buffers on both sides of the loopback).
    most_bytes_sent: int = 0
    #: Connections still flooding when the flood stopped: the server never cut them off.
    never_cut_off: int = 0


def header_flood(
    url: str, *, clients: int, seconds: float, give_up_after: float = 30.0
) -> FloodResult:
    """`clients` connections at once, each sending one request's headers without end
    (a new connection when the server cuts one off) for `seconds`.

    A connection the server has not cut off `give_up_after` seconds into it counts
    in `never_cut_off`.
    """
    result = FloodResult()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    line = b"X-Flood: " + b"f" * 1014 + b"\r\n"  # 1 KiB per header line
    block = line * 16

    def flood_once() -> None:
        sent = 0
        ending = "closed"
        cut_off = True
        with socket.create_connection(address(url), timeout=5) as sock:
            give_up = time.monotonic() + give_up_after
            try:
                sock.sendall(b"GET /-/ HTTP/1.1\r\nHost: flood\r\n")
                while True:
                    if time.monotonic() > give_up:
                        cut_off = False
                        break
                    sock.sendall(block)
                    sent += len(block)
            except TimeoutError:
                # The server stopped reading without closing: the kernel's buffers are
                # full. That is a cut-off only if an answer or a close follows.
                pass
            except (ConnectionResetError, BrokenPipeError):
                pass
            if cut_off:
                ending = _read_ending(sock)
                cut_off = ending != "timeout"
        with lock:
            result.connections += 1
            result.most_bytes_sent = max(result.most_bytes_sent, sent)
            result.endings[ending] += 1
            result.never_cut_off += 0 if cut_off else 1

    def client() -> None:
        while time.monotonic() < stop_at:
            flood_once()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + give_up_after + 30)
    return result


def _read_ending(sock: socket.socket) -> str:
    """How a connection the flood stopped writing to ended: the answer's status, or
    "closed" / "reset" without one, or "timeout" when the server holds it open."""
    sock.settimeout(5)
    answer = b""
    try:
        while len(answer) < 64:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    except TimeoutError:
        return str(status_of(answer)) if status_of(answer) else "timeout"
    except ConnectionResetError:
        pass
    status = status_of(answer)
    return str(status) if status else "closed"


# --- many connections at once ------------------------------------------------------------


@dataclass
class HeldConnections:
    """What became of connections that were held open without finishing a request."""

    opened: int = 0
    #: Connections that never got through the handshake within the wait (backlog full).
    not_connected: int = 0
    #: Connections the server answered or closed, by status ("closed" without answer).
    endings: Counter[str] = field(default_factory=Counter)
    #: Seconds from opening to the server's answer or close, per ended connection.
    lifetimes: list[float] = field(default_factory=list)
    #: Connections still open when the run ended.
    still_open: int = 0


_HEAD_START = b"GET /-/ HTTP/1.1\r\nHost: slow\r\n"
_DRIP = b"X-Drip: 1\r\n"


def hold_connections(
    url: str, count: int, *, seconds: float, drip_every: float | None = None
) -> HeldConnections:
    """Open `count` connections at once and hold them `seconds`: idle (nothing sent),
    or, with `drip_every`, slowloris (a request line, then one header line every
    `drip_every` seconds, the head never finished). Records how the server ended them.
    """
    allow_open_files(count)
    result = HeldConnections()
    selector = selectors.DefaultSelector()
    opened_at: dict[socket.socket, float] = {}
    connected: set[socket.socket] = set()
    target = address(url)
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex(target)
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            result.endings["refused"] += 1
            continue
        opened_at[sock] = time.monotonic()
        selector.register(sock, selectors.EVENT_WRITE)
    result.opened = len(opened_at)
    end = time.monotonic() + seconds
    next_drip = time.monotonic() + (drip_every or seconds)

    def finish(sock: socket.socket, ending: str) -> None:
        result.endings[ending] += 1
        result.lifetimes.append(time.monotonic() - opened_at.pop(sock))
        connected.discard(sock)
        selector.unregister(sock)
        sock.close()

    try:
        while opened_at and time.monotonic() < end:
            for key, _ in selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock not in connected:
                    error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if error:
                        finish(sock, "refused")
                        continue
                    connected.add(sock)
                    selector.modify(sock, selectors.EVENT_READ)
                    if drip_every is not None and not _send(sock, _HEAD_START):
                        finish(sock, "reset")
                    continue
                try:
                    answer = sock.recv(4096)
                except (ConnectionResetError, BlockingIOError):
                    answer = b""
                status = status_of(answer)
                finish(sock, str(status) if status else "closed")
            if drip_every is not None and time.monotonic() >= next_drip:
                next_drip += drip_every
                for sock in list(connected):
                    if not _send(sock, _DRIP):
                        finish(sock, "reset")
    finally:
        result.not_connected = len(set(opened_at) - connected)
        result.still_open = len(connected)
        for sock in list(opened_at):
            selector.unregister(sock)
            sock.close()
        selector.close()
    return result


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.send(data)
    except BlockingIOError:
        return True  # the server does not read: its problem, not a failure to hold
    except OSError:
        return False
    return True


# --- figures for the reliability bench ---------------------------------------------------

#: What "bounded" means for the server's memory under these floods.
RSS_BOUND = 100 * MIB


@contextlib.contextmanager
def _server(server: str) -> Iterator[tuple[str, int]]:
    from e2e.server import occi_server

    with tempfile.TemporaryDirectory(prefix="pyocci-floods-") as workdir:
        environ = {"PYOCCI_SERVER": server, "PYOCCI_LOG_LEVEL": "warning"}
        with occi_server(Path(workdir), environ=environ) as running:
            yield running.url, running.process.pid


def figures(scale: str) -> list[Figure]:
    """Header flood, 2,000 slow and 2,000 idle connections ("full"; "quick": 300),
    against occi-server with its default limits on each ASGI server."""
    full = scale == "full"
    connections = 2000 if full else 300
    hold_seconds = 25.0 if full else 12.0  # past the default 10 s header timeout
    rows: list[Figure] = []
    for server in ("uvicorn", "granian"):
        name = f" ({server}, the default)" if server == "uvicorn" else f" ({server})"
        with _server(server) as (url, pid):
            with RssSampler(pid) as rss, Prober(url) as during_flood:
                flood = header_flood(url, clients=8, seconds=20.0 if full else 5.0)
            rows.append(
                Figure(
                    f"server RSS under a header flood{name}",
                    f"{rss.describe()} ({flood.connections} connections, "
                    f"{flood.never_cut_off} never cut off)",
                    "bounded",
                    rss.growth < RSS_BOUND and flood.never_cut_off == 0,
                )
            )
            rows.append(
                Figure(
                    f"normal requests answered during the header flood{name}",
                    during_flood.describe(),
                    f"all, 200 or 503, each within {PROBE_TIMEOUT:g} s",
                    during_flood.all_answered,
                )
            )
            for kind, drip in (("slow", 1.0), ("idle", None)):
                with RssSampler(pid) as rss, Prober(url) as during:
                    held = hold_connections(url, connections, seconds=hold_seconds, drip_every=drip)
                rows.append(
                    Figure(
                        f"server RSS with {connections:,} {kind} connections{name}",
                        f"{rss.describe()} ({held.still_open} still open after "
                        f"{hold_seconds:g} s, {held.not_connected} never accepted)",
                        "bounded, all closed by the header timeout",
                        rss.growth < RSS_BOUND and held.still_open == 0,
                    )
                )
                rows.append(
                    Figure(
                        f"normal requests answered during {connections:,} {kind} connections{name}",
                        during.describe(),
                        f"all, 200 or 503, each within {PROBE_TIMEOUT:g} s",
                        during.all_answered,
                    )
                )
    return rows
