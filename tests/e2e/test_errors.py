"""Every error status for its cause (GFD.223 §3.10), rendered for the client.

Each error must come with ``X-OCCI-Error``, in the client's media type
(JSON ``{"status", "error"}``, a text/plain body saying the same), with a
message that names what to fix, and never as a 500 or a traceback. The
server runs with small limits so that they are cheap to reach.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from e2e.occiclient import (
    COMPUTE,
    COMPUTE_ACTION,
    DEBIAN,
    INFRA,
    IPNETWORK,
    NETWORK,
    OCCI_JSON,
    RENDERINGS,
    STORAGE,
    TEXT_OCCI,
    TEXT_PLAIN,
    URI_LIST,
    EntityDoc,
    Occi,
    describe,
    entity_request,
    media_type_of,
)
from e2e.server import Offer, RunningServer, StartServer
from e2e.waiting import wait_states

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.backends("sim", "ec2", "openstack", "memory", "opennebula"),
]

MAX_BODY = 4096
MAX_HEADERS = 30
MAX_HEADER_BYTES = 8192
MAX_PAGE = 5
CONFIG = f"""
[limits]
max_body_bytes = {MAX_BODY}
max_header_count = {MAX_HEADERS}
max_header_bytes = {MAX_HEADER_BYTES}
max_page_size = {MAX_PAGE}
"""


@pytest.fixture(scope="module")
def server(
    start_server: StartServer, backend_config: Callable[..., str | None]
) -> Iterator[RunningServer]:
    with start_server(config=backend_config(CONFIG)) as running:
        yield running


@dataclass
class Entities:
    running: str
    stopped: str
    deleted: str
    #: An os_tpl of the backend, for computes that are valid but for one thing.
    image: str


@pytest.fixture(scope="module")
def entities(http: httpx.Client, offer: Offer) -> Entities:
    occi = Occi(http, TEXT_PLAIN)
    running, stopped, deleted = (occi.create("/compute/", offer.compute()) for _ in range(3))
    wait_states(http, [running, stopped], "active")
    assert occi.act(stopped, COMPUTE_ACTION + "stop").status_code == 200
    wait_states(http, [stopped], "inactive")
    assert occi.delete(deleted).status_code in (200, 204)
    return Entities(running, stopped, deleted, offer.image)


def assert_error(
    response: httpx.Response, status: int, accept: str | None, mentions: tuple[str, ...] = ()
) -> None:
    """The answer is the error `status`, rendered for a client that accepts `accept`."""
    assert response.status_code == status, describe(response)
    assert "Traceback" not in response.text
    assert "OCCI/1.2" in response.headers.get("server", ""), "GFD.223: Server MUST name OCCI"
    message = response.headers.get("x-occi-error", "")
    assert message.strip(), f"no X-OCCI-Error: {describe(response)}"
    for word in mentions:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"
    media_type = media_type_of(response)
    if accept == OCCI_JSON:
        assert media_type == OCCI_JSON, describe(response)
        document = response.json()
        assert document.get("status") == status, document
        assert isinstance(document.get("error"), str) and document["error"].strip(), document
    elif accept == TEXT_OCCI:
        assert media_type == TEXT_OCCI, describe(response)
    else:
        assert media_type == TEXT_PLAIN, describe(response)
        assert response.text.strip(), "a text/plain error has a body"
        assert " ".join(message.split()) in " ".join(response.text.split())


def create(
    http: httpx.Client, accept: str, doc: EntityDoc, collection: str = "/compute/"
) -> httpx.Response:
    """POST `doc` in the client's own rendering (JSON for JSON clients, text/plain else)."""
    content_type = accept if accept in RENDERINGS else TEXT_PLAIN
    headers, body = entity_request(doc, content_type)
    return http.post(collection, headers=[("Accept", accept), *headers], content=body)


Case = Callable[[httpx.Client, str, Entities], httpx.Response]

UNPARSABLE = {
    TEXT_PLAIN: (
        [("Content-Type", TEXT_PLAIN)],
        b'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
        b'class="kind"\nX-OCCI-Attribute: occi.core.title="never closed\n',
    ),
    TEXT_OCCI: ([("Content-Type", TEXT_OCCI), ("Category", 'compute; scheme="never closed')], b""),
    OCCI_JSON: ([("Content-Type", OCCI_JSON)], b'{"kind": "http://schemas.ogf.org/occi/infra'),
}


def unparsable(media_type: str) -> Case:
    def send(http: httpx.Client, accept: str, _: Entities) -> httpx.Response:
        headers, body = UNPARSABLE[media_type]
        return http.post("/compute/", headers=[("Accept", accept), *headers], content=body)

    return send


