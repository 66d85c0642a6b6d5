"""HTTP benchmark of ``occi-server`` against a minimal raw ASGI app serving the same bytes.

Run: ``python bench/server.py [--quick] [--client auto|wrk|python] [--servers uvicorn,granian]``.

One run starts, one server type at a time and each as its own process on a
free loopback port with one worker, ``occi-server`` (under uvicorn and under
granian, ``--server``) on a fresh SQLite database in a temporary
directory, then, beside it, ``bench/raw_app.py`` under the same server,
replaying for every measured request the exact status, header fields and
body the OCCI server answered (captured first, handed over in a temporary
file named by ``PYOCCI_BENCH_RESPONSES``). Each operation is measured on
both, in the order OCCI, raw, raw, OCCI, and each side's faster run is
kept: on a shared, noisy machine a burst of load then weighs on both sides
alike. The ratio of the two rates is pyocci's own cost; it is taken against
the faster of the two raw apps.

Measured, as requests/s and p50/p99 latency, with 4 keep-alive connections
and again with 16 (rows marked ``c16``): GET ``/-/`` (text/plain, JSON);
GET one compute (JSON, text/plain); POST create (a compute with os_tpl and
resource_tpl, each a committed SQLite transaction); partial update (POST to
a compute changing its title). GET ``/compute/`` holding 1,000 and 10,000
computes (uri-list, text/plain, JSON) with one connection, so p50 is the
time per full listing, and the 10,000 text/plain listing with 4 clients at
once. Then the server's peak RSS with 10,000 and 100,000 computes, and how
much RSS grows during a full JSON listing of each (a streamed listing does
not grow with the collection). The targets are issue 13's.

The databases are filled before the server starts, through the sim
backend's Python API on the same database file (batched transactions; one
service call per compute if the sim internals are not there).

Load generator (a separate process, HTTP/1.1 keep-alive, bounded
concurrency): ``wrk`` when it is on the PATH (``apt-get install wrk``;
time-bounded runs), else the asyncio client in this file (count- and
time-bounded). Listings always use the asyncio client, one connection,
count-bounded. ``--quick`` is a smoke run with small counts and short runs
(asyncio client unless ``--client wrk``). Everything else comes with
``pip install -e '.[bench]'``. Resident memory is read from ``/proc``
(Linux); elsewhere it shows as n/a.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from pyocci.backends.sim.backend import SimBackend
    from pyocci.model import Kind, Model, Resource

HERE = Path(__file__).resolve().parent
RAW_APP = HERE / "raw_app.py"
RESPONSES_ENV = "PYOCCI_BENCH_RESPONSES"
SERVERS = ("uvicorn", "granian")

TEXT_PLAIN = "text/plain"
OCCI_JSON = "application/occi+json"
URI_LIST = "text/uri-list"

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"
IMAGE_SCHEME = "http://schemas.pyocci.org/sim/os_tpl#"
IMAGE = IMAGE_SCHEME + "ubuntu-24_04"
FLAVOUR_SCHEME = "http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#"
FLAVOUR = FLAVOUR_SCHEME + "small"
TENANT = "default"

#: The server configuration: no quota in the way, no access log (for either app).
SERVER_TOML = """\
log_level = "warning"

[auth]
method = "none"
tenant = "default"

[backend_settings]
quotas = {computes = "unlimited", cores = "unlimited", memory = "unlimited", \
storage = "unlimited"}
"""
SIM_SETTINGS: dict[str, Any] = {
    "quotas": {
        "computes": "unlimited",
        "cores": "unlimited",
        "memory": "unlimited",
        "storage": "unlimited",
    }
}

CREATE_BODY = (
    f'Category: compute; scheme="{INFRA}"; class="kind"\n'
    f'Category: ubuntu-24_04; scheme="{IMAGE_SCHEME}"; class="mixin"\n'
    f'Category: small; scheme="{FLAVOUR_SCHEME}"; class="mixin"\n'
    'X-OCCI-Attribute: occi.core.title="bench"\n'
)
#: ``{n}`` is replaced per request, so every update changes the title.
UPDATE_BODY = 'X-OCCI-Attribute: occi.core.title="renamed-{n}"\n'

MIB = 1024 * 1024
#: RSS growth during a full listing that still counts as flat.
FLAT_SLACK_MIB = 16.0
#: Issue 13: RSS growth over a JSON listing of `Plan.big` computes stays below this.
MAX_LISTING_GROWTH_MIB = 10.0


# --- sizes and operations --------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How big and how long: the full run or the ``--quick`` smoke run."""

    small: int  # computes behind the listings of stage 1 (and every other request)
    big: int  # computes behind the big listings
    huge: int  # computes for the second RSS point
    seconds: float  # per measurement (wrk rounds up to whole seconds)
    max_requests: int  # per measurement, asyncio client
    warmup: float  # seconds of warm-up before each measurement
    listing_seconds: float  # time bound of the listing measurements
    small_listings: int  # full listings timed at `small`
    big_listings: int  # ... at `big`
    huge_listings: int  # ... at `huge`
    concurrency: int = 4  # keep-alive connections, unless an operation says otherwise


FULL = Plan(
    small=1_000,
    big=10_000,
    huge=100_000,
    seconds=3.0,
    max_requests=200_000,
    warmup=1.0,
    listing_seconds=60.0,
    small_listings=60,
    big_listings=8,
    huge_listings=1,
)
QUICK = Plan(
    small=50,
    big=300,
    huge=1_000,
    seconds=0.3,
    max_requests=2_000,
    warmup=0.0,
    listing_seconds=10.0,
    small_listings=5,
    big_listings=3,
    huge_listings=1,
)


