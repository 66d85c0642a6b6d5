"""``occi check`` against a server that answers wrongly: it fails, on the right checks.

The server is `broken_server.py`: a real occi-server (sim) in a process of
its own, behind a layer that breaks a few answers (see its docstring). The
checks for those points fail; what the server says it does not offer
(storage links) is "not supported"; the checks the faults do not touch
pass; and the checker still deletes what it made, the storage whose create
answer hid its location included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.server import free_port, stop

BROKEN_SERVER = Path(__file__).with_name("broken_server.py")
OCCI = Path(sys.executable).parent / "occi"

#: Each fault of the server, and the checks that must fail for it.
EXPECTED_FAILURES = {
    "version": {"protocol.version-too-high"},
    "garbage": {"errors.unparsable-text"},
    "location": {"storage.create", "occi11.create"},
    "scheme": {"discovery.json", "schema.discovery"},
    "truncated": {"listings.json", "schema.collection"},
    "action-status": {"actions.compute-stop", "actions.compute-start"},
}
#: A server without storage links: not supported, not failed.
NOT_SUPPORTED = {
    "storagelink.create",
    "storagelink.read",
    "storagelink.renderings",
    "storagelink.delete",
}
#: Checks no fault touches: they must still pass.
UNTOUCHED = {
    "protocol.server-version",
    "discovery.text-plain",
    "discovery.text-occi",
    "discovery.well-known",
    "compute.create",
    "compute.read",
    "network.create",
    "networkinterface.create",
    "schema.entities",
    "mixins.associate",
    "listings.filter-attribute",
    "errors.not-found",
    "errors.wrong-kind",
    "compute.delete",
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The broken server's URL, while it runs."""
    workdir = tmp_path_factory.mktemp("broken-server")
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    environment.update(XDG_CONFIG_HOME=str(workdir / "config"), XDG_DATA_HOME=str(workdir))
    log = workdir / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                str(BROKEN_SERVER),
                "--port",
                str(port),
                "--database-url",
                f"sqlite:///{workdir / 'occi.db'}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process, log)
        yield url
    finally:
        stop(process)


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the broken server exited:\n{log.read_text()}")
        try:
            if httpx.get(url + "/-/", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the broken server did not answer in 30 s:\n{log.read_text()}")


COLLECTIONS = ("/compute/", "/storage/", "/network/", "/storagelink/", "/networkinterface/")


def members(url: str) -> set[str]:
    """Every entity the server holds (the sim comes with networks of its own)."""
    with httpx.Client(base_url=url, headers={"Accept": "text/uri-list"}) as http:
        found = set()
        for collection in COLLECTIONS:
            answer = http.get(collection)
            assert answer.status_code == 200, answer.text
            found |= set(answer.text.split())
        return found


@pytest.fixture(scope="module")
def before(broken: str) -> set[str]:
    """What the server held before the checks ran."""
    return members(broken)


@pytest.fixture(scope="module")
def checked(broken: str, before: set[str]) -> tuple[int, dict]:
    """One ``occi check`` run of the broken server: exit status and report."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OCCI_")}
    done = subprocess.run(
        [str(OCCI), "check", broken, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def results(report: dict) -> dict[str, str]:
    return {check["name"]: check["result"] for check in report["checks"]}


def test_the_broken_server_fails_with_exit_status_1(checked: tuple[int, dict]) -> None:
    status, report = checked
    assert status == 1
    assert report["exit_status"] == 1
    assert report["summary"]["fail"] >= len(set().union(*EXPECTED_FAILURES.values()))


@pytest.mark.parametrize("fault", EXPECTED_FAILURES)
def test_each_fault_fails_its_checks(checked: tuple[int, dict], fault: str) -> None:
    _, report = checked
    found = results(report)
    assert {name: found[name] for name in EXPECTED_FAILURES[fault]} == {
        name: "fail" for name in EXPECTED_FAILURES[fault]
    }


def test_the_details_say_what_is_wrong(checked: tuple[int, dict]) -> None:
    _, report = checked
    details = {check["name"]: check["detail"] for check in report["checks"]}
    assert "OCCI/9.9" in details["protocol.version-too-high"]
    assert "not 501" in details["protocol.version-too-high"]
    assert "201 without a Location header" in details["storage.create"]
    assert "'scheme' is a required property" in details["schema.discovery"]
    assert "not JSON" in details["listings.json"]
    assert "-> 202" in details["actions.compute-stop"]
    assert "-> 200" in details["errors.unparsable-text"]


def test_what_the_server_does_not_offer_is_not_supported(checked: tuple[int, dict]) -> None:
    _, report = checked
    found = results(report)
    assert {name: found[name] for name in NOT_SUPPORTED} == dict.fromkeys(
        NOT_SUPPORTED, "not supported"
    )
    detail = next(c["detail"] for c in report["checks"] if c["name"] == "storagelink.create")
    assert "does not list storagelink" in detail and "501" in detail


def test_checks_no_fault_touches_pass(checked: tuple[int, dict]) -> None:
    _, report = checked
    found = results(report)
    assert {name: found[name] for name in UNTOUCHED} == dict.fromkeys(UNTOUCHED, "pass")


def test_it_cleans_up_even_what_the_server_hid(
    checked: tuple[int, dict], broken: str, before: set[str]
) -> None:
    _, report = checked
    assert report["cleanup"]["result"] == "pass", report["cleanup"]["detail"]
    assert members(broken) == before
