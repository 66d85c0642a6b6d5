"""docs/cli.md lists the checks as they are: every check, its title and its specification."""

from __future__ import annotations

import re
from pathlib import Path

from pyocci.check import all_checks

CLI_DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
ROW = re.compile(r"^\| `([a-z0-9.-]+)` \| (.+) \| (.+) \|$")


def documented() -> list[tuple[str, str, str]]:
    text = CLI_DOC.read_text()
    table = text.split("### The checks", 1)[1].split("\n### ", 1)[0]
    return [match.groups() for line in table.splitlines() if (match := ROW.match(line))]


def test_the_check_table_is_the_registry_in_run_order() -> None:
    assert documented() == [(c.name, c.title, c.spec) for c in all_checks()]