@dataclass(frozen=True)
class Goal:
    """A target from issue 3: a ratio to the faster raw app, a rate, or a listing time."""

    kind: str  # "ratio", "rate" or "time"
    value: float

    def describe(self) -> str:
        """The target column."""
        if self.kind == "ratio":
            return f">= {self.value:g} x raw"
        if self.kind == "rate":
            return f">= {self.value:g}/s"
        return f"<= {self.value * 1e3:g} ms"


@dataclass(frozen=True)
class Operation:
    """One kind of request to measure."""

    name: str
    method: str
    target: str  # path and query; ``{entity}`` is the measured compute's path
    accept: str
    content_type: str | None = None
    body: str | None = None  # ``{n}``: a per-request counter
    expect: int = 200
    listing: bool = False  # one connection, count-bounded, asyncio client
    goal: Goal | None = None
    concurrency: int | None = None  # None: the plan's

    def connections(self, plan: Plan) -> int:
        """The keep-alive connections this operation is measured with."""
        return self.concurrency or plan.concurrency

    def path(self, entity: str) -> str:
        """The request target with the measured entity filled in."""
        return self.target.replace("{entity}", entity)

    def body_bytes(self, n: int) -> bytes:
        """The request body of the n-th request."""
        return (self.body or "").replace("{n}", str(n)).encode()


#: The connections of the second figure of every request measured under load (the
#: table of earlier runs had these alone).
WIDE = 16


def stage_one_operations(small: int) -> list[Operation]:
    """Everything measured on the database holding `small` computes."""
    label = _count_label(small)
    loaded = [
        Operation("GET /-/ text/plain", "GET", "/-/", TEXT_PLAIN, goal=Goal("ratio", 0.7)),
        Operation("GET /-/ json", "GET", "/-/", OCCI_JSON, goal=Goal("ratio", 0.7)),
        Operation("GET compute json", "GET", "{entity}", OCCI_JSON, goal=Goal("ratio", 0.5)),
        Operation("GET compute text/plain", "GET", "{entity}", TEXT_PLAIN, goal=Goal("ratio", 0.5)),
        Operation(
            "POST update title",
            "POST",
            "{entity}",
            TEXT_PLAIN,
            content_type=TEXT_PLAIN,
            body=UPDATE_BODY,
            goal=Goal("ratio", 0.15),
        ),
        Operation(
            "POST create compute",
            "POST",
            "/compute/",
            TEXT_PLAIN,
            content_type=TEXT_PLAIN,
            body=CREATE_BODY,
            expect=201,
            goal=Goal("ratio", 0.2),
        ),
    ]
    wide = [
        dataclasses.replace(op, name=f"{op.name} c{WIDE}", concurrency=WIDE, goal=None)
        for op in loaded
    ]
    listings = listing_operations(label, {URI_LIST: 0.003, TEXT_PLAIN: 0.003, OCCI_JSON: None})
    # The listings before the writes, which add computes to the collection.
    reads, writes = loaded[:4], loaded[4:]
    return [*reads, *wide[:4], *listings, *writes, *wide[4:]]


def stage_two_operations(big: int) -> list[Operation]:
    """The listings of the database holding `big` computes."""
    label = _count_label(big)
    return [
        *listing_operations(label, {URI_LIST: 0.02, TEXT_PLAIN: 0.02, OCCI_JSON: 0.3}),
        Operation(
            f"GET /compute/ {label} text/plain, 4 clients",
            "GET",
            "/compute/",
            TEXT_PLAIN,
            concurrency=4,
            goal=Goal("rate", 100),
        ),
    ]


_SHORT_NAMES = {URI_LIST: "uri-list", TEXT_PLAIN: "text/plain", OCCI_JSON: "json"}


def listing_operations(label: str, seconds: dict[str, float | None]) -> list[Operation]:
    """One full listing of /compute/ per media type, each with its time target (or none)."""
    return [
        Operation(
            f"GET /compute/ {label} {_SHORT_NAMES[accept]}",
            "GET",
            "/compute/",
            accept,
            listing=True,
            goal=Goal("time", target) if target is not None else None,
        )
        for accept, target in seconds.items()
    ]


def _count_label(count: int) -> str:
    return f"{count // 1000}k" if count >= 1000 and count % 1000 == 0 else str(count)


# --- filling the database ----------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def fill(path: Path, count: int) -> tuple[str, str]:
    """Add computes to the SQLite database at `path` until it holds `count` of them.

    Goes through the sim backend's Python API on the same file, before any
    server opens it. Returns the location of the first compute and how the
    database was filled.
    """
    return asyncio.run(_fill(path, count))


async def _fill(path: Path, count: int) -> tuple[str, str]:
    from pyocci.backends.api import Query, Tenant
    from pyocci.backends.sim.backend import SimBackend
    from pyocci.backends.sim.settings import SimSettings
    from pyocci.model import Resource, standard_model
    from pyocci.service.occi import OcciService
    from pyocci.store.database import Database
    from pyocci.store.mixins import MixinRepository

    database = Database(sqlite_url(path))
    database.upgrade()
    standard = standard_model()
    backend = SimBackend(
        model=standard, database=database, settings=SimSettings.from_dict(SIM_SETTINGS)
    )
    await backend.open()
    try:
        service = OcciService(
            standard=standard, backend=backend, store=MixinRepository(database), runner=database
        )
        tenant = Tenant(TENANT)
        model = await service.model_for(tenant)
        kind = model.kind(COMPUTE)
        query = Query(kinds=(COMPUTE,))
        have = await backend.count_entities(tenant, query) or 0

        def compute(index: int) -> Resource:
            return Resource(
                kind=COMPUTE,
                mixins=[IMAGE, FLAVOUR],
                attributes={"occi.core.title": f"vm-{index}"},
            )

        how = "sim backend Python API, batched transactions of 5,000 computes"
        try:
            _fill_batched(backend, model, kind, compute, have, count)
        except (ImportError, AttributeError, TypeError) as error:
            # The sim's internals moved: one service call (one transaction) per compute.
            how = f"OcciService.create, one transaction per compute (batched fill failed: {error})"
            have = await backend.count_entities(tenant, query) or 0
            for index in range(have, count):
                await service.create(tenant, model, kind, compute(index))
        total = await backend.count_entities(tenant, query)
        if total != count:
            raise RuntimeError(f"filled {path.name} with {total} computes, wanted {count}")
        first = [e async for e in backend.list_entities(tenant, Query(kinds=(COMPUTE,), limit=1))]
        return first[0].location or "", how
    finally:
        await backend.close()
        database.close()


