"""What watching requests costs: request ids, metrics and the access log, on against off.

Run: ``python bench/observability.py [--quick]``.

In-process: the ASGI app is called directly (no HTTP, no socket), so that
what is measured is the app's own time per request, where the watching
adds its cost. Two child processes, one per prometheus-client mode (values
in memory, as an app built in-process keeps them; values in per-process
files, as ``occi-server`` with metrics on keeps them), each build, on
SQLite files of their own holding 100 computes, one app per configuration:

* ``off``: ``access_log = false``, metrics off: nothing watches (the baseline);
* ``ids``: the default configuration at ``log_level = "warning"``: request
  ids and the backend call tally, no line written;
* ``access``: the access log written, as JSON lines (to ``/dev/null``);
* ``metrics``: metrics on, no access log;
* ``both``: metrics on and the access log written as JSON lines.

Each is driven with the same requests: GET ``/-/`` (text/plain), GET one
compute (JSON; the kept rendering: the cheapest request, where the
watching weighs most), a partial update of that compute (a SQLite
transaction), and GET ``/compute/`` (100 computes, text/plain and JSON).
Rounds alternate the configurations; each figure is the median time per
request over the rounds, and its ratio to ``off`` measured in the same
process. The machine is shared: read the ratios, not the microseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIGURATIONS = ("off", "ids", "access", "metrics", "both")
MODES = ("memory", "multiprocess")
TOKEN = "bench-metrics-token-0123456789"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
TEXT_PLAIN = "text/plain"
OCCI_JSON = "application/occi+json"
COMPUTES = 100

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Any]


@dataclass(frozen=True)
class Operation:
    """One kind of request."""

    name: str
    method: str
    path: str  # ``{entity}``: the measured compute's path
    accept: str
    body: bytes = b""
    content_type: str | None = None


OPERATIONS = (
    Operation("GET /-/ text", "GET", "/-/", TEXT_PLAIN),
    Operation("GET entity json", "GET", "{entity}", OCCI_JSON),
    Operation(
        "POST update text",
        "POST",
        "{entity}",
        TEXT_PLAIN,
        b'X-OCCI-Attribute: occi.core.title="renamed"\n',
        TEXT_PLAIN,
    ),
    Operation("GET /compute/ text", "GET", "/compute/", TEXT_PLAIN),
    Operation("GET /compute/ json", "GET", "/compute/", OCCI_JSON),
)


def config_text(configuration: str) -> str:
    """The server configuration of one app (the logger level is set per round)."""
    access = configuration in ("ids", "access", "both")
    metrics = configuration in ("metrics", "both")
    lines = [f"access_log = {'true' if access else 'false'}", 'log_format = "json"']
    lines += ["[auth]", 'method = "none"']
    lines += ["[backend_settings]", 'quotas = {computes = "unlimited", cores = "unlimited"}']
    if metrics:
        lines += ["[metrics]", "enabled = true", f'token = "{TOKEN}"', "census_seconds = 0"]
    return "\n".join(lines) + "\n"


class Driver:
    """One app, its lifespan started, called with ASGI requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.entity = ""

    async def start(self) -> None:
        self._inbox: asyncio.Queue[dict] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict] = asyncio.Queue()
        await self._inbox.put({"type": "lifespan.startup"})
        self._lifespan = asyncio.create_task(
            self.app(
                {"type": "lifespan", "asgi": {"version": "3.0"}}, self._inbox.get, self._outbox.put
            )
        )
        message = await self._outbox.get()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the app did not start: {message}")

    async def stop(self) -> None:
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._outbox.get()
        await self._lifespan

    async def request(
        self,
        method: str,
        path: str,
        accept: str,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        headers = [
            (b"host", b"bench"),
            (b"accept", accept.encode()),
            (b"user-agent", b"bench OCCI/1.2"),
        ]
        if content_type:
            headers.append((b"content-type", content_type.encode()))
            headers.append((b"content-length", str(len(body)).encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8787),
        }
        given = False
        never = asyncio.Event()

        async def receive() -> dict:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            await never.wait()
            return {"type": "http.disconnect"}

        status = 0
        response_headers: dict[bytes, bytes] = {}
        chunks: list[bytes] = []

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers.update(message["headers"])
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, response_headers, b"".join(chunks)

    async def fill(self) -> None:
        """Create the computes; the first is the measured entity."""
        for n in range(COMPUTES):
            body = (
                f'Category: compute; scheme="{INFRA}"; class="kind"\n'
                f'X-OCCI-Attribute: occi.core.title="bench-{n}"\n'
            ).encode()
            status, headers, _ = await self.request(
                "POST", "/compute/", TEXT_PLAIN, body, TEXT_PLAIN
            )
            if status != 201:
                raise RuntimeError(f"create answered {status}")
            if not self.entity:
                location = headers[b"location"].decode()
                self.entity = "/" + location.split("://", 1)[1].split("/", 1)[1]

    async def timed(self, operation: Operation, count: int) -> float:
        """Seconds per request, over `count` requests."""
        path = operation.path.format(entity=self.entity)
        started = time.perf_counter()
        for _ in range(count):
            status, _, _ = await self.request(
                operation.method, path, operation.accept, operation.body, operation.content_type
            )
            if status != 200:
                raise RuntimeError(f"{operation.name} answered {status}")
        return (time.perf_counter() - started) / count


def _log_to_nowhere() -> None:
    """pyocci's loggers as occi-server sets them up, writing JSON lines to /dev/null."""
    import logging.config

    from pyocci.server.logs import logging_config

    config = logging_config("json", "info", {"version": 1})
    config["handlers"]["pyocci"]["stream"] = open(os.devnull, "w")  # noqa: SIM115 - kept open
    logging.config.dictConfig(config)


async def _child(rounds: int, requests: int, workdir: Path) -> dict[str, Any]:
    from pyocci.server.app import create_app
    from pyocci.server.config import load_config

    _log_to_nowhere()
    pyocci_logger = logging.getLogger("pyocci")
    drivers: dict[str, Driver] = {}
    for configuration in CONFIGURATIONS:
        directory = workdir / configuration
        directory.mkdir()
        (directory / "server.toml").write_text(config_text(configuration))
        environ = {"PYOCCI_DATABASE_URL": f"sqlite:///{directory / 'occi.db'}"}
        config = load_config(directory / "server.toml", environ=environ)
        driver = Driver(create_app(config))
        await driver.start()
        await driver.fill()
        drivers[configuration] = driver
    times: dict[str, dict[str, list[float]]] = {
        c: {o.name: [] for o in OPERATIONS} for c in CONFIGURATIONS
    }
    # Round 0 warms every app up (kept renderings, caches, the listing's statements) and
    # is not counted.
    for round_number in range(rounds + 1):
        # A different order each round: no configuration always runs first.
        shift = round_number % len(CONFIGURATIONS)
        order = CONFIGURATIONS[shift:] + CONFIGURATIONS[:shift]
        for configuration in order:
            # "ids" is the default configuration at log_level warning: no line written.
            pyocci_logger.setLevel(logging.WARNING if configuration == "ids" else logging.INFO)
            for operation in OPERATIONS:
                count = requests // 10 if operation.path == "/compute/" else requests
                spent = await drivers[configuration].timed(operation, max(count, 1))
                if round_number > 0:
                    times[configuration][operation.name].append(spent)
    for driver in drivers.values():
        await driver.stop()
    return {
        c: {name: statistics.median(values) for name, values in ops.items()}
        for c, ops in times.items()
    }


def run_child(mode: str, rounds: int, requests: int) -> dict[str, Any]:
    """One mode's figures, measured in a fresh process (prometheus-client decides its
    mode when first imported)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory(prefix="pyocci-bench-obs-") as directory:
        env["XDG_CONFIG_HOME"] = str(Path(directory) / "config")
        env["XDG_DATA_HOME"] = str(Path(directory) / "data")
        if mode == "multiprocess":
            files = Path(directory) / "prometheus"
            files.mkdir()
            env["PROMETHEUS_MULTIPROC_DIR"] = str(files)
        command = [sys.executable, __file__, "--child", directory]
        command += ["--rounds", str(rounds), "--requests", str(requests)]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} run failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def report(results: dict[str, dict[str, dict[str, float]]]) -> None:
    header = "mode | operation | off us | " + " | ".join(
        f"{c} us (x off)" for c in CONFIGURATIONS[1:]
    )
    print(header)
    print("|".join("---" for _ in header.split("|")))
    for mode, figures in results.items():
        for operation in OPERATIONS:
            base = figures["off"][operation.name]
            cells = [f"{base * 1e6:.1f}"]
            for configuration in CONFIGURATIONS[1:]:
                spent = figures[configuration][operation.name]
                cells.append(f"{spent * 1e6:.1f} ({spent / base:.2f})")
            print(f"{mode} | {operation.name} | " + " | ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--requests", type=int, default=None, help="requests per operation")
    parser.add_argument("--child", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 15)
    requests = args.requests or (20 if args.quick else 400)
    if args.child:
        workdir = Path(args.child) / "apps"
        workdir.mkdir()
        figures = asyncio.run(_child(rounds, requests, workdir))
        print(json.dumps(figures))
        return
    print(
        f"{rounds} rounds of {requests} requests per operation (listings: a tenth), "
        f"in-process ASGI calls, SQLite, {COMPUTES} computes"
    )
    results = {mode: run_child(mode, rounds, requests) for mode in MODES}
    report(results)


if __name__ == "__main__":
    main()
