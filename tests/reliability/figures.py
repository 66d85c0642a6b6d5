"""The rows ``bench/reliability.py`` prints: what was measured, against what target."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure of a reliability run.

    `value` and `target` are shown as written (``"0 of 100,000"``, ``"< 50 ms"``);
    `met` says whether the value meets the target.
    """

    name: str
    value: str
    target: str
    met: bool


def table(figures: list[Figure]) -> str:
    """The figures as a Markdown table, one row each."""
    rows = ["| figure | value | target | met |", "|---|---|---|---|"]
    rows += [f"| {f.name} | {f.value} | {f.target} | {'yes' if f.met else 'NO'} |" for f in figures]
    return "\n".join(rows)
