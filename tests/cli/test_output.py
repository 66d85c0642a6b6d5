"""Printing results in every --output style, and merging several sites."""

from __future__ import annotations

import io
import json

import yaml

from pyocci.cli.output import Output, emit, entities_output, merge
from pyocci.client.discovery import model_of
from pyocci.model import Resource
from pyocci.model.infrastructure import COMPUTE


def url_on_h(location: str) -> str:
    """The URL of a location on an endpoint http://h:1."""
    return "http://h:1" + location


def vm(number: int, state: str = "active") -> Resource:
    return Resource(
        kind=COMPUTE.id,
        location=f"/compute/{number}",
        attributes={
            "occi.core.title": f"vm{number}",
            "occi.compute.state": state,
            "occi.compute.cores": 2,
        },
        mixins=["http://example.org/os#debian"],
    )


def printed(output: Output, style: str) -> str:
    stream = io.StringIO()
    emit(output, style, stream)
    return stream.getvalue()


def listing() -> Output:
    return entities_output(model_of([COMPUTE]), [vm(1), vm(2, "inactive")], url_on_h)


def test_json_and_yaml_carry_the_full_records():
    records = json.loads(printed(listing(), "json"))
    assert records[1]["attributes"]["occi.compute.state"] == "inactive"
    assert records[0]["url"] == "http://h:1/compute/1"
    assert yaml.safe_load(printed(listing(), "yaml")) == records


def test_plain_is_tab_separated_rows_without_a_header():
    assert printed(listing(), "plain") == (
        "/compute/1\tcompute\tvm1\tactive\n/compute/2\tcompute\tvm2\tinactive\n"
    )
    only_locations = listing()
    only_locations.plain = ["location"]
    assert printed(only_locations, "plain") == "/compute/1\n/compute/2\n"


def test_uri_list_gives_absolute_urls():
    assert printed(listing(), "uri-list") == "http://h:1/compute/1\nhttp://h:1/compute/2\n"


def test_table_has_headers_and_values():
    table = printed(listing(), "table")
    for text in ("LOCATION", "STATE", "/compute/2", "inactive"):
        assert text in table


def test_detailed_output_lists_attributes_one_per_line():
    detailed = entities_output(model_of([COMPUTE]), [vm(1)], url_on_h, detailed=True)
    lines = printed(detailed, "plain").splitlines()
    assert "occi.compute.cores\t2" in lines
    assert "mixin\thttp://example.org/os#debian" in lines
    assert "http://h:1/compute/1" in printed(detailed, "table")


def test_merged_sites_get_a_site_column():
    merged = merge([("cesnet", listing()), ("ifca", listing())])
    assert [
        row[0] for row in (line.split("\t") for line in printed(merged, "plain").splitlines())
    ] == ["cesnet", "cesnet", "ifca", "ifca"]
    assert {r["site"] for r in json.loads(printed(merged, "json"))} == {"cesnet", "ifca"}
    assert "SITE" in printed(merged, "table")


def test_nothing_to_print_prints_nothing_in_plain_and_an_empty_list_in_json():
    empty = entities_output(model_of([COMPUTE]), [], url_on_h)
    assert printed(empty, "plain") == ""
    assert json.loads(printed(empty, "json")) == []
