"""Finding what a create answer made, in every form GFD.223 and OCCI 1.1 servers answer."""

from __future__ import annotations

import json

import httpx
import pytest

from pyocci.check import CheckOptions, spec
from pyocci.check.fixtures import created_location
from pyocci.check.run import Run
from pyocci.check.wire import Answer, Wire

ENDPOINT = "http://cloud.example.org:8787"


@pytest.fixture
def run() -> Run:
    # Nothing is sent: created_location reads the answer alone.
    return Run(Wire(ENDPOINT), CheckOptions())


def answer(status: int, headers: list[tuple[str, str]], body: str = "") -> Answer:
    return Answer("POST", "/compute/", status, httpx.Headers(headers), body.encode())


@pytest.mark.parametrize(
    ("status", "headers", "body", "location"),
    [
        (201, [("Location", f"{ENDPOINT}/compute/1")], "", "/compute/1"),
        (201, [("Location", "/compute/1")], "", "/compute/1"),
        (
            200,
            [("Content-Type", spec.OCCI_JSON)],
            json.dumps({"id": "7", "kind": "k"}),
            "/compute/7",
        ),
        (
            200,
            [("Content-Type", spec.OCCI_JSON)],
            json.dumps([f"{ENDPOINT}/compute/8"]),
            "/compute/8",
        ),
        (
            200,
            [("Content-Type", spec.TEXT_PLAIN)],
            'X-OCCI-Attribute: occi.core.id="9"\n',
            "/compute/9",
        ),
        (
            200,
            [("Content-Type", spec.TEXT_OCCI), ("X-OCCI-Attribute", 'occi.core.id="10"')],
            "OK",
            "/compute/10",
        ),
        (200, [("Content-Type", spec.URI_LIST)], f"{ENDPOINT}/compute/11\n", "/compute/11"),
    ],
)
def test_where_the_answer_says(
    run: Run, status: int, headers: list, body: str, location: str
) -> None:
    problems: list[str] = []
    assert created_location(run, answer(status, headers, body), problems, "/compute/") == location
    assert problems == []


def test_a_201_without_location_is_a_problem_even_when_found_otherwise(run: Run) -> None:
    problems: list[str] = []
    found = created_location(
        run, answer(201, [("X-OCCI-Location", f"{ENDPOINT}/compute/2")]), problems, "/compute/"
    )
    assert found == "/compute/2"
    assert problems == ["POST /compute/ -> 201 without a Location header"]


def test_a_location_on_another_host_is_not_taken(run: Run) -> None:
    problems: list[str] = []
    found = created_location(
        run, answer(201, [("Location", "http://elsewhere.example.org/compute/3")]), problems
    )
    assert found is None
    assert problems == [
        "the Location http://elsewhere.example.org/compute/3 is not on the endpoint"
    ]


def test_nothing_to_go_by(run: Run) -> None:
    problems: list[str] = []
    assert (
        created_location(run, answer(200, [("Content-Type", "text/plain")], "OK"), problems) is None
    )
    assert problems == []