def _fill_batched(
    backend: SimBackend,
    model: Model,
    kind: Kind,
    compute: Callable[[int], Resource],
    start: int,
    count: int,
) -> None:
    """Create computes many per transaction, prepared as `OcciService.create` prepares them."""
    from pyocci.backends.sim import creation, quotas
    from pyocci.backends.sim.context import Work

    database = backend.database
    index = start
    while index < count:
        end = min(count, index + 5_000)
        with database.transaction() as connection:
            work = Work(backend.entities.cloud, connection, TENANT, time.time())
            quotas.lock_tenant(work)
            for number in range(index, end):
                entity = compute(number)
                entity.id = str(uuid.uuid4())
                entity.location = (kind.location or "/") + entity.id
                model.validate(entity, creating=True)
                model.apply_defaults(entity)
                creation.create(work, entity)
        index = end


def copy_database(source: Path, target: Path) -> Path:
    """A fresh copy of a closed SQLite database (and its WAL, if one was left)."""
    for suffix in ("", "-wal", "-shm"):
        if target.with_name(target.name + suffix).exists():
            target.with_name(target.name + suffix).unlink()
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + "-wal"))
    return target


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now (the same logic as tests/e2e/server.py)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command may hold spaces and parentheses: fields start after the last ')'.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def _status_kib(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A running server process (OCCI or raw) and its serving process."""

    name: str  # "occi" or "raw"
    server: str  # "uvicorn" or "granian"
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    worker: int = 0  # the process that runs the app (granian: a child)

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.port}"

    def rss_mib(self) -> float | None:
        """The serving process's resident memory now."""
        kib = _status_kib(self.worker, "VmRSS")
        return None if kib is None else kib / 1024

    def peak_rss_mib(self) -> float | None:
        """The serving process's peak resident memory so far."""
        kib = _status_kib(self.worker, "VmHWM")
        return None if kib is None else kib / 1024

    def cpu_seconds(self) -> float | None:
        """CPU time the serving process used so far."""
        return _cpu_seconds(self.worker)


@contextmanager
def running(
    name: str, server: str, arguments: list[str], env: dict[str, str], workdir: Path
) -> Iterator[Server]:
    """Run a server process until the block ends (SIGTERM, then kill if it hangs)."""
    port = free_port()
    arguments = [a.replace("{port}", str(port)) for a in arguments]
    log = workdir / f"{name}-{server}-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(arguments, stdout=output, stderr=subprocess.STDOUT, env=env)
    running_server = Server(name, server, port, process, log)
    try:
        _wait_until_ready(running_server)
        running_server.worker = _serving_pid(process.pid)
        yield running_server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _serving_pid(pid: int) -> int:
    """The process that runs the app: follow lone children (granian's worker) down."""
    if not Path("/proc").is_dir():
        return pid
    children = _children(pid)
    return _serving_pid(children[0]) if len(children) == 1 else pid


def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} ({server.server}) exited with {server.process.returncode}:\n"
                + server.log.read_text(errors="replace")
            )
        try:
            httpx.get(server.url + "/-/", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.name} ({server.server}) did not answer within 60 s")


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}


def occi_server(
    server: str, database: Path, config: Path, workdir: Path
) -> AbstractContextManager[Server]:
    """``occi-server`` with one worker under `server` on `database`."""
    arguments = [
        sys.executable,
        "-m",
        "pyocci.server.cli",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--workers",
        "1",
        "--server",
        server,
        "--database-url",
        sqlite_url(database),
    ]
    return running("occi", server, arguments, _clean_environment(), workdir)


def raw_server(server: str, responses: Path, workdir: Path) -> AbstractContextManager[Server]:
    """``bench/raw_app.py`` under `server`, replaying the responses in `responses`."""
    env = _clean_environment()
    env[RESPONSES_ENV] = str(responses)
    arguments = [sys.executable, str(RAW_APP), "--server", server, "--port", "{port}"]
    return running("raw", server, arguments, env, workdir)


# --- load generation: the asyncio client ---------------------------------------------------------

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)")


