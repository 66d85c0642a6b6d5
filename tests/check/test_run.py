"""The run's machinery: verdicts to outcomes, retries, waiting, cleanup, could-not-run.

Against a small scripted HTTP server on loopback (a real server, real HTTP):
what it answers is set by each test, and it remembers what it was asked.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pyocci.check import CheckOptions, Result, run_checks, spec
from pyocci.check.outcome import Failed, NotSupported, Skipped, Warned
from pyocci.check.registry import Check
from pyocci.check.run import Run
from pyocci.check.wire import UnreachableError, Wire

DISCOVERY = (
    'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"; '
    'location="/compute/"\n'
)


@dataclass
class Script:
    """What the server answers, and what it was asked."""

    discovery_status: int = 200
    #: Paths deleted so far (a GET of one is 404).
    deleted: set[str] = field(default_factory=set)
    #: Paths whose DELETE fails with 500.
    undeletable: set[str] = field(default_factory=set)
    #: How many more times POST /busy answers 409 with Retry-After.
    busy: int = 0
    #: The states GET /vm answers, one per request (the last one sticks).
    states: list[str] = field(default_factory=lambda: ["active"])
    asked: list[str] = field(default_factory=list)


class ScriptedServer:
    def __init__(self, script: Script) -> None:
        script_ = script

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _send(self, status: int, body: str = "", headers: dict | None = None) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Server", "scripted OCCI/1.2")
                for name, value in {"Content-Type": "text/plain", **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                script_.asked.append(f"{self.command} {self.path}")
                path = self.path.split("?")[0]
                if path == "/-/":
                    challenge = (
                        {"WWW-Authenticate": "Basic"} if script_.discovery_status == 401 else {}
                    )
                    self._send(script_.discovery_status, DISCOVERY, challenge)
                elif self.command == "DELETE":
                    if path in script_.undeletable:
                        self._send(500, "cannot")
                    else:
                        script_.deleted.add(path)
                        self._send(200)
                elif path == "/busy":
                    if script_.busy:
                        script_.busy -= 1
                        self._send(409, "busy", {"Retry-After": "1"})
                    else:
                        self._send(200, "done")
                elif path == "/vm":
                    state = script_.states.pop(0) if len(script_.states) > 1 else script_.states[0]
                    document = {
                        "kind": spec.COMPUTE,
                        "id": "vm",
                        "attributes": {"occi.compute.state": state},
                    }
                    self._send(200, json.dumps(document), {"Content-Type": spec.OCCI_JSON})
                elif path in script_.deleted:
                    self._send(404, "gone")
                else:
                    self._send(200, "here")

            do_GET = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815 - http.server's naming

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def server(script: Script) -> Iterator[ScriptedServer]:
    with ScriptedServer(script) as running:
        yield running


def checks(*functions) -> list[Check]:
    return [Check(f"test.{f.__name__}", f.__name__, "GFD.223", f) for f in functions]


def test_verdicts_become_outcomes_with_their_exchanges(server: ScriptedServer) -> None:
    def passes(run: Run) -> str:
        run.wire.request("GET", "-/", accept=spec.TEXT_PLAIN)
        return "fine"

    def fails(run: Run) -> None:
        raise Failed("broken")

    def warns(run: Run) -> None:
        raise Warned("should")

    def unsupported(run: Run) -> None:
        raise NotSupported("absent")

    def skipped(run: Run) -> None:
        raise Skipped("needs more")

    def crashes(run: Run) -> None:
        raise RuntimeError("a bug")

    seen = []
    report = run_checks(
        server.url,
        checks=checks(passes, fails, warns, unsupported, skipped, crashes),
        progress=seen.append,
    )
    results = {o.name: (o.result, o.detail) for o in report.outcomes}
    assert results == {
        "test.passes": (Result.PASS, "fine"),
        "test.fails": (Result.FAIL, "broken"),
        "test.warns": (Result.WARN, "should"),
        "test.unsupported": (Result.NOT_SUPPORTED, "absent"),
        "test.skipped": (Result.SKIPPED, "needs more"),
        "test.crashes": (Result.ERROR, "the check itself failed (RuntimeError: a bug)"),
    }
    assert [e.line() for e in report.outcome("test.passes").exchanges] == ["GET /-/ -> 200"]
    assert [o.name for o in seen] == [*results, "cleanup"]
    assert report.exit_status == 1


def test_only_and_skip_choose_among_the_checks(server: ScriptedServer) -> None:
    def one(run: Run) -> None: ...

    def two(run: Run) -> None: ...

    report = run_checks(server.url, checks=checks(one, two), skip=["test.two"])
    assert [o.name for o in report.outcomes] == ["test.one"]


def test_cleanup_deletes_what_checks_made_even_when_they_fail(
    server: ScriptedServer, script: Script
) -> None:
    def makes_then_fails(run: Run) -> None:
        run.remember("/compute/1", "compute")
        run.remember("/compute/2", "compute")
        raise Failed("after making two")

    report = run_checks(server.url, checks=checks(makes_then_fails))
    assert script.deleted == {"/compute/1", "/compute/2"}
    # Newest first, each confirmed gone by a GET.
    deletes = [a for a in script.asked if a.startswith("DELETE")]
    assert deletes == ["DELETE /compute/2", "DELETE /compute/1"]
    assert report.cleanup is not None and report.cleanup.result is Result.PASS
    assert report.cleanup.detail == "deleted 2 created by the checks"


def test_what_cannot_be_deleted_is_named_and_fails(server: ScriptedServer, script: Script) -> None:
    script.undeletable.add("/compute/9")

    def makes(run: Run) -> None:
        run.remember("/compute/9", "compute")

    report = run_checks(server.url, checks=checks(makes))
    assert report.cleanup is not None and report.cleanup.result is Result.FAIL
    assert "compute /compute/9: DELETE /compute/9 -> 500" in report.cleanup.detail
    assert report.exit_status == 1


def test_an_interrupted_run_still_cleans_up(server: ScriptedServer, script: Script) -> None:
    def interrupted(run: Run) -> None:
        run.remember("/compute/3", "compute")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_checks(server.url, checks=checks(interrupted))
    assert script.deleted == {"/compute/3"}


def test_retry_after_is_honoured_without_waiting_here(
    server: ScriptedServer, script: Script
) -> None:
    script.busy = 2
    slept: list[float] = []

    def retries(run: Run) -> str:
        return str(run.send("POST", "/busy").status)

    report = run_checks(server.url, checks=checks(retries), sleep=slept.append)
    assert report.outcome("test.retries").detail == "200"
    assert slept == [1.0, 1.0]


def test_a_retry_after_past_the_wait_timeout_is_not_waited_for(
    server: ScriptedServer, script: Script
) -> None:
    script.busy = 1

    def retries(run: Run) -> str:
        return str(run.send("POST", "/busy").status)

    slept: list[float] = []
    report = run_checks(
        server.url,
        checks=checks(retries),
        options=CheckOptions(wait_timeout=0.5),
        sleep=slept.append,
    )
    assert report.outcome("test.retries").detail == "409"
    assert slept == []


class FakeClock:
    """Time that passes only when the run sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def test_waiting_reads_until_the_state_comes(server: ScriptedServer, script: Script) -> None:
    script.states = ["waiting", "waiting", "active"]
    clock = FakeClock()
    run = Run(Wire(server.url), CheckOptions(), sleep=clock.sleep, clock=clock)
    view = run.wait_for("/vm", spec.COMPUTE)
    assert view.attribute("occi.compute.state") == "active"
    assert clock.slept == [0.25, 0.5]  # backing off


