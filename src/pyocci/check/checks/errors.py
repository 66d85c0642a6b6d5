"""Bad input gets a client error, not a success and not a server error (GFD.223 "Status
Codes"; GFD.221 Instantiation)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from pyocci.check import spec, text
from pyocci.check.checks.common import compute_collection
from pyocci.check.documents import NewEntity, request_body
from pyocci.check.fixtures import choose_template, created_location
from pyocci.check.outcome import Failed, NotSupported, Skipped, Warned
from pyocci.check.registry import check
from pyocci.check.run import Run
from pyocci.check.wire import Answer

UNKNOWN_MIXIN = "http://schemas.occi-check.example.org/none#occi-check-unknown"


def judge(run: Run, answer: Answer, wanted: Iterable[int], *, also: Iterable[int] = ()) -> str:
    """Pass on a status of `wanted`; warn on `also` (what OCCI 1.1 or HTTP allow); fail
    otherwise. A success that created something is noted for the cleanup."""
    wanted, also = tuple(wanted), tuple(also)
    if answer.status < 300 and answer.method in ("POST", "PUT"):
        location = created_location(run, answer, [])
        if location is not None and location != answer.url:
            run.remember(location, "entity made by a refused request")
    expected = " or ".join(map(str, wanted))
    if answer.status in wanted:
        return f"{answer.status}"
    if answer.status in also:
        raise Warned(f"{answer.describe()}; GFD.223: {expected}")
    raise Failed(f"{answer.describe()}, not {expected}")


def post_compute(run: Run, body: bytes | str, media_type: str, headers=()) -> Answer:
    """A create request to the compute collection."""
    return run.wire.request(
        "POST",
        compute_collection(run),
        accept=media_type if media_type in (*spec.JSON_TYPES, spec.TEXT_PLAIN) else None,
        content_type=media_type,
        body=body,
        headers=headers,
    )


@check("errors.not-found", "GET of an entity that does not exist is 404", "GFD.223 Status Codes")
def not_found(run: Run) -> str:
    location = f"{compute_collection(run)}occi-check-missing-{uuid.uuid4().hex}"
    return judge(run, run.wire.request("GET", location, accept=spec.TEXT_PLAIN), (404,))


@check(
    "errors.unparsable-text",
    "A text/plain body that is not an OCCI rendering is 400",
    "GFD.223 Status Codes (400); GFD.229",
)
def unparsable_text(run: Run) -> str:
    return judge(run, post_compute(run, "this is not OCCI\n", spec.TEXT_PLAIN), (400,))


@check(
    "errors.unparsable-json",
    "A JSON body that is not JSON is 400",
    "GFD.223 Status Codes (400); GFD.226",
)
def unparsable_json(run: Run) -> str:
    if spec.OCCI_JSON not in run.renderings():
        raise NotSupported("no JSON rendering")
    answer = post_compute(run, '{"kind": "http://schemas.ogf.org/occi/inf', spec.OCCI_JSON)
    return judge(run, answer, (400,), also=(415,))


@check(
    "errors.wrong-kind",
    "Creating a storage in the compute collection is 400",
    "GFD.223 Collections POST (create: the collection's kind); Status Codes",
)
def wrong_kind(run: Run) -> str:
    entity = NewEntity(
        spec.STORAGE,
        attributes={
            "occi.core.title": run.title("storage in the wrong place"),
            "occi.storage.size": run.options.storage_size,
        },
    )
    body, headers = request_body(entity, spec.TEXT_PLAIN, str(uuid.uuid4()))
    return judge(run, post_compute(run, body, spec.TEXT_PLAIN, headers), (400,))


@check(
    "errors.unknown-mixin",
    "Creating a compute with a mixin nobody defines is 400",
    "GFD.223 Collections POST; Status Codes (400; 1.1: 404)",
)
def unknown_mixin(run: Run) -> str:
    mixins = [m for m in (choose_template(run, spec.OS_TPL, run.options.os_tpl),) if m]
    entity = NewEntity(
        spec.COMPUTE,
        (*mixins, UNKNOWN_MIXIN),
        {"occi.core.title": run.title("compute with an unknown mixin")},
    )
    body, headers = request_body(entity, spec.TEXT_PLAIN, str(uuid.uuid4()))
    return judge(run, post_compute(run, body, spec.TEXT_PLAIN, headers), (400,), also=(404,))


@check(
    "errors.missing-required",
    "Creating an entity without a required attribute is 400",
    "GFD.221 Attribute (required), Instantiation; GFD.223 Status Codes",
)
def missing_required(run: Run) -> str:
    model = run.model
    for kind in (spec.STORAGE, spec.NETWORK, spec.COMPUTE):
        found = model.kind(kind)
        if found is None or not found.location:
            continue
        required = sorted(name for name, (_, needed) in found.attributes.items() if needed)
        if not required:
            continue
        entity = NewEntity(kind, attributes={"occi.core.title": run.title("incomplete")})
        body, headers = request_body(entity, spec.TEXT_PLAIN, str(uuid.uuid4()))
        answer = run.wire.request(
            "POST",
            run.wire.path(found.location),
            accept=spec.TEXT_PLAIN,
            content_type=spec.TEXT_PLAIN,
            body=body,
            headers=headers,
        )
        return f"{spec.term_of(kind)} without {required[0]}: " + judge(run, answer, (400,))
    # Vacuously kept: with nothing required there is nothing a create may leave out.
    return "no kind declares a required attribute: nothing to leave out"


@check(
    "errors.immutable",
    "Changing an immutable attribute (occi.compute.state) is refused",
    "GFD.221 Attribute (mutable); GFD.223 Status Codes (400; 1.1: 403)",
)
def immutable(run: Run) -> str:
    location = run.need("compute")
    _, view = run.read(location)
    declared = run.model.kind(spec.COMPUTE)
    if declared is None or declared.attributes.get("occi.compute.state", (True, False))[0]:
        raise Skipped("the server does not declare occi.compute.state immutable")
    other = "inactive" if view.attribute("occi.compute.state") == "active" else "active"
    structures = [
        ("Category", text.category_value(spec.COMPUTE, "kind")),
        ("X-OCCI-Attribute", f"occi.compute.state={text.quote(other)}"),
    ]
    answer = run.wire.request(
        "POST",
        location,
        accept=spec.TEXT_PLAIN,
        content_type=spec.TEXT_PLAIN,
        body=text.write_lines(structures),
    )
    return judge(run, answer, (400, 403), also=(409,))


@check(
    "errors.method-not-allowed",
    "A method the path does not define (PUT on /-/) is 405",
    "GFD.223 Query Interface PUT (N/A); Status Codes (405)",
)
def method_not_allowed(run: Run) -> str:
    answer = run.wire.request("PUT", "-/", content_type=spec.TEXT_PLAIN, body=b"")
    return judge(run, answer, (405,), also=(400, 501))


@check(
    "errors.unsupported-media-type",
    "A body in a media type that is no OCCI rendering is a client error",
    "GFD.223 Request Headers (Content-Type); RFC 9110 15.5.16 (415)",
)
def unsupported_media_type(run: Run) -> str:
    answer = post_compute(run, "<compute/>", "application/x-occi-check")
    return judge(run, answer, (415, 400), also=(406,))


@check(
    "errors.uri-list-entity",
    "text/uri-list for something that is not a collection is 400",
    "GFD.229 text/uri-list",
)
def uri_list_entity(run: Run) -> str:
    location = run.need("compute")
    answer = run.wire.request("GET", location, accept=spec.URI_LIST)
    return judge(run, answer, (400,), also=(406,))