def build_request(operation: Operation, entity: str, port: int, n: int) -> bytes:
    """The bytes of one HTTP/1.1 keep-alive request."""
    lines = [
        f"{operation.method} {operation.path(entity)} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Accept: {operation.accept}",
        "User-Agent: pyocci-bench",
    ]
    body = b""
    if operation.method in ("POST", "PUT"):
        body = operation.body_bytes(n)
        if operation.content_type:
            lines.append(f"Content-Type: {operation.content_type}")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Phase:
    """One bounded run: hands out requests and collects latencies."""

    def __init__(
        self, requests: Sequence[bytes], max_requests: int, seconds: float, record: bool
    ) -> None:
        self.requests = requests
        self.remaining = max_requests
        self.deadline = time.perf_counter() + seconds
        self.record = record
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self.body_bytes = 0
        self.sent = 0
        self.idle = 0
        self.connections = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def take(self) -> bytes | None:
        if self.remaining <= 0 or time.perf_counter() >= self.deadline:
            return None
        self.remaining -= 1
        request = self.requests[self.sent % len(self.requests)]
        self.sent += 1
        return request

    def finished(self) -> None:
        self.idle += 1
        if self.idle >= self.connections and not self.done.done():
            self.done.set_result(None)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send a request, read the whole response, repeat."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.phase: _Phase | None = None
        self.started = 0.0
        self.status = 0
        self.left: int | None = None  # body bytes still expected; None: reading headers
        self.chunked = False
        self.body = 0
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.ready.set_result(None)

    def start(self, phase: _Phase) -> None:
        self.phase = phase
        phase.connections += 1
        self._next()

    def _next(self) -> None:
        assert self.phase is not None and self.transport is not None
        request = self.phase.take()
        if request is None:
            self.started = 0.0
            self.phase.finished()
            return
        self.started = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.started and self._complete():
            assert self.phase is not None
            phase = self.phase
            if phase.record:
                phase.latencies.append(time.perf_counter() - self.started)
                phase.statuses[self.status] += 1
                phase.body_bytes += self.body
            self._next()

    def _complete(self) -> bool:
        """Consume one whole response from the buffer if it is there."""
        buffer = self.buffer
        if self.left is None and not self.chunked:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = bytes(buffer[:end]).lower()
            del buffer[: end + 4]
            self.status = int(head[9:12])
            self.body = 0
            match = _CONTENT_LENGTH.search(head)
            if match:
                self.left = int(match.group(1))
            elif b"transfer-encoding: chunked" in head:
                self.chunked = True
            else:
                self.left = 0
        if self.chunked:
            while True:
                line_end = buffer.find(b"\r\n")
                if line_end < 0:
                    return False
                size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
                need = line_end + 2 + size + 2
                if len(buffer) < need:
                    return False
                del buffer[:need]
                self.body += size
                if size == 0:
                    self.chunked = False
                    return True
        assert self.left is not None
        if len(buffer) < self.left:
            return False
        del buffer[: self.left]
        self.body = self.left
        self.left = None
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if self.phase is not None and self.started:
            self.phase.errors.append(f"connection lost: {exc or 'closed by the server'}")
            self.started = 0.0
            self.phase.finished()


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    requests = [base64.b64decode(r) for r in spec["requests"]]
    connections: list[_Connection] = []
    for _ in range(spec["concurrency"]):
        _transport, protocol = await loop.create_connection(_Connection, "127.0.0.1", spec["port"])
        await protocol.ready
        connections.append(protocol)
    if spec["warmup"] > 0:
        warm = _Phase(requests, spec["max_requests"], spec["warmup"], record=False)
        for connection in connections:
            connection.start(warm)
        await warm.done
    print("go", flush=True)  # the parent starts its server CPU clock
    cpu = time.process_time()
    phase = _Phase(requests, spec["max_requests"], spec["seconds"], record=True)
    began = time.perf_counter()
    for connection in connections:
        connection.start(phase)
    await phase.done
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    print("end", flush=True)
    for connection in connections:
        if connection.transport is not None:
            connection.transport.close()
    latencies = sorted(phase.latencies)
    return {
        "count": len(latencies),
        "elapsed": elapsed,
        "p50": _percentile(latencies, 0.50),
        "p99": _percentile(latencies, 0.99),
        "statuses": {str(k): v for k, v in phase.statuses.items()},
        "errors": phase.errors[:5],
        "body_bytes": phase.body_bytes,
        "cpu": cpu,
    }


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def load_worker() -> None:
    """The asyncio client process: a JSON spec on stdin, a JSON result on stdout."""
    spec = json.load(sys.stdin)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(_load(spec))
    print(json.dumps(result), flush=True)


# --- load generation: the drivers -------------------------------------------------------------


@dataclass
class Result:
    """One measurement."""

    rate: float
    p50: float  # seconds
    p99: float
    count: int
    problems: list[str] = field(default_factory=list)
    body_bytes: float = 0.0  # mean per response
    client_cpu: float = math.nan  # share of one core
    server_cpu: float = math.nan
    rss_before: float | None = None  # MiB
    rss_peak: float | None = None

    @property
    def ok(self) -> bool:
        """Whether every request got the expected status."""
        return not self.problems and self.count > 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Clock:
    """Marks the start and end of the measured phase (the client's warm-up excluded)."""

    def __init__(self, server: Server | None = None) -> None:
        self.server = server
        self.began = self.ended = math.nan
        self.cpu_began: float | None = None
        self.cpu_ended: float | None = None

    def start(self) -> None:
        """The measured phase begins."""
        self.began = time.perf_counter()
        self.cpu_began = self.server.cpu_seconds() if self.server else None

    def stop(self) -> None:
        """The measured phase ends."""
        self.ended = time.perf_counter()
        self.cpu_ended = self.server.cpu_seconds() if self.server else None

    @property
    def server_cpu(self) -> float:
        """The serving process's CPU time in the phase, as a share of one core."""
        if self.cpu_began is None or self.cpu_ended is None:
            return math.nan
        return (self.cpu_ended - self.cpu_began) / max(self.ended - self.began, 1e-9)