def test_waiting_gives_up_with_the_last_state(server: ScriptedServer, script: Script) -> None:
    script.states = ["waiting"]
    clock = FakeClock()
    run = Run(Wire(server.url), CheckOptions(wait_timeout=20), sleep=clock.sleep, clock=clock)
    with pytest.raises(Failed, match=r"occi\.compute\.state is 'waiting', not active"):
        run.wait_for("/vm", spec.COMPUTE, {"active"})
    # It polled, backing off, until the timeout, and no longer.
    assert len(clock.slept) >= 3 and clock.slept[:2] == [0.25, 0.5]
    assert 15 <= sum(clock.slept) <= 20


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (401, "refused the credentials"),
        (404, "no OCCI query interface"),
        (501, "does not serve OCCI 1.2 clients"),
    ],
)
def test_a_server_that_cannot_be_checked(
    server: ScriptedServer, script: Script, status: int, said: str
) -> None:
    script.discovery_status = status

    def never(run: Run) -> None:
        raise AssertionError("no check runs")

    report = run_checks(server.url, checks=checks(never))
    assert report.could_not_run is not None and said in report.could_not_run
    assert report.outcomes == [] and report.exit_status == 2


def test_an_endpoint_that_does_not_answer() -> None:
    with ScriptedServer(Script()) as gone:
        url = gone.url
    report = run_checks(url, checks=[])
    assert report.could_not_run is not None and "no answer" in report.could_not_run
    assert report.exit_status == 2


def test_a_dropped_connection_during_a_check_is_an_error(server: ScriptedServer) -> None:
    def drops(run: Run) -> None:
        raise UnreachableError("GET /x: connection reset")

    report = run_checks(server.url, checks=checks(drops))
    assert report.outcome("test.drops").result is Result.ERROR
    assert report.exit_status == 2
