"""The entities checks need, made on first need: a compute, a storage, a network, links
between them, a user mixin and a compute tagged with it.

Each is made the way GFD.223 says a client makes it, in the rendering that
exercises the most: the compute in JSON (text/plain on a text-only
server), the storage in text/plain, the network in text/occi (all in
headers). Whatever answer creates something is noted for the cleanup, even
when the answer is wrong; when it gives no usable location, the entity is
looked for by its title.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from pyocci.check import spec, text
from pyocci.check.documents import NewEntity, request_body
from pyocci.check.outcome import Failed, NotSupported, Skipped, Verdict, Warned
from pyocci.check.run import Made, Run
from pyocci.check.wire import Answer

#: Statuses that say "this server has no such thing" for a kind its query interface
#: does not list (GFD.223 "Status Codes": 501 not implemented, 404 no such path, 405).
ABSENT = (404, 405, 501)
#: How many candidates are read back when looking for an entity by its title.
MAX_CANDIDATES = 50


def choose_template(run: Run, parent: str, wanted: str | None) -> str | None:
    """A template mixin's identifier: the one `wanted` names (identifier or term), else
    for OS templates the first offered, for resource templates the smallest."""
    offered = run.model.templates(parent)
    if wanted:
        for template in offered:
            if wanted in (template.identifier, spec.term_of(template.identifier)):
                return template.identifier
        raise Skipped(
            f"the server offers no {spec.term_of(parent)} named {wanted!r} "
            f"(it offers {', '.join(spec.term_of(t.identifier) for t in offered[:10]) or 'none'})"
        )
    if not offered:
        return None
    if parent == spec.RESOURCE_TPL:

        def size(template: Any) -> tuple[float, float]:
            defaults = template.defaults
            cores = defaults.get("occi.compute.cores")
            memory = defaults.get("occi.compute.memory")
            number = (int, float)
            return (
                cores if isinstance(cores, number) else float("inf"),
                memory if isinstance(memory, number) else float("inf"),
            )

        return min(offered, key=size).identifier
    return offered[0].identifier


def created_location(
    run: Run, answer: Answer, problems: list[str], collection: str | None = None
) -> str | None:
    """Where a create answer says the new entity is (GFD.223: 201 with ``Location``, or
    200 with a rendering: then its id in the kind's `collection`), noting in `problems`
    what the answer lacks."""
    header = answer.headers.get("location")
    if answer.status == 201 and not header:
        problems.append(f"{answer.method} {answer.url} -> 201 without a Location header")
    if header:
        if not run.wire.on_endpoint(header):
            problems.append(f"the Location {header} is not on the endpoint")
            return None
        return run.wire.path(header)
    for value in answer.header_values("x-occi-location"):
        return run.wire.path(value.strip())
    body = answer.text.strip()
    if answer.media_type in spec.JSON_TYPES and body:
        try:
            document = json.loads(body)
        except ValueError:
            problems.append(f"{answer.method} {answer.url}: the body is not JSON")
            return None
        if isinstance(document, list) and document and isinstance(document[0], str):
            return run.wire.path(document[0])
        if isinstance(document, dict) and isinstance(document.get("id"), str) and collection:
            return collection + document["id"]
        return None
    if collection and answer.media_type in (spec.TEXT_PLAIN, spec.TEXT_OCCI):
        read = (
            text.read_headers(answer.headers.multi_items())
            if answer.media_type == spec.TEXT_OCCI
            else text.read_body(body)
        )
        if read.locations:
            return run.wire.path(read.locations[0])
        identifier = read.attributes.get("occi.core.id")
        if isinstance(identifier, str) and identifier:
            return collection + identifier
    for line in body.splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "x-occi-location":
            return run.wire.path(value.strip())
        if answer.media_type == spec.URI_LIST and line.strip() and not line.startswith("#"):
            return run.wire.path(line.strip())
    return None


def find_by_title(run: Run, collection: str, title: str) -> str | None:
    """The entity of `collection` titled `title` (for an answer that did not say where it
    put it), by an attribute filter, checking each candidate."""
    filters = [("X-OCCI-Attribute", f"occi.core.title={text.quote(title)}")]
    answer = run.wire.request("GET", collection, accept=spec.TEXT_PLAIN, headers=filters)
    if answer.status != 200:
        return None
    candidates = text.read_body(answer.text).locations[:MAX_CANDIDATES]
    for candidate in candidates:
        reply = run.wire.request("GET", candidate, accept=spec.TEXT_PLAIN)
        if (
            reply.status == 200
            and text.read_body(reply.text).attributes.get("occi.core.title") == title
        ):
            return run.wire.path(candidate)
    return None


def create(
    run: Run,
    name: str,
    entity: NewEntity,
    media_type: str,
    *,
    version: str | None = spec.VERSION,
) -> Made:
    """Ask the server to create `entity` in its kind's collection, as GFD.223 "Collections:
    POST" says; the result, with anything wrong about the answer in `problems`."""
    made = Made(name, facts={"title": entity.attributes.get("occi.core.title")})
    collection = run.location_of(entity.kind)
    listed = collection is not None
    collection = collection or spec.USUAL_LOCATIONS.get(entity.kind)
    if collection is None:
        raise NotSupported(f"the query interface binds {entity.kind} to no location")
    body, headers = request_body(entity, media_type, str(uuid.uuid4()))
    answer = run.send(
        "POST",
        collection,
        accept=media_type,
        content_type=media_type,
        body=body,
        headers=headers,
        version=version,
    )
    made.answer = answer
    if answer.status >= 300:
        if not listed and answer.status in ABSENT:
            raise NotSupported(
                f"the query interface does not list {spec.term_of(entity.kind)}, and "
                f"{answer.describe()}"
            )
        if listed and answer.status == 501:
            raise Failed(f"the query interface lists {entity.kind}, yet {answer.describe()}")
        raise Failed(answer.describe())
    location = created_location(run, answer, made.problems, collection)
    title = made.facts["title"]
    if location is None and isinstance(title, str):
        location = find_by_title(run, collection, title)
        if location is not None:
            made.problems.append(f"{answer.describe()} did not say where the new entity is")
    if location is None:
        raise Failed(f"{answer.describe()}: no location of the new entity in the answer")
    run.remember(location, spec.term_of(entity.kind))
    made.location = location
    if not listed:
        made.problems.append(
            f"the query interface does not list {entity.kind}, yet {answer.describe()}"
        )
    if answer.status == 202:
        made.facts["accepted"] = True
    return made


def settle(run: Run, made: Made, kind: str) -> Made:
    """Wait until the entity reads in one of its kind's GFD.224 states (a compute may
    boot for a while); Failed when it does not in the wait timeout."""
    assert made.location is not None
    view = run.wait_for(made.location, kind)
    made.facts["view"] = view
    return made


def _compute(run: Run) -> Made:
    mixins = [
        template
        for template in (
            choose_template(run, spec.OS_TPL, run.options.os_tpl),
            choose_template(run, spec.RESOURCE_TPL, run.options.resource_tpl),
        )
        if template
    ]
    entity = NewEntity(spec.COMPUTE, tuple(mixins), {"occi.core.title": run.title("compute")})
    made = create(run, "compute", entity, run.rendering)
    made.facts["mixins"] = mixins
    return settle(run, made, spec.COMPUTE)


def _storage_titled(label: str) -> Callable[[Run], Made]:
    def make(run: Run) -> Made:
        entity = NewEntity(
            spec.STORAGE,
            attributes={
                "occi.core.title": run.title(label),
                "occi.storage.size": run.options.storage_size,
            },
        )
        return settle(run, create(run, "storage", entity, spec.TEXT_PLAIN), spec.STORAGE)

    return make


#: The storage the links join.
_storage = _storage_titled("storage")
#: A storage no link ever joins, for the storage actions: a cloud may rightly refuse to
#: take a disk a compute uses offline (409), which says nothing of the actions.
_spare_storage = _storage_titled("spare storage")


def _network(run: Run) -> Made:
    attributes: dict[str, Any] = {"occi.core.title": run.title("network")}
    mixins: tuple[str, ...] = ()
    if run.options.network_address:
        mixins = (spec.IPNETWORK,)
        attributes["occi.network.address"] = run.options.network_address
    rendering = spec.TEXT_OCCI if spec.TEXT_OCCI in run.renderings() else spec.TEXT_PLAIN
    entity = NewEntity(spec.NETWORK, mixins, attributes)
    return settle(run, create(run, "network", entity, rendering), spec.NETWORK)


def _link(kind: str, target_fixture: str, target_kind: str) -> Callable[[Run], Made]:
    def make(run: Run) -> Made:
        source = run.need("compute")
        target = run.need(target_fixture)
        entity = NewEntity(
            kind,
            attributes={
                "occi.core.source": source,
                "occi.core.target": target,
                "occi.core.target.kind": target_kind,
            },
        )
        made = create(run, spec.term_of(kind), entity, run.rendering)
        made.facts.update(source=source, target=target)
        return settle(run, made, kind)

    return make


def _user_mixin(run: Run) -> Made:
    """GFD.223 "Query Interface: POST": a user mixin (a tag), with the location GFD.229
    says a client gives."""
    term = f"occi-check-{run.run_id}"
    scheme = f"http://schemas.occi-check.example.org/{run.run_id}/tags#"
    # Below the endpoint, whose path may have a prefix (https://host/occi1.2).
    location = run.wire.path(run.wire.url(f"{term}/"))
    identifier = scheme + term
    value = text.category_value(identifier, "mixin", title=run.title("tag"), location=location)
    answer = run.send(
        "POST",
        "-/",
        content_type=spec.TEXT_PLAIN,
        accept=spec.TEXT_PLAIN,
        body=text.write_lines([("Category", value)]),
    )
    made = Made("user mixin", answer=answer, facts={"id": identifier})
    if answer.status < 300:
        run.remember(identifier, "user mixin", what="mixin")
    if answer.status == 501:
        raise NotSupported(f"user mixins: {answer.describe()}")
    if answer.status != 200:
        raise Failed(answer.describe())
    discovered = run.wire.request("GET", "-/", accept=spec.TEXT_PLAIN)
    mine = [
        c
        for c in text.read_body(discovered.text).categories
        if c.identifier == identifier and c.category_class == "mixin"
    ]
    if not mine:
        raise Failed(f"{answer.describe()}, but GET /-/ does not list {identifier}")
    given = mine[0].location
    if not given:
        raise Failed(f"GET /-/ lists {identifier} without a location")
    made.location = run.wire.path(given)
    if made.location != location:
        made.problems.append(f"asked for location {location}, the server chose {given}")
    return made


def _tagged(run: Run) -> Made:
    """GFD.223 "Collections: POST, associate": the compute joins the user mixin's
    collection."""
    compute = run.need("compute")
    collection = run.need("user_mixin")
    answer = run.send(
        "POST",
        collection,
        content_type=spec.TEXT_PLAIN,
        accept=spec.TEXT_PLAIN,
        body=text.write_lines([("X-OCCI-Location", run.wire.url(compute))]),
    )
    made = Made("tagged compute", location=compute, answer=answer)
    if answer.status != 200:
        made.error = Failed(answer.describe())
    return made


FIXTURES: dict[str, Callable[[Run], Made]] = {
    "compute": _compute,
    "storage": _storage,
    "spare_storage": _spare_storage,
    "network": _network,
    "storagelink": _link(spec.STORAGELINK, "storage", spec.STORAGE),
    "networkinterface": _link(spec.NETWORKINTERFACE, "network", spec.NETWORK),
    "user_mixin": _user_mixin,
    "tagged": _tagged,
}


def creation_verdict(run: Run, name: str) -> str:
    """What a ``<kind>.create`` check reports about the fixture `name`."""
    made = run.made(name)
    if made.error is not None:
        raise type(made.error)(made.error.detail)
    if made.problems:
        raise Failed("; ".join(made.problems))
    assert made.answer is not None
    if made.facts.get("accepted"):
        raise _accepted(made)
    return f"{made.answer.status} {made.location}"


def _accepted(made: Made) -> Verdict:
    assert made.answer is not None  # creation_verdict's caller checked
    return Warned(
        f"{made.answer.describe()}: 202 Accepted is OCCI 1.1's "
        "asynchronous creation; GFD.223 answers 201 or 200"
    )