def run_python_client(
    operation: Operation,
    entity: str,
    port: int,
    clock: Clock,
    *,
    concurrency: int,
    seconds: float,
    max_requests: int,
    warmup: float,
) -> Result:
    """Measure with the asyncio client (a separate process)."""
    variants = 997 if operation.body and "{n}" in operation.body else 1
    requests = [build_request(operation, entity, port, n) for n in range(variants)]
    spec = {
        "port": port,
        "requests": [base64.b64encode(r).decode() for r in requests],
        "concurrency": concurrency,
        "seconds": seconds,
        "max_requests": max_requests,
        "warmup": warmup,
    }
    with tempfile.TemporaryFile() as errors:
        worker = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--load-worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write(json.dumps(spec))
        worker.stdin.close()
        lines = []
        for line in worker.stdout:
            if line.strip() == "go":
                clock.start()
            elif line.strip() == "end":
                clock.stop()
            else:
                lines.append(line)
        worker.wait(timeout=60)
        if worker.returncode != 0 or not lines:
            errors.seek(0)
            raise RuntimeError("load client failed:\n" + errors.read().decode(errors="replace"))
    out = json.loads(lines[-1])
    problems = [f"{n} x HTTP {s}" for s, n in out["statuses"].items() if int(s) != operation.expect]
    problems += out["errors"]
    count = out["count"]
    elapsed = out["elapsed"] or math.nan
    return Result(
        rate=count / elapsed,
        p50=out["p50"],
        p99=out["p99"],
        count=count,
        problems=problems,
        body_bytes=out["body_bytes"] / count if count else 0.0,
        client_cpu=out["cpu"] / elapsed,
    )


_WRK_LATENCY = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _lua_string(text: str) -> str:
    level = "=" * 4
    return f"[{level}[{text}]{level}]"


def run_wrk(
    operation: Operation,
    entity: str,
    port: int,
    workdir: Path,
    clock: Clock,
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
) -> Result:
    """Measure with wrk (one thread, time-bounded)."""
    lines = [f'wrk.method = "{operation.method}"', f'wrk.headers["Accept"] = "{operation.accept}"']
    lines.append('wrk.headers["User-Agent"] = "pyocci-bench"')
    if operation.content_type:
        lines.append(f'wrk.headers["Content-Type"] = "{operation.content_type}"')
    if operation.body and "{n}" in operation.body:
        before, _, after = operation.body.partition("{n}")
        lines += [
            "local counter = 0",
            "request = function()",
            "  counter = counter + 1",
            f"  return wrk.format(nil, nil, nil, {_lua_string(before)} .. counter .. "
            f"{_lua_string(after)})",
            "end",
        ]
    elif operation.body:
        lines.append(f"wrk.body = {_lua_string(operation.body)}")
    script = workdir / "wrk.lua"
    script.write_text("\n".join(lines) + "\n")
    url = f"http://127.0.0.1:{port}{operation.path(entity)}"

    def wrk(duration: float, measured: bool) -> tuple[str, float]:
        before = _children_cpu()
        if measured:
            clock.start()
        done = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "30s",
                "--latency",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=duration + 120,
        )
        if measured:
            clock.stop()
        if done.returncode != 0:
            raise RuntimeError("wrk failed:\n" + done.stderr + done.stdout)
        return done.stdout, _children_cpu() - before

    if warmup > 0:
        wrk(warmup, measured=False)
    output, client_cpu = wrk(seconds, measured=True)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    count_match = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    count = int(count_match.group(1)) if count_match else 0
    elapsed = float(count_match.group(2)) * _WRK_UNITS[count_match.group(3)] if count_match else 1
    latency = {
        m.group(1): float(m.group(2)) * _WRK_UNITS[m.group(3)]
        for m in _WRK_LATENCY.finditer(output)
    }
    problems = []
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        problems.append(f"{non_2xx.group(1)} non-2xx responses")
    errors = re.search(r"Socket errors: (.*)", output)
    if errors:
        problems.append(f"socket errors: {errors.group(1)}")
    read = re.search(r"requests in [^,]+, ([\d.]+)([KMG]?B) read", output)
    scale = {"B": 1, "KB": 1024, "MB": MIB, "GB": 1024 * MIB}
    body = float(read.group(1)) * scale[read.group(2)] / count if read and count else 0.0
    return Result(
        rate=rate,
        p50=latency.get("50", math.nan),
        p99=latency.get("99", math.nan),
        count=count,
        problems=problems,
        body_bytes=body,  # wrk counts headers too
        client_cpu=client_cpu / elapsed,
    )


class RssSampler:
    """Samples a process's RSS in a thread while a measurement runs; keeps the peak."""

    def __init__(self, server: Server, interval: float = 0.01) -> None:
        self.server = server
        self.interval = interval
        self.peak: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self.server.rss_mib()
            if rss is not None and (self.peak is None or rss > self.peak):
                self.peak = rss
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Bench:
    """The settings of one run."""

    plan: Plan
    client: str  # "wrk" or "python"
    workdir: Path
    load_before: str = field(default_factory=lambda: _load_average())

    def measure(
        self, server: Server, operation: Operation, entity: str, listings: int = 0
    ) -> Result:
        """Load `server` with `operation`; RSS and CPU of the serving process alongside."""
        plan = self.plan
        rss_before = server.rss_mib()
        clock = Clock(server)
        with RssSampler(server) as sampler:
            if operation.listing:
                result = run_python_client(
                    operation,
                    entity,
                    server.port,
                    clock,
                    concurrency=1,
                    seconds=plan.listing_seconds,
                    max_requests=listings,
                    warmup=0.0,
                )
            elif self.client == "wrk":
                result = run_wrk(
                    operation,
                    entity,
                    server.port,
                    self.workdir,
                    clock,
                    concurrency=operation.connections(plan),
                    seconds=plan.seconds,
                    warmup=plan.warmup,
                )
            else:
                result = run_python_client(
                    operation,
                    entity,
                    server.port,
                    clock,
                    concurrency=operation.connections(plan),
                    seconds=plan.seconds,
                    max_requests=plan.max_requests,
                    warmup=plan.warmup,
                )
        result.server_cpu = clock.server_cpu
        result.rss_before = rss_before
        result.rss_peak = sampler.peak
        _progress(
            f"  {server.name:4} {server.server:8} {operation.name:32} {result.rate:9.1f}/s "
            f"p50 {result.p50 * 1e3:8.2f} ms  p99 {result.p99 * 1e3:8.2f} ms  "
            f"n={result.count:<7} server cpu {result.server_cpu:4.0%}  "
            f"client cpu {result.client_cpu:4.0%}"
            + (f"  PROBLEMS: {'; '.join(result.problems)}" if result.problems else "")
        )
        return result


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- capture --------------------------------------------------------------------------------------