def compute_with(mixins: list[str], **attributes: object) -> EntityDoc:
    return EntityDoc(kind=COMPUTE, mixins=mixins, attributes=dict(attributes))


#: (id, status, the case, words the message must contain)
CASES: list[tuple[str, int, Case, tuple[str, ...]]] = [
    ("unparsable-text-plain", 400, unparsable(TEXT_PLAIN), ()),
    ("unparsable-text-occi", 400, unparsable(TEXT_OCCI), ()),
    ("unparsable-json", 400, unparsable(OCCI_JSON), ()),
    (
        "unknown-kind",
        400,
        lambda h, a, e: create(h, a, EntityDoc(kind=INFRA + "badterm", mixins=[e.image])),
        ("badterm",),
    ),
    (
        "wrong-kind-for-collection",
        400,
        lambda h, a, _: create(
            h, a, EntityDoc(kind=STORAGE, attributes={"occi.storage.size": 1.0})
        ),
        ("compute",),
    ),
    (
        "inapplicable-mixin",
        400,
        lambda h, a, e: create(h, a, compute_with([e.image, IPNETWORK])),
        ("ipnetwork",),
    ),
    (
        "unknown-mixin",
        400,
        lambda h, a, e: create(h, a, compute_with([e.image, "http://example.org/nope#nothing"])),
        ("http://example.org/nope#nothing",),
    ),
    (
        "undeclared-attribute",
        400,
        lambda h, a, e: create(h, a, compute_with([e.image], **{"occi.compute.bogus": 1})),
        ("occi.compute.bogus",),
    ),
    (
        "wrongly-typed-attribute",
        400,
        lambda h, a, e: create(h, a, compute_with([e.image], **{"occi.compute.cores": "many"})),
        ("occi.compute.cores",),
    ),
    (
        "immutable-attribute-update",
        400,
        lambda h, a, e: h.post(
            e.running,
            headers={"Accept": a, "Content-Type": TEXT_PLAIN},
            content=b'X-OCCI-Attribute: occi.compute.state="suspended"\n',
        ),
        ("occi.compute.state",),
    ),
    (
        "unknown-action",
        400,
        lambda h, a, e: h.post(f"{e.running}?action=fly", headers={"Accept": a}),
        ("fly",),
    ),
    (
        "action-of-another-kind",
        400,
        lambda h, a, e: Occi(h, TEXT_PLAIN, a).act(e.running, INFRA[:-1] + "/network/action#up"),
        (),
    ),
    (
        "paging-needs-both",
        400,
        lambda h, a, _: h.get("/compute/?page=1", headers={"Accept": a}),
        ("number",),
    ),
    (
        "paging-not-a-number",
        400,
        lambda h, a, _: h.get("/compute/?page=one&number=2", headers={"Accept": a}),
        ("page",),
    ),
    (
        "unknown-path",
        404,
        lambda h, a, _: h.get("/nothing/here", headers={"Accept": a}),
        ("/nothing/here",),
    ),
    (
        "unknown-entity",
        404,
        lambda h, a, _: h.get("/compute/no-such-vm", headers={"Accept": a}),
        ("/compute/no-such-vm",),
    ),
    ("deleted-entity", 404, lambda h, a, e: h.get(e.deleted, headers={"Accept": a}), ()),
    (
        "action-on-deleted-entity",
        404,
        lambda h, a, e: Occi(h, TEXT_PLAIN, a).act(e.deleted, COMPUTE_ACTION + "start"),
        (),
    ),
    ("delete-deleted-entity", 404, lambda h, a, e: h.delete(e.deleted, headers={"Accept": a}), ()),
    (
        "put-on-kind-collection",
        405,
        lambda h, a, _: h.put("/compute/", headers={"Accept": a, "Content-Type": TEXT_PLAIN}),
        (),
    ),
    ("put-on-query-interface", 405, lambda h, a, _: h.put("/-/", headers={"Accept": a}), ()),
    ("patch", 405, lambda h, a, e: h.patch(e.running, headers={"Accept": a}), ()),
    (
        "state-forbids-action",
        409,
        lambda h, a, e: Occi(h, TEXT_PLAIN, a).act(e.stopped, COMPUTE_ACTION + "restart"),
        ("inactive",),
    ),
    (
        "body-too-large",
        413,
        lambda h, a, _: h.post(
            "/compute/",
            headers={"Accept": a, "Content-Type": TEXT_PLAIN},
            content=b'X-OCCI-Attribute: occi.core.title="' + b"x" * MAX_BODY + b'"\n',
        ),
        (str(MAX_BODY),),
    ),
    (
        "page-too-large",
        413,
        lambda h, a, _: h.get(f"/compute/?page=1&number={MAX_PAGE + 1}", headers={"Accept": a}),
        (str(MAX_PAGE),),
    ),
    (
        "unsupported-content-type",
        415,
        lambda h, a, _: h.post(
            "/compute/",
            headers={"Accept": a, "Content-Type": "application/xml"},
            content=b"<compute/>",
        ),
        ("application/xml",),
    ),
    (
        "too-many-headers",
        431,
        lambda h, a, _: h.get(
            "/-/", headers=[("Accept", a)] + [(f"X-Pad-{i}", "x") for i in range(MAX_HEADERS)]
        ),
        (str(MAX_HEADERS),),
    ),
    (
        "headers-too-large",
        431,
        lambda h, a, _: h.get("/-/", headers={"Accept": a, "X-Pad": "x" * MAX_HEADER_BYTES}),
        (str(MAX_HEADER_BYTES),),
    ),
    (
        "occi-version-too-high",
        501,
        lambda h, a, _: h.get("/-/", headers={"Accept": a, "User-Agent": "x OCCI/2.0"}),
        ("OCCI/2.0",),
    ),
]


