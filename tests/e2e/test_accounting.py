"""Accounting end to end: computes created, stopped, deleted and suspended over HTTP on a
real ``occi-server``, across a restart of it, then ``occi-server accounting export`` run as
a command of its own, its APEL and JSON output parsed.

Durations come from the wall clock here (two processes cannot share a fake one), so each
is checked against bounds the test measured around the requests that began and ended it.
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    DEBIAN,
    MEDIUM,
    OCCI_JSON,
    SMALL,
    UBUNTU,
    EntityDoc,
    Occi,
    describe,
)
from e2e.server import StartServer

pytestmark = pytest.mark.e2e

CONFIG = """
[accounting]
site_name = "E2E-SITE"
cloud_compute_service = "occi.e2e.example.org"
"""
#: Long enough to tell apart from rounding (durations are whole seconds).
PAUSE = 2.0
#: Whole-second rounding of each end of a duration.
SLACK = 1


def ok(response: httpx.Response, *statuses: int) -> httpx.Response:
    assert response.status_code in (statuses or (200,)), describe(response)
    return response


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'occi.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url.rsplit("/", 1)[1])


def export(workdir: Path, database_url: str, *arguments: str) -> str:
    """Run ``occi-server accounting export`` with the servers' configuration file; its
    standard output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    env["XDG_DATA_HOME"] = str(workdir / "data")
    # As an operator would: the servers' file, their database named before the command.
    command = [sys.executable, "-m", "pyocci.server.cli", "--database-url", database_url]
    command += ["accounting", "export", "--config", str(workdir / "server.toml")]
    done = subprocess.run(
        [*command, *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def parse_apel(text: str) -> dict[str, dict[str, str]]:
    """The records of an APEL cloud message (v0.4), by VMUUID."""
    header, _, body = text.partition("\n")
    assert header == "APEL-cloud-message: v0.4"
    assert body == "" or body.endswith("%%\n")
    found = {}
    for block in body.split("%%\n")[:-1]:
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        assert len(fields) == 26, block
        found[fields["VMUUID"]] = fields
    return found


def between(value: str | float, low: float, high: float) -> bool:
    """Whether a whole-second duration or instant is within measured bounds."""
    return math.floor(low) - SLACK <= float(value) <= math.ceil(high) + SLACK


def test_usage_across_a_restart_is_exported_as_apel_and_json(
    start_server: StartServer, tmp_path: Path, database_url: str
) -> None:
    workdir = tmp_path / "server"
    workdir.mkdir()
    begin = time.time()
    with (
        start_server(workdir=workdir, database_url=database_url, config=CONFIG) as server,
        server.client() as http,
    ):
        occi = Occi(http, OCCI_JSON)
        gone = occi.create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN, SMALL]))
        kept = occi.create("/compute/", EntityDoc(kind=COMPUTE, mixins=[UBUNTU, MEDIUM]))
        created = time.time()
        time.sleep(PAUSE)
        before_stop = time.time()
        ok(occi.act(gone, COMPUTE_ACTION + "stop", method="poweroff"))
        after_stop = time.time()
        ok(occi.delete(gone))
        deleted = time.time()
    # A new server on the same database: the kept compute ran on while none served.
    with (
        start_server(workdir=workdir, database_url=database_url, config=CONFIG) as server,
        server.client() as http,
    ):
        occi = Occi(http, OCCI_JSON)
        before_suspend = time.time()
        ok(occi.act(kept, COMPUTE_ACTION + "suspend"))
        after_suspend = time.time()
    time.sleep(PAUSE)
    until = time.time()

    period = ("--since", f"{begin - 60:.3f}", "--until", f"{until:.3f}")
    records = parse_apel(export(workdir, database_url, *period, "--format", "apel"))
    gone_id, kept_id = gone.rsplit("/", 1)[1], kept.rsplit("/", 1)[1]
    assert set(records) == {gone_id, kept_id}

    first = records[gone_id]
    assert (first["SiteName"], first["CloudComputeService"]) == (
        "E2E-SITE",
        "occi.e2e.example.org",
    )
    assert (first["LocalGroupId"], first["CloudType"]) == ("default", "sim")
    assert first["Status"] == "completed"
    assert between(first["StartTime"], begin, created)
    assert between(first["EndTime"], after_stop, deleted)
    assert between(first["WallDuration"], before_stop - created, after_stop - begin)
    assert int(first["WallDuration"]) >= PAUSE - SLACK
    assert first["SuspendDuration"] == "0"
    assert (first["CpuCount"], first["Memory"], first["Disk"]) == ("1", "1024", "10")
    assert first["CpuDuration"] == first["WallDuration"]  # one core
    assert first["ImageId"] == DEBIAN

    second = records[kept_id]
    assert second["Status"] == "suspended"
    assert second["EndTime"] == "NULL"
    # Running from its creation to the suspend, the restart included.
    assert between(second["WallDuration"], before_suspend - created, after_suspend - begin)
    assert between(second["SuspendDuration"], until - after_suspend, until - before_suspend)
    assert int(second["SuspendDuration"]) >= PAUSE - SLACK
    assert (second["CpuCount"], second["Memory"], second["ImageId"]) == ("2", "2048", UBUNTU)
    assert int(second["CpuDuration"]) == pytest.approx(2 * int(second["WallDuration"]), abs=1)

    document = json.loads(export(workdir, database_url, *period, "--format", "json"))
    by_id = {record["VMUUID"]: record for record in document["records"]}
    assert set(by_id) == {gone_id, kept_id}
    for vm_id, apel in records.items():
        for name in ("Status", "StartTime", "WallDuration", "SuspendDuration", "CpuCount"):
            assert str(by_id[vm_id][name]) == apel[name], name
    assert by_id[gone_id]["EndTime"] == int(first["EndTime"])
    assert by_id[kept_id]["EndTime"] is None

    # A period after the delete: the deleted compute is not in it.
    later = ("--since", f"{deleted + 1:.3f}", "--until", f"{until:.3f}")
    assert set(parse_apel(export(workdir, database_url, *later))) == {kept_id}


def test_a_server_with_accounting_off_records_nothing(
    start_server: StartServer, tmp_path: Path, database_url: str
) -> None:
    workdir = tmp_path / "server"
    workdir.mkdir()
    begin = time.time()
    config = CONFIG.replace("[accounting]\n", "[accounting]\nenabled = false\n")
    with (
        start_server(workdir=workdir, database_url=database_url, config=config) as server,
        server.client() as http,
    ):
        occi = Occi(http, OCCI_JSON)
        compute = occi.create("/compute/", EntityDoc(kind=COMPUTE, mixins=[DEBIAN, SMALL]))
        ok(occi.act(compute, COMPUTE_ACTION + "stop", method="poweroff"))
    period = ("--since", f"{begin - 60:.3f}")
    assert parse_apel(export(workdir, database_url, *period)) == {}
