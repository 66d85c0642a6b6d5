"""Bad attribute and parameter values, swept through the server in every rendering: each is
refused with a 4xx whose message speaks OCCI, never Python (``not float 1.5``,
``not dict {...}``, ``NoneType``).

Every attribute the query interface declares for the kinds, and every action
parameter, gets each bad value in a creation, a partial update, an action
invocation and a listing filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    OCCI_JSON,
    RENDERINGS,
    TEXT_PLAIN,
    EntityDoc,
    action_request,
    describe,
    entity_request,
    path_of,
    read_categories,
)

pytestmark = [pytest.mark.e2e, pytest.mark.backends("sim", "memory")]

#: A Python type name as a message would show it.
PYTHON_TYPE_NAMES = re.compile(r"\b(dict|float|int|str|NoneType|list|bool|tuple|bytes)\b")

#: Values wrong for most attributes (each is right for some: those answers may be 2xx).
BAD_VALUES: tuple[Any, ...] = (True, 1.5, -7, "abc", "", "1.5", [1, "x"], {"a": 1}, 1e300)
#: Kinds whose attributes are swept (the links need ends, they come with a compute).
SWEPT_KINDS = ("compute", "storage", "network", "securitygroup")


@pytest.fixture(scope="module")
def categories(http: httpx.Client) -> dict[str, dict[str, Any]]:
    return read_categories(http.get("/-/", headers={"Accept": OCCI_JSON}))


@pytest.fixture(scope="module")
def compute(http: httpx.Client) -> Iterator[str]:
    headers, body = entity_request(EntityDoc(kind=COMPUTE), OCCI_JSON)
    created = http.post("/compute/", headers=headers, content=body)
    assert created.status_code in (200, 201), describe(created)
    location = path_of(created.headers["location"])
    yield location
    http.delete(location)


class Answers:
    """Every refusal seen: the request it answered and its message."""

    def __init__(self) -> None:
        self.refusals = 0
        self.wrong: list[str] = []

    def check(self, what: str, response: httpx.Response) -> None:
        if response.status_code >= 500:
            self.wrong.append(f"{what}: {describe(response)}")
        elif response.status_code >= 400:
            self.refusals += 1
            message = response.text + response.headers.get("x-occi-error", "")
            if PYTHON_TYPE_NAMES.search(message):
                self.wrong.append(f"{what}: {message.strip()}")


def created_elsewhere(http: httpx.Client, response: httpx.Response) -> None:
    """Delete what a value that was right after all created."""
    if response.status_code in (200, 201) and "location" in response.headers:
        http.delete(path_of(response.headers["location"]))


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_bad_attribute_values_are_refused_in_occi_words(
    http: httpx.Client, categories: dict[str, dict[str, Any]], compute: str, rendering: str
) -> None:
    answers = Answers()
    kinds = [c for c in categories.values() if c["class"] == "kind" and c["term"] in SWEPT_KINDS]
    assert kinds, "no kinds to sweep"
    for kind in kinds:
        for name in kind["attributes"]:
            for value in BAD_VALUES:
                doc = EntityDoc(kind=kind["id"], attributes={name: value})
                headers, body = entity_request(doc, rendering)
                headers.append(("Accept", rendering))
                response = http.post(kind["location"], headers=headers, content=body)
                answers.check(f"create {kind['term']} {name}={value!r}", response)
                created_elsewhere(http, response)
    compute_kind = categories[COMPUTE]
    for name in compute_kind["attributes"]:
        for value in BAD_VALUES:
            headers, body = entity_request(EntityDoc(attributes={name: value}), rendering)
            headers.append(("Accept", rendering))
            response = http.post(compute, headers=headers, content=body)
            answers.check(f"update {name}={value!r}", response)
    assert not answers.wrong, "\n".join(answers.wrong[:20])
    assert answers.refusals > 100  # the sweep did sweep


@pytest.mark.parametrize("rendering", RENDERINGS)
def test_bad_action_parameters_are_refused_in_occi_words(
    http: httpx.Client, categories: dict[str, dict[str, Any]], compute: str, rendering: str
) -> None:
    answers = Answers()
    actions = [c for c in categories.values() if c["class"] == "action"]
    compute_actions = set(categories[COMPUTE]["actions"])
    for action in actions:
        if action["id"] not in compute_actions:
            continue
        for name in [*action.get("attributes", {}), "org.example.unknown"]:
            for value in BAD_VALUES:
                headers, body = action_request(action["id"], {name: value}, rendering)
                headers.append(("Accept", rendering))
                response = http.post(
                    compute, params={"action": action["term"]}, headers=headers, content=body
                )
                answers.check(f"{action['term']} {name}={value!r}", response)
    assert not answers.wrong, "\n".join(answers.wrong[:20])
    assert answers.refusals > 20


def test_bad_filter_values_are_refused_in_occi_words(http: httpx.Client) -> None:
    answers = Answers()
    for value in ("1.5", '"abc"', "true", "1e999", '"[1]"'):
        response = http.get(
            "/compute/",
            headers={"Accept": TEXT_PLAIN, "X-OCCI-Attribute": f"occi.compute.cores={value}"},
        )
        answers.check(f"filter occi.compute.cores={value}", response)
    assert not answers.wrong, "\n".join(answers.wrong)


@pytest.mark.backends("sim")  # security groups are checked by the backend that serves them
def test_bad_security_group_rules_are_refused_in_occi_words(
    http: httpx.Client, categories: dict[str, dict[str, Any]]
) -> None:
    (group,) = [c for c in categories.values() if c["term"] == "securitygroup"]
    answers = Answers()
    for rules in ([1], ["ssh"], [None], [{"type": 1}], [{"type": "inbound", "port": [22]}]):
        doc = EntityDoc(kind=group["id"], attributes={"occi.securitygroup.rules": rules})
        headers, body = entity_request(doc, OCCI_JSON)
        response = http.post(group["location"], headers=headers, content=body)
        assert response.status_code == 400, describe(response)
        answers.check(f"rules {rules!r}", response)
    assert not answers.wrong, "\n".join(answers.wrong)
