"""``occi discover``: categories whose term repeats are told apart by their scheme."""

from __future__ import annotations

import json
from collections import Counter

from cli.conftest import RunOcci

NETWORK_ACTION = "http://schemas.ogf.org/occi/infrastructure/network/action#"
INTERFACE_ACTION = "http://schemas.ogf.org/occi/infrastructure/networkinterface/action#"


def plain_rows(occi: RunOcci, *arguments: str) -> list[list[str]]:
    result = occi("discover", "-o", "plain", *arguments)
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.stdout.splitlines()]


def test_a_repeated_term_shows_its_scheme(occi: RunOcci) -> None:
    rows = plain_rows(occi)
    # class, term, location, title, scheme: the first four as before.
    assert all(len(row) == 5 for row in rows), rows[:3]
    terms = Counter(row[1] for row in rows)
    assert terms["up"] >= 2 and terms["user_data"] == 2  # the sim's, as every server's
    for row in rows:
        _class, term, _location, _title, scheme = row
        if terms[term] > 1:
            assert scheme.endswith("#"), row
        else:
            assert scheme == "", row
    up_schemes = {row[4] for row in rows if row[1] == "up"}
    assert {NETWORK_ACTION, INTERFACE_ACTION} <= up_schemes
    # Every (term, scheme) shown names one category.
    shown = [(row[1], row[4]) for row in rows]
    assert len(shown) == len(set(shown))


def test_the_table_has_a_scheme_column_only_where_terms_repeat(occi: RunOcci) -> None:
    table = occi("discover", "-o", "table").stdout
    assert "SCHEME" in table.splitlines()[1]
    kinds = occi("discover", "--class", "kind", "-o", "table").stdout
    assert "SCHEME" not in kinds  # no kind term repeats
    rows = plain_rows(occi, "--class", "kind")
    assert all(len(row) == 4 for row in rows)


def test_json_always_has_the_scheme(occi: RunOcci) -> None:
    records = json.loads(occi("discover", "-o", "json").stdout)
    assert all(record["scheme"] and record["id"].startswith(record["scheme"]) for record in records)