@pytest.mark.parametrize("accept", RENDERINGS)
@pytest.mark.parametrize(
    ("status", "case", "mentions"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_error_status_and_rendering(
    http: httpx.Client,
    entities: Entities,
    accept: str,
    status: int,
    case: Case,
    mentions: tuple[str, ...],
) -> None:
    assert_error(case(http, accept, entities), status, accept, mentions)


@pytest.mark.backends("sim", "ec2", "memory", "opennebula")  # no storage on OpenStack yet
@pytest.mark.parametrize("accept", RENDERINGS)
def test_a_missing_required_attribute_is_400(http: httpx.Client, accept: str) -> None:
    response = create(http, accept, EntityDoc(kind=STORAGE), "/storage/")
    assert_error(response, 400, accept, ("occi.storage.size",))


def test_405_carries_allow(http: httpx.Client) -> None:
    for method, path, must in (
        ("PUT", "/compute/", {"GET", "POST", "DELETE"}),
        ("PUT", "/-/", {"GET", "POST", "DELETE"}),
        ("PATCH", "/compute/x", {"GET", "PUT", "DELETE"}),
    ):
        response = http.request(method, path)
        assert response.status_code == 405, describe(response)
        allowed = {m.strip() for m in response.headers.get("allow", "").split(",")}
        assert must <= allowed, (method, path, allowed)
        assert method not in allowed


def test_unacceptable_accept_is_406_in_text(http: httpx.Client) -> None:
    response = http.get("/compute/", headers={"Accept": "application/xml"})
    assert_error(response, 406, None, ("application/xml",))


@pytest.mark.parametrize("path", ["/compute/{id}", "/-/"])
def test_uri_list_for_a_non_listing_is_400(
    http: httpx.Client, entities: Entities, path: str
) -> None:
    target = path.format(id=entities.running.rpartition("/")[2])
    response = http.get(target, headers={"Accept": URI_LIST})
    assert_error(response, 400, None, ("uri-list",))


def test_uri_list_bodies_only_name_locations(http: httpx.Client) -> None:
    response = http.post(
        "/compute/",
        headers={"Content-Type": URI_LIST, "Accept": TEXT_PLAIN},
        content=b"http://example.org/compute/1\r\n",
    )
    assert_error(response, 400, TEXT_PLAIN)


def test_a_400_changes_nothing(http: httpx.Client, offer: Offer) -> None:
    before = Occi(http, TEXT_PLAIN).list("/compute/")
    doc = compute_with([offer.image], **{"occi.compute.bogus": 1})
    doc.links = []
    assert create(http, TEXT_PLAIN, doc).status_code == 400
    assert Occi(http, TEXT_PLAIN).list("/compute/") == before


CONTROL_CHARACTERS = {
    "json-member-name": (OCCI_JSON, b'{"\\u001b": Infinity}'),
    "json-kind": (OCCI_JSON, b'{"kind": "http://schemas.ogf.org/occi/infrastructure#c\\u0001"}'),
    "text-term": (
        TEXT_PLAIN,
        b'Category: comp\x1bute; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
        b'class="kind"\n',
    ),
}


@pytest.mark.parametrize(
    ("media_type", "body"), CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys()
)
def test_control_characters_quoted_in_an_error_still_make_a_response(
    http: httpx.Client, media_type: str, body: bytes
) -> None:
    """Found by the random bodies below: a message quoting the client's bytes must still
    fit in an ``X-OCCI-Error`` header."""
    try:
        response = http.post(
            "/compute/",
            headers={"Content-Type": media_type, "Accept": media_type},
            content=body,
        )
    except httpx.RemoteProtocolError as error:
        pytest.fail(f"the server dropped the connection instead of answering 400: {error}")
    assert_error(response, 400, media_type)


# --- random bodies -------------------------------------------------------------------------------

STRUCTURES = ["Category", "X-OCCI-Attribute", "Link", "X-OCCI-Location", "category", "X-Other"]
FRAGMENTS = [
    "compute",
    'scheme="http://schemas.ogf.org/occi/infrastructure#"',
    'class="kind"',
    'class="mixin"',
    "occi.compute.cores=",
    'occi.core.title="',
    "</network/public>",
    'rel="http://schemas.ogf.org/occi/infrastructure#network"',
    ";",
    ",",
    '"',
    "\\",
    "=",
    "<",
    ">",
    " ",
]
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
field_values = st.lists(st.one_of(st.sampled_from(FRAGMENTS), header_text), max_size=8).map("".join)
text_lines = st.lists(st.tuples(st.sampled_from(STRUCTURES), field_values), min_size=1, max_size=6)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
# Anything but a compute: a valid create would rightly be 201.
not_compute = st.one_of(
    st.sampled_from([STORAGE, NETWORK, INFRA, INFRA + "Compute", COMPUTE + " ", "compute"]),
    json_values,
)
occi_objects = st.fixed_dictionaries(
    {},
    optional={
        "kind": not_compute,
        "mixins": st.one_of(
            st.lists(st.sampled_from([DEBIAN, IPNETWORK]) | json_values), json_values
        ),
        "attributes": st.dictionaries(
            st.sampled_from(["occi.compute.cores", "occi.core.title", "occi.storage.size"])
            | st.text(max_size=15),
            json_values,
            max_size=4,
        ),
        "links": json_values,
        "id": json_values,
    },
)


def bodies(media_type: str) -> st.SearchStrategy[tuple[list[tuple[str, str]], bytes]]:
    """Random requests of one media type: raw bytes, or near-misses of OCCI documents."""
    content_type = [("Content-Type", media_type)]
    raw = st.binary(max_size=300).map(lambda body: (content_type, body))
    if media_type == OCCI_JSON:
        documents = st.one_of(occi_objects, json_values).map(
            lambda doc: (content_type, json.dumps(doc).encode())
        )
    elif media_type == TEXT_OCCI:
        # HTTP header values carry no surrounding whitespace (RFC 9110 §5.5).
        fields = text_lines.map(lambda lines: [(n, v.strip()) for n, v in lines if v.strip()])
        documents = fields.map(lambda lines: (content_type + lines, b""))
    else:
        documents = text_lines.map(
            lambda lines: (content_type, "".join(f"{n}: {v}\n" for n, v in lines).encode())
        )
    return st.one_of(raw, documents)


#: Bodies that once broke something, always tried first: (extra headers, body).
KNOWN_BAD: dict[str, list[tuple[list[tuple[str, str]], bytes]]] = {
    OCCI_JSON: [([], b'{"\\u001b": Infinity}'), ([], b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[")],
    TEXT_PLAIN: [([], b'Category: "\n'), ([], b"\xff\xfe\x00")],
    TEXT_OCCI: [([("Category", '"')], b""), ([("Link", "<")], b"")],
}


@pytest.mark.parametrize("media_type", RENDERINGS)
def test_random_bodies_are_refused_with_a_4xx(http: httpx.Client, media_type: str) -> None:
    def check(request: tuple[list[tuple[str, str]], bytes]) -> None:
        headers, body = request
        try:
            response = http.post(
                "/compute/", headers=[("Accept", media_type), *headers], content=body
            )
        except httpx.RemoteProtocolError as error:
            pytest.fail(f"the server dropped the connection: {error}")
        assert 400 <= response.status_code < 500, describe(response)
        assert response.headers.get("x-occi-error"), describe(response)
        assert "Traceback" not in response.text

    for known in KNOWN_BAD.get(media_type, ()):
        check = example(request=([("Content-Type", media_type), *known[0]], known[1]))(check)
    settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )(given(request=bodies(media_type))(check))()


def test_the_server_survives_the_errors(http: httpx.Client, offer: Offer) -> None:
    occi = Occi(http, TEXT_PLAIN)
    path = occi.create("/compute/", offer.compute())
    assert occi.get(path).attributes["occi.core.id"] == path.rpartition("/")[2]
