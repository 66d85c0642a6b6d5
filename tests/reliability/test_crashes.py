"""kill -9 of occi-server during concurrent creates loses no acknowledged create.

SQLite and PostgreSQL, one worker and two (the whole server killed: the
supervisor and its workers). CI kills each combination `KILLS` times; the
bench (``crashes.figures("full")``) five times.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from e2e.server import occi_server
from reliability.crashes import CrashReport, check_acknowledged, crash_run

KILLS = 2


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_acknowledged_create_survives_kill_9(
    tmp_path: Path, database_url: str, workers: int
) -> None:
    report = crash_run(tmp_path, database_url=database_url, workers=workers, kills=KILLS)
    print(report.summary())
    assert report.kills == KILLS
    # Creates were under way at every kill, and the whole server went down each time.
    assert len(report.per_kill) == KILLS and min(report.per_kill) >= 20, report.summary()
    assert min(report.processes_killed) >= 1 + (workers if workers > 1 else 0)
    assert report.lost == [], report.summary()
    assert report.unreadable == [], report.summary()


def test_a_create_the_server_does_not_have_is_reported_lost(tmp_path: Path) -> None:
    # The check the test above relies on, shown to fail when something is missing.
    with occi_server(tmp_path) as server:
        with server.client() as client:
            created = client.post(
                "/compute/",
                json={"kind": "http://schemas.ogf.org/occi/infrastructure#compute"},
                headers={"Content-Type": "application/occi+json"},
            )
        assert created.status_code == 201
        there = "/compute/" + created.headers["location"].rsplit("/", 1)[1]
        report = CrashReport(acknowledged=[there, "/compute/never-created"])
        check_acknowledged(server, report, random.Random(1), reads=2)
    assert report.lost == ["/compute/never-created"]
    assert report.unreadable == ["/compute/never-created"]