def capture(
    server: Server, operation: Operation, entity: str, responses: dict[str, dict[str, Any]]
) -> None:
    """One request to the OCCI server; its status, header fields and body kept for the raw
    app."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from raw_app import response_key

    headers = {"accept": operation.accept, "user-agent": "pyocci-bench"}
    if operation.content_type:
        headers["content-type"] = operation.content_type
    target = operation.path(entity)
    answer = httpx.request(
        operation.method,
        server.url + target,
        headers=headers,
        content=operation.body_bytes(0) if operation.method in ("POST", "PUT") else None,
        timeout=600,
    )
    if answer.status_code != operation.expect:
        raise RuntimeError(
            f"{operation.name}: {operation.method} {target} answered {answer.status_code}, "
            f"not {operation.expect}: {answer.text[:500]}"
        )
    responses[response_key(operation.method, target, operation.accept)] = {
        "status": answer.status_code,
        "content_type": answer.headers.get("content-type", ""),
        # The bytes as sent: Latin-1 maps each byte to one character and back.
        "headers": [
            [name.decode("latin-1"), value.decode("latin-1")] for name, value in answer.headers.raw
        ],
        "body": base64.b64encode(answer.content).decode(),
    }


# --- the run --------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: an operation on one server."""

    operation: Operation
    server: str
    occi: Result
    raw: Result | None = None


@dataclass
class MemoryPoint:
    """The OCCI server's memory with a given collection."""

    server: str
    computes: int
    rss_start: float | None
    peak: float | None
    growth: float | None  # during one full JSON listing
    listing_mb: float
    listing_seconds: float


def stage(
    bench: Bench,
    server: str,
    database: Path,
    config: Path,
    operations: list[Operation],
    entity: str,
    listings: int,
    tag: str,
) -> tuple[list[Row], MemoryPoint]:
    """Measure `operations` on the OCCI server and on the raw app serving its bytes, both
    running, one operation at a time (see `paired`)."""
    responses: dict[str, dict[str, Any]] = {}
    rows = []
    with occi_server(server, database, config, bench.workdir) as occi:
        rss_start = occi.rss_mib()
        for operation in operations:
            capture(occi, operation, entity, responses)
        responses_file = bench.workdir / f"responses-{tag}-{server}.json"
        responses_file.write_text(json.dumps(responses))
        with raw_server(server, responses_file, bench.workdir) as raw:
            for operation in operations:
                rows.append(paired(bench, occi, raw, operation, entity, listings))
        peak = occi.peak_rss_mib()
    json_rows = [r for r in rows if r.operation.listing and r.operation.accept == OCCI_JSON]
    if not json_rows:  # --only left the JSON listing out: no memory point
        return rows, MemoryPoint(server, 0, rss_start, peak, None, 0.0, 0.0)
    json_listing = json_rows[-1]
    point = MemoryPoint(
        server,
        0,
        rss_start,
        peak,
        _growth(json_listing.occi),
        json_listing.occi.body_bytes / MIB,
        json_listing.occi.p50,
    )
    return rows, point


def paired(
    bench: Bench, occi: Server, raw: Server, operation: Operation, entity: str, listings: int
) -> Row:
    """One operation on both servers, in the order OCCI, raw, raw, OCCI, each side's faster
    run kept: on a shared machine, load that comes and goes then weighs on both sides
    alike (a drift in between cancels out), and a run slowed by a neighbour is dropped."""
    first = bench.measure(occi, operation, entity, listings)
    raw_runs = [bench.measure(raw, operation, entity, listings) for _ in range(2)]
    second = bench.measure(occi, operation, entity, listings)
    return Row(operation, occi.server, _faster(first, second), _faster(*raw_runs))


def _faster(one: Result, other: Result) -> Result:
    """The run with the higher rate; a failed run never wins over a good one."""
    if one.ok != other.ok:
        return one if one.ok else other
    return one if one.rate >= other.rate else other


def _growth(result: Result) -> float | None:
    if result.rss_before is None or result.rss_peak is None:
        return None
    return max(0.0, result.rss_peak - result.rss_before)


def memory_only(
    bench: Bench, server: str, database: Path, config: Path, operation: Operation, listings: int
) -> MemoryPoint:
    """Peak RSS of the OCCI server with a huge collection, through full JSON listings."""
    with occi_server(server, database, config, bench.workdir) as occi:
        rss_start = occi.rss_mib()
        result = bench.measure(occi, operation, "", listings)
        peak = occi.peak_rss_mib()
    if not result.ok:
        raise RuntimeError(f"{operation.name} on {server}: {'; '.join(result.problems)}")
    return MemoryPoint(
        server, 0, rss_start, peak, _growth(result), result.body_bytes / MIB, result.p50
    )


