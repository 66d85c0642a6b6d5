"""What a report says, and the exit status it means."""

from __future__ import annotations

import pytest

from pyocci.check import Outcome, Report, Result


def outcome(name: str, result: Result) -> Outcome:
    return Outcome(name, name.split(".")[0], name, "GFD.223", result)


@pytest.mark.parametrize(
    ("results", "status"),
    [
        ([Result.PASS], 0),
        ([Result.PASS, Result.WARN, Result.NOT_SUPPORTED, Result.SKIPPED], 0),
        ([Result.PASS, Result.FAIL], 1),
        ([Result.ERROR, Result.FAIL], 1),
        ([Result.PASS, Result.ERROR], 2),
    ],
)
def test_exit_status(results: list[Result], status: int) -> None:
    report = Report("http://x", [outcome(f"g.c{i}", r) for i, r in enumerate(results)])
    report.cleanup = outcome("cleanup", Result.PASS)
    assert report.exit_status == status


def test_a_failed_cleanup_is_a_failure() -> None:
    report = Report("http://x", [outcome("g.a", Result.PASS)], outcome("cleanup", Result.FAIL))
    assert report.exit_status == 1


def test_could_not_run_is_2() -> None:
    report = Report("http://x", could_not_run="no answer")
    assert report.exit_status == 2
    assert report.summary_line() == "could not check http://x: no answer"


def test_counts_summary_and_json() -> None:
    report = Report(
        "http://x",
        [outcome("a.one", Result.PASS), outcome("a.two", Result.PASS), outcome("b.x", Result.WARN)],
        outcome("cleanup", Result.PASS),
    )
    assert report.counts()["pass"] == 3 and report.counts()["fail"] == 0
    assert report.summary_line() == "3 checks on http://x: 2 pass, 1 warn; cleanup: pass"
    document = report.as_dict()
    assert document["exit_status"] == 0
    assert [c["name"] for c in document["checks"]] == ["a.one", "a.two", "b.x"]
    assert document["cleanup"]["result"] == "pass"
    assert report.outcome("b.x").result is Result.WARN
    with pytest.raises(KeyError):
        report.outcome("c.none")
