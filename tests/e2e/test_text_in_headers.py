"""Text that HTTP headers carry: ids a URL cannot carry are refused, titles travel.

A PUT to ``/compute/%E2%82%AC`` (an id outside ASCII) once answered 500
after creating the entity, and every text/occi listing then failed. Now
such ids (and user mixin locations) are refused with a 400 before
anything is stored, and attribute text in any script travels in text/occi
headers as UTF-8, both ways, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import httpx
import pytest

from e2e.occiclient import (
    COMPUTE,
    OCCI_JSON,
    RENDERINGS,
    TEXT_OCCI,
    TEXT_PLAIN,
    URI_LIST,
    category_value,
    describe,
    entity_request,
    read_entity,
    read_locations,
)
from e2e.server import Offer

pytestmark = pytest.mark.e2e

#: Ids a URL cannot carry as they are: outside ASCII, percent, comma, space, dots.
REFUSED_IDS = ["%E2%82%AC", "caf%C3%A9", "a%2525b", "a%2Cb", "a%20b", "a;b", "%2E%2E", "%00x"]
TITLE = "Zürich € 東京 ✓"


@pytest.mark.parametrize("raw_id", REFUSED_IDS)
def test_an_id_a_url_cannot_carry_is_refused_and_nothing_is_stored(
    http: httpx.Client, offer: Offer, raw_id: str
) -> None:
    headers, body = entity_request(offer.compute(), TEXT_PLAIN)
    before = read_locations(http.get("/compute/", headers={"Accept": URI_LIST}))
    answer = http.put(f"/compute/{raw_id}", headers=headers, content=body)
    assert answer.status_code == 400, describe(answer)
    assert "id" in answer.headers["x-occi-error"]
    after = read_locations(http.get("/compute/", headers={"Accept": URI_LIST}))
    assert after == before
    for accept in (*RENDERINGS, URI_LIST):
        for path in ("/compute/", "/"):
            listing = http.get(path, headers={"Accept": accept})
            assert listing.status_code == 200, describe(listing)


def test_an_id_chosen_in_a_json_body_is_checked_the_same_way(
    http: httpx.Client, offer: Offer
) -> None:
    headers, body = entity_request(offer.compute(), OCCI_JSON)
    document = json.loads(body)
    document["id"] = "plain-id_1.x~"
    created = http.post("/compute/", headers=headers, content=json.dumps(document))
    assert created.status_code == 201, describe(created)
    document["id"] = "caf\u00e9"
    refused = http.post("/compute/", headers=headers, content=json.dumps(document))
    assert refused.status_code == 400, describe(refused)


@pytest.mark.parametrize("sent_as", RENDERINGS)
def test_a_title_in_any_script_travels_in_every_rendering(
    http: httpx.Client, offer: Offer, sent_as: str
) -> None:
    doc = offer.compute(**{"occi.core.title": TITLE})
    headers, body = entity_request(doc, sent_as)
    # httpx writes str header values as ASCII: send the text/occi fields as UTF-8 bytes.
    encoded = [(name, value.encode("utf-8")) for name, value in headers]
    created = http.post("/compute/", headers=encoded, content=body)
    assert created.status_code == 201, describe(created)
    location = created.headers["location"]
    for accept in RENDERINGS:
        answer = http.get(location, headers={"Accept": accept})
        assert answer.status_code == 200, describe(answer)
        assert read_entity(answer).attributes["occi.core.title"] == TITLE, accept
    listing = http.get("/compute/", headers={"Accept": TEXT_OCCI})
    assert listing.status_code == 200, describe(listing)


def test_a_header_value_that_is_not_utf8_is_a_400(http: httpx.Client) -> None:
    answer = http.post(
        "/compute/",
        headers=[
            ("Content-Type", TEXT_OCCI),
            ("Category", category_value(COMPUTE, "kind")),
            ("X-OCCI-Attribute", b'occi.core.title="caf\xe9"'),
        ],
    )
    assert answer.status_code == 400, describe(answer)
    assert "UTF-8" in answer.headers["x-occi-error"]


@pytest.mark.parametrize("location", ["/caf\u00e9/", "/my stuff/", "/a/../b/", "/x"])
def test_a_user_mixin_location_a_url_cannot_carry_is_refused(
    http: httpx.Client, location: str
) -> None:
    document = {
        "mixins": [{"term": "tagged", "scheme": "http://example.org/t#", "location": location}]
    }
    answer = http.post(
        "/-/", headers={"Content-Type": OCCI_JSON}, content=json.dumps(document).encode("utf-8")
    )
    assert answer.status_code == 400, describe(answer)
    assert "location" in answer.headers["x-occi-error"]