# --- the table ----------------------------------------------------------------------------------

HEADER = (
    "operation",
    "server",
    "req/s",
    "p50 ms",
    "p99 ms",
    "raw req/s",
    "ratio",
    "target",
    "met?",
)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(
            str(c).ljust(w) if i < 2 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _flat(points: Sequence[MemoryPoint], server: str) -> tuple[bool | None, str]:
    """Whether RSS growth during a full JSON listing stays flat as the collection grows 10x."""
    mine = sorted((p for p in points if p.server == server), key=lambda p: p.computes)
    if len(mine) < 2 or any(p.growth is None for p in mine):
        return None, "RSS n/a"
    small, large = mine[0], mine[-1]
    assert small.growth is not None and large.growth is not None
    # Flat: listing 10-100x more computes adds no more than a few MiB (SQLite's
    # page cache, allocator slack) to what the small listing needed, and far
    # less than the listing itself (a buffered listing holds all of it).
    flat = large.growth <= 2 * small.growth + FLAT_SLACK_MIB and large.growth < max(
        0.25 * large.listing_mb, FLAT_SLACK_MIB
    )
    return flat, (
        f"RSS +{small.growth:.1f} MiB at {small.computes:,}, +{large.growth:.1f} MiB at "
        f"{large.computes:,} computes"
    )


def _memory_verdict(points: Sequence[MemoryPoint], server: str, computes: int) -> str:
    """Whether RSS grows less than `MAX_LISTING_GROWTH_MIB` in a JSON listing of
    `computes`, and whether growth stays flat as the collection grows."""
    at = next((p for p in points if p.server == server and p.computes == computes), None)
    flat, why = _flat(points, server)
    shape = "flat" if flat else "GROWS" if flat is not None else "unknown"
    if at is None or at.growth is None:
        return f"RSS growth in a JSON listing on {server}: n/a; {why}: {shape}"
    met = "yes" if at.growth < MAX_LISTING_GROWTH_MIB else "NO"
    return (
        f"RSS growth in a JSON listing of {computes:,} on {server}: +{at.growth:.1f} MiB "
        f"(target < {MAX_LISTING_GROWTH_MIB:g} MiB: {met}); {why}: {shape}"
    )


def render(rows: list[Row], points: list[MemoryPoint], bench: Bench, notes: list[str]) -> str:
    """The table, the memory table and the notes."""
    best_raw: dict[str, float] = {}
    for row in rows:
        if row.raw is not None and row.raw.ok:
            best_raw[row.operation.name] = max(best_raw.get(row.operation.name, 0), row.raw.rate)
    cells = []
    verdicts = []
    for row in rows:
        occi, goal = row.occi, row.operation.goal
        best = best_raw.get(row.operation.name)
        ratio = occi.rate / best if best else math.nan
        met = ""
        if goal is not None:
            if not occi.ok:
                met = "NO (errors)"
            elif goal.kind == "ratio":
                met = "yes" if ratio >= goal.value else "NO"
            elif goal.kind == "rate":
                met = "yes" if occi.rate >= goal.value else "NO"
            else:
                met = "yes" if occi.p50 <= goal.value else "NO"
        raw_rate = f"{row.raw.rate:,.0f}" if row.raw is not None and row.raw.ok else "-"
        cells.append(
            (
                row.operation.name,
                row.server,
                f"{occi.rate:,.0f}" if occi.rate >= 10 else f"{occi.rate:.2f}",
                f"{occi.p50 * 1e3:.2f}",
                f"{occi.p99 * 1e3:.2f}",
                raw_rate,
                f"{ratio:.2f}" if not math.isnan(ratio) else "-",
                goal.describe() if goal else "",
                met + ("" if occi.ok else f" [{'; '.join(occi.problems)[:60]}]"),
            )
        )
    for server in dict.fromkeys(row.server for row in rows):
        verdicts.append(_memory_verdict(points, server, bench.plan.big))
    memory = [
        (
            p.server,
            f"{p.computes:,}",
            _mib(p.rss_start),
            _mib(p.peak),
            _mib(p.growth, sign=True),
            f"{p.listing_mb:.1f}",
            f"{p.listing_seconds:.3f}",
        )
        for p in points
    ]
    parts = [
        _table(HEADER, cells),
        "",
        "ratio = req/s / the faster of the two raw apps' req/s for that operation; "
        "raw req/s is the raw app under the same server. Each side's rate is the faster "
        "of two runs, measured in the order OCCI, raw, raw, OCCI. Raw listing rates are "
        "bounded by "
        "the one-connection client reading the body, so listing ratios are upper bounds "
        "of pyocci's cost share only.",
        "",
        _table(
            (
                "OCCI server memory",
                "computes",
                "RSS at start MiB",
                "peak RSS MiB",
                "RSS growth in JSON listing MiB",
                "JSON listing MiB",
                "s per listing",
            ),
            memory,
        ),
        "",
        *verdicts,
        *notes,
    ]
    return "\n".join(parts)


def _mib(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"+{value:.1f}" if sign else f"{value:.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run, small counts")
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk if on the PATH (not with --quick), else the asyncio client",
    )
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="comma-separated: uvicorn,granian"
    )
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="measure only the operations of the first stage whose name contains TEXT "
        "(e.g. 'POST'); skips the big listings and the memory points",
    )
    parser.add_argument("--load-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_worker:
        load_worker()
        return 0
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(servers) - set(SERVERS)
    if unknown or not servers:
        parser.error(f"--servers takes {', '.join(SERVERS)}; got {args.servers!r}")
    plan = QUICK if args.quick else FULL
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") and not args.quick else "python"
    if client == "wrk" and not shutil.which("wrk"):
        parser.error("--client wrk: wrk is not on the PATH (apt-get install wrk)")

    with tempfile.TemporaryDirectory(prefix="pyocci-bench-") as tmp:
        workdir = Path(tmp)
        bench = Bench(plan, client, workdir)
        config = workdir / "server.toml"
        config.write_text(SERVER_TOML)

        _progress(f"filling databases: {plan.small:,}, {plan.big:,}, {plan.huge:,} computes")
        began = time.perf_counter()
        small_db, big_db, huge_db = (workdir / f"{n}.sqlite3" for n in ("small", "big", "huge"))
        entity, how = fill(small_db, plan.small)
        if not args.only:
            copy_database(small_db, big_db)
            fill(big_db, plan.big)
            copy_database(big_db, huge_db)
            fill(huge_db, plan.huge)
        filled = time.perf_counter() - began
        _progress(f"  filled in {filled:.1f} s ({how}); measured compute {entity}")

        rows: list[Row] = []
        points: list[MemoryPoint] = []
        stage_two: list[Row] = []
        first_stage = [
            op for op in stage_one_operations(plan.small) if not args.only or args.only in op.name
        ]
        if not first_stage:
            parser.error(f"--only {args.only!r} matches no operation")
        for server in servers:
            _progress(f"{server}: {plan.small:,} computes")
            found, point = stage(
                bench,
                server,
                copy_database(small_db, workdir / "run.sqlite3"),
                config,
                first_stage,
                entity,
                plan.small_listings,
                "small",
            )
            rows += found
            if args.only:
                continue
            point.computes = plan.small
            points.append(point)
            _progress(f"{server}: {plan.big:,} computes")
            found, point = stage(
                bench,
                server,
                copy_database(big_db, workdir / "run.sqlite3"),
                config,
                stage_two_operations(plan.big),
                entity,
                plan.big_listings,
                "big",
            )
            stage_two += found
            point.computes = plan.big
            points.append(point)
            _progress(f"{server}: {plan.huge:,} computes (memory)")
            huge = Operation(
                f"GET /compute/ {_count_label(plan.huge)} json",
                "GET",
                "/compute/",
                OCCI_JSON,
                listing=True,
            )
            point = memory_only(
                bench,
                server,
                copy_database(huge_db, workdir / "run.sqlite3"),
                config,
                huge,
                plan.huge_listings,
            )
            point.computes = plan.huge
            points.append(point)

        # One row per operation and server, operations in order.
        order = {op.name: i for i, op in enumerate(stage_one_operations(plan.small))}
        order.update(
            {op.name: len(order) + i for i, op in enumerate(stage_two_operations(plan.big))}
        )
        all_rows = sorted(
            rows + stage_two, key=lambda r: (order[r.operation.name], servers.index(r.server))
        )
        points.sort(key=lambda p: (servers.index(p.server), p.computes))
        notes = _notes(bench, all_rows, how)
        print(render(all_rows, points, bench, notes), flush=True)
    return 0


def _notes(bench: Bench, rows: list[Row], how: str) -> list[str]:
    plan = bench.plan
    if bench.client == "wrk":
        version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        name = (version.stdout + version.stderr).split("\n")[0].split(" [")[0].strip() or "wrk"
        client = (
            f"client: {name}, 1 thread, {plan.concurrency} keep-alive connections "
            f"({WIDE} in rows marked c{WIDE}), "
            f"{max(1, round(plan.seconds))} s per measurement after {plan.warmup:g} s warm-up "
            "(time-bounded: wrk cannot stop after a count)"
        )
    else:
        client = (
            f"client: asyncio HTTP/1.1 client in bench/server.py (separate process, uvloop), "
            f"{plan.concurrency} keep-alive connections ({WIDE} in rows marked c{WIDE}), "
            f"at most {plan.max_requests:,} requests "
            f"or {plan.seconds:g} s per measurement after {plan.warmup:g} s warm-up"
        )
    raw = [r.raw for r in rows if r.raw is not None and not r.operation.listing]
    busiest = max((r.client_cpu for r in raw if not math.isnan(r.client_cpu)), default=math.nan)
    best = max((r.rate for r in raw), default=0.0)
    reference = [
        f"raw {r.server}: {r.raw.rate:,.0f} req/s"
        for r in rows
        if r.raw is not None and r.operation.name == "GET /-/ text/plain"
    ]
    return [
        "",
        client + "; listings: the asyncio client, 1 connection, count-bounded "
        "(p50 = time per full listing)",
        f"client ceiling: fastest raw-app rate {best:,.0f} req/s with the client at "
        f"{busiest:.0%} of one core at most (issue 3 quotes ~6,500 uvicorn / ~18,000 granian "
        f"for such an app); GET /-/ text/plain: {', '.join(reference)}",
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average "
        f"{bench.load_before} before the run, {_load_average()} after (other processes share "
        "the CPUs: compare ratios, not absolute rates); one worker; log level warning "
        "(no access log) for both apps; SQLite synchronous=NORMAL (WAL)",
        f"pyocci {_pyocci_version()} from {_source_fingerprint()}",
        f"databases filled before each server started: {how}",
    ]


def _load_average() -> str:
    try:
        return "/".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def _pyocci_version() -> str:
    from pyocci import __version__

    return __version__


def _source_fingerprint() -> str:
    """Where pyocci was imported from and a hash of its sources (the tree changes fast)."""
    import hashlib

    import pyocci

    package = Path(pyocci.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{package.parent.name}/{package.name} (sources sha256 {digest.hexdigest()[:12]})"


if __name__ == "__main__":
    raise SystemExit(main())
