"""``occi-server accounting export``: periods, formats and mistakes, on usage recorded at
instants a controlled clock chose, in a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyocci.server import cli
from pyocci.server.accounting import (
    APEL_HEADER,
    ExportError,
    parse_instant,
    render_apel,
)
from pyocci.service.usage_records import FIELDS, Site, records
from pyocci.store import Database
from pyocci.store.usage import ComputeUsage, Interval, Observation, UsageRepository

pytestmark = pytest.mark.usefixtures("isolated_env")

#: 2026-12-01T00:00:00Z and a day.
DEC_1 = 1_796_083_200.0
DAY = 86_400.0
ACTIVE = Observation("active", cores=2, memory=4.0, disk=20.0, image="os#debian")
STOPPED = Observation("inactive", cores=2, memory=4.0, disk=20.0, image="os#debian")


def parse_apel(text: str) -> list[dict[str, str]]:
    """The records of an APEL cloud message, checking its framing on the way."""
    header, _, body = text.partition("\n")
    assert header == APEL_HEADER
    assert body.endswith("%%\n") or body == ""
    parsed = []
    for block in body.split("%%\n")[:-1]:
        lines = block.splitlines()
        fields = dict(line.split(": ", 1) for line in lines)
        assert [line.split(": ", 1)[0] for line in lines] == list(FIELDS)
        parsed.append(fields)
    return parsed


@pytest.fixture
def database_at(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database the export is configured to read, with a month of usage recorded by two
    processes in turn (the second one after a restart)."""
    monkeypatch.setenv("PYOCCI_DATABASE_URL", database_url)
    monkeypatch.setenv("PYOCCI_ACCOUNTING_SITE_NAME", "EXAMPLE-SITE")
    monkeypatch.setenv("PYOCCI_ACCOUNTING_CLOUD_COMPUTE_SERVICE", "occi.example.org")
    first = Database(database_url)
    first.upgrade()
    usage = UsageRepository(first)
    # "old": created in November, stopped on 2 December, deleted on 3 December.
    usage.observe("t1", "old", ACTIVE, DEC_1 - 10 * DAY, tenant_name="Team One")
    usage.observe("t1", "old", STOPPED, DEC_1 + DAY)
    # "runner": created on 1 December at noon, still running.
    usage.observe("t2", "runner", ACTIVE, DEC_1 + DAY / 2, machine_name="runner.example.org")
    first.dispose()
    second = Database(database_url)  # the server restarted
    try:
        UsageRepository(second).deleted("t1", "old", DEC_1 + 2 * DAY)
    finally:
        second.dispose()
    return database_url


