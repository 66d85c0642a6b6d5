"""The scale-out layout in the tests: occi-server processes on two hosts behind HAProxy.

Two loopback addresses stand for two hosts (127.0.0.2 and 127.0.0.3: Linux
routes all of 127.0.0.0/8 to the loopback interface), each running a real
``occi-server`` process; all of them use one PostgreSQL database. HAProxy
(Debian's ``haproxy``, installed the first time) balances requests between
them round robin, sends requests only to servers whose ``/healthz`` answers
200, and retries a request on the other server when its connection failed
or the server closed it without an answer (idempotent methods only).
"""

from __future__ import annotations

import csv
import io
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from debian import command_from
from e2e.server import RunningServer, free_port, occi_server, stop

#: The hosts of the layout, as loopback addresses.
HOSTS = ("127.0.0.2", "127.0.0.3")
#: How often HAProxy asks each server's /healthz; three failures in a row (each allowed
#: `timeout check`, generous: CI runs two busy stages on two cores) take it out.
CHECK_INTERVAL_MS = 500

_CONFIG = """\
global
    maxconn 2000
    # text/occi answers discovery in headers (every category: about 15 KiB), past the
    # default buffer of 16 KiB once a site adds a few templates; docs/deploy.md says so.
    tune.bufsize 65536

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 5s
    retries 2
    option redispatch
    retry-on conn-failure empty-response response-timeout

frontend occi
    bind 127.0.0.1:{port}
    default_backend occi_servers

backend occi_servers
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter {interval}ms fall 3 rise 2
{servers}

listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
"""


@dataclass
class ScaledOut:
    """The balancer (as a server: its address, process and log) and the servers behind it."""

    front: RunningServer
    servers: list[RunningServer]
    stats_url: str

    def states(self) -> dict[str, str]:
        """Each server's state as HAProxy sees it (``UP``, ``DOWN``...), by server name."""
        page = httpx.get(f"{self.stats_url};csv", timeout=5).text.lstrip("# ")
        rows = csv.DictReader(io.StringIO(page))
        return {
            row["svname"]: row["status"].split()[0]
            for row in rows
            if row["pxname"] == "occi_servers" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def wait_until(self, wanted: Mapping[str, str], seconds: float = 20) -> None:
        """Until HAProxy sees the servers named in `wanted` in those states."""
        deadline = time.monotonic() + seconds
        while True:
            states = self.states()
            if all(states.get(name) == state for name, state in wanted.items()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"HAProxy sees {states}, not {dict(wanted)}")
            time.sleep(0.1)


def server_name(index: int) -> str:
    """HAProxy's name for the server on ``HOSTS[index]``."""
    return f"occi{index + 1}"


@contextmanager
def scaled_out(
    workdir: Path,
    database_url: str,
    *,
    config: str | None = None,
    environ: Mapping[str, str] | None = None,
    hosts: Sequence[str] = HOSTS,
) -> Iterator[ScaledOut]:
    """Start an occi-server on each host, all on `database_url`, and HAProxy in front;
    everything is stopped when the block ends."""
    haproxy = command_from("haproxy", "haproxy")
    for host in hosts:
        (workdir / f"host-{host}").mkdir(exist_ok=True)
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                occi_server(
                    workdir / f"host-{host}",
                    database_url=database_url,
                    config=config,
                    environ=environ,
                    host=host,
                )
            )
            for host in hosts
        ]
        port, stats_port = free_port(), free_port()
        lines = [
            f"    server {server_name(index)} {server.url.removeprefix('http://')} check"
            for index, server in enumerate(servers)
        ]
        config_file = workdir / "haproxy.cfg"
        config_file.write_text(
            _CONFIG.format(
                port=port,
                stats_port=stats_port,
                interval=CHECK_INTERVAL_MS,
                servers="\n".join(lines),
            )
        )
        check = subprocess.run(
            [haproxy, "-c", "-f", str(config_file)], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise RuntimeError(f"HAProxy refuses its configuration:\n{check.stdout}{check.stderr}")
        log = workdir / "haproxy.log"
        with log.open("wb") as output:
            # -db: stay in the foreground, so the test owns the process.
            balancer = subprocess.Popen(
                [haproxy, "-db", "-f", str(config_file)], stdout=output, stderr=subprocess.STDOUT
            )
        stack.callback(stop, balancer)
        front = RunningServer(f"http://127.0.0.1:{port}", balancer, log)
        layout = ScaledOut(front, servers, f"http://127.0.0.1:{stats_port}/stats")
        _wait_for_stats(layout, balancer, log)
        layout.wait_until({server_name(index): "UP" for index in range(len(servers))})
        yield layout


def _wait_for_stats(layout: ScaledOut, balancer: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        if balancer.poll() is not None:
            raise RuntimeError(f"HAProxy exited with {balancer.returncode}:\n{log.read_text()}")
        try:
            layout.states()
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
