"""A short soak of occi-server on SQLite and PostgreSQL: nothing drifts.

CI soaks `SECONDS` per database; the bench (``soak.figures("full")``) five
minutes each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.server import occi_server
from reliability.fuzzer import unexpected_errors
from reliability.soak import SoakReport, soak

SECONDS = 15.0


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_mixed_workload_leaves_no_drift(tmp_path: Path, database_url: str) -> None:
    with occi_server(tmp_path, database_url=database_url) as server:
        report = soak(server, seconds=SECONDS)
    print(report.summary())
    assert report.unexpected == [], report.unexpected[:10]
    assert report.missing == [] and report.extra == [], report.summary()
    assert report.drift() == [], report.summary()
    assert unexpected_errors(server.log) == []
    # The soak did what it says: every kind of request, many times, sampled throughout.
    operations = {answer.split()[0] for answer in report.answers}
    assert operations == {
        "create",
        "read",
        "update",
        "action",
        "list",
        "delete",
        "discovery",
        "bad",
    }
    assert report.created > 100 and report.deleted > 10
    assert len(report.samples) >= SECONDS - 2


def test_growth_past_the_slack_is_drift() -> None:
    # The drift check the test above relies on, shown to fail.
    report = SoakReport(warmup=2.0)
    report.samples = [(0.0, 50 << 20, 20), (2.5, 100 << 20, 30), (14.0, 200 << 20, 30)]
    assert report.drift() == ["RSS grew from 100 to 200 MiB"]
    report.samples[-1] = (14.0, 110 << 20, 60)
    assert report.drift() == ["open fds grew from 30 to 60"]
    report.samples[-1] = (14.0, 110 << 20, 31)
    assert report.drift() == []