def _export(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    status = cli.main(["accounting", "export", *arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_apel_records_of_a_period(database_at: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _export(capsys, "--since", "2026-12-01", "--until", "2026-12-05T00:00:00Z")
    assert status == 0
    old, runner = parse_apel(out)
    assert old["VMUUID"] == "old"
    assert (old["SiteName"], old["CloudComputeService"]) == ("EXAMPLE-SITE", "occi.example.org")
    assert (old["LocalUserId"], old["LocalGroupId"], old["MachineName"]) == (
        "Team One",
        "t1",
        "old",
    )
    assert old["Status"] == "completed"
    assert (old["StartTime"], old["EndTime"]) == (
        str(int(DEC_1 - 10 * DAY)),
        str(int(DEC_1 + 2 * DAY)),
    )
    # In the period: one day active, then a day stopped until the delete.
    assert (old["WallDuration"], old["CpuDuration"], old["SuspendDuration"]) == (
        "86400",
        "172800",
        "0",
    )
    assert (old["CpuCount"], old["Memory"], old["Disk"], old["ImageId"]) == (
        "2",
        "4096",
        "20",
        "os#debian",
    )
    assert old["CloudType"] == "sim"  # the backend's name
    assert old["GlobalUserName"] == old["FQAN"] == old["PublicIPCount"] == "NULL"
    assert runner["Status"] == "started"
    assert runner["EndTime"] == "NULL"
    assert runner["MachineName"] == "runner.example.org"
    assert runner["WallDuration"] == str(int(3.5 * DAY))


def test_json_records_of_a_period(database_at: str, capsys: pytest.CaptureFixture[str]) -> None:
    since, until = str(DEC_1 + 2 * DAY), "2026-12-04"
    status, out, _ = _export(capsys, "--since", since, "--until", until, "--format", "json")
    assert status == 0
    document = json.loads(out)
    assert (document["since"], document["until"]) == (
        "2026-12-03T00:00:00Z",
        "2026-12-04T00:00:00Z",
    )
    # "old" was deleted exactly when the period began: only the runner is in it.
    [runner] = document["records"]
    assert list(runner) == list(FIELDS)
    assert runner["VMUUID"] == "runner"
    assert runner["WallDuration"] == DAY
    assert runner["EndTime"] is None and runner["FQAN"] is None


def test_a_period_before_any_usage_has_no_records(
    database_at: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = _export(capsys, "--since", "2020-01-01", "--until", "2020-02-01")
    assert (status, out) == (0, APEL_HEADER + "\n")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (("--since", "last week"), "--since: 'last week' is not a time"),
        (("--since", "2026-12-02", "--until", "2026-12-01"), "must be later than --since"),
        (("--since", "1e300"), "is not a time between the years 1970 and 9999"),
        (("--since", "2026-12-01", "--format", "xml"), "invalid choice: 'xml'"),
    ],
)
def test_mistakes_are_one_line_with_status_2(
    capsys: pytest.CaptureFixture[str], arguments: tuple[str, ...], expected: str
) -> None:
    status, out, err = _export(capsys, *arguments)
    assert status == 2
    assert out == ""
    assert expected in err
    assert len(err.strip().splitlines()) == 1


def test_apel_needs_the_site_and_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYOCCI_DATABASE_URL", f"sqlite:///{tmp_path / 'store.sqlite3'}")
    status, _, err = _export(capsys, "--since", "2026-12-01")
    assert status == 2
    assert "[accounting] site_name" in err and "PYOCCI_ACCOUNTING_SITE_NAME" in err
    monkeypatch.setenv("PYOCCI_ACCOUNTING_SITE_NAME", "EXAMPLE-SITE")
    status, _, err = _export(capsys, "--since", "2026-12-01")
    assert "[accounting] cloud_compute_service" in err
    # JSON reports without them.
    status, out, _ = _export(capsys, "--since", "2026-12-01", "--format", "json")
    assert status == 0 and json.loads(out)["records"] == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-12-01", DEC_1),
        ("2026-12-01T00:00:00Z", DEC_1),
        ("2026-12-01T01:00:00+01:00", DEC_1),
        ("2026-12-01 06:00", DEC_1 + 6 * 3600),
        (str(DEC_1), DEC_1),
        ("1796083200", DEC_1),
    ],
)
def test_instants(text: str, seconds: float) -> None:
    assert parse_instant(text, "--since") == seconds


@pytest.mark.parametrize("text", ["", "nan", "inf", "-5", "2026-13-01", "tomorrow"])
def test_what_is_not_an_instant(text: str) -> None:
    with pytest.raises(ExportError, match="--until"):
        parse_instant(text, "--until")


def test_apel_values_stay_on_their_line() -> None:
    life = ComputeUsage(
        tenant_id="t1",
        entity_id="vm",
        tenant_name="Team\nVMUUID: forged",
        machine_name=None,
        created_at=0.0,
        deleted_at=None,
        intervals=(Interval(ACTIVE, 0.0, None),),
    )
    site = Site("EXAMPLE-SITE", "occi.example.org", "sim")
    [record] = parse_apel(render_apel(records([life], 0.0, 10.0, site)))
    assert record["LocalUserId"] == "Team VMUUID: forged"


def test_the_documented_message_is_what_the_export_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/operations.md's example: 2 h running, 30 min suspended, 1 h running, deleted."""
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    monkeypatch.setenv("PYOCCI_DATABASE_URL", url)
    monkeypatch.setenv("PYOCCI_ACCOUNTING_SITE_NAME", "EXAMPLE-SITE")
    monkeypatch.setenv("PYOCCI_ACCOUNTING_CLOUD_COMPUTE_SERVICE", "occi.example.org")
    database = Database(url)
    database.upgrade()
    try:
        usage = UsageRepository(database)
        image = "http://schemas.pyocci.org/sim/os_tpl#debian-12"
        running = Observation("active", cores=2, memory=2.0, disk=20.0, image=image)
        suspended = Observation("suspended", cores=2, memory=2.0, disk=20.0, image=image)
        vm, start = "6f1c2e1a-7d35-4d8e-9a52-2c3b1f0e9d11", DEC_1 + 6 * 3600
        usage.observe("team-a", vm, running, start, machine_name="worker-1.example.org")
        usage.observe("team-a", vm, suspended, start + 7200)
        usage.observe("team-a", vm, running, start + 9000)
        usage.deleted("team-a", vm, start + 12600)
    finally:
        database.dispose()
    status, out, _ = _export(capsys, "--since", "2026-12-01", "--until", "2026-12-02")
    assert status == 0
    documented = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    assert f"```text\n{out}```" in documented


def test_an_unreachable_database_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    monkeypatch.setenv("PYOCCI_DATABASE_URL", "postgresql+psycopg://occi:s3cret@127.0.0.1:1/occi")
    status, out, err = _export(capsys, "--since", "2026-12-01", "--format", "json")
    assert (status, out) == (2, "")
    assert "cannot reach its database" in err and "127.0.0.1:1" in err
    assert "s3cret" not in err
    assert len(err.strip().splitlines()) == 1
