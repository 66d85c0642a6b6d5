"""A small OCCI client for the end-to-end tests, written from the specs, not from pyocci.

It writes requests and reads answers in ``text/plain``, ``text/occi`` and
``application/occi+json`` (GFD.229, GFD.226) so that one test can run in
every rendering and look at the answer in one shape (`EntityDoc`). It uses
nothing of ``pyocci``: a rendering bug the server shares with its own
parser would otherwise go unseen.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

TEXT_PLAIN = "text/plain"
TEXT_OCCI = "text/occi"
OCCI_JSON = "application/occi+json"
URI_LIST = "text/uri-list"
#: The three renderings every test runs in.
RENDERINGS = (TEXT_PLAIN, TEXT_OCCI, OCCI_JSON)

S = "http://schemas.ogf.org/occi/"
CORE = S + "core#"
INFRA = S + "infrastructure#"
ENTITY, RESOURCE, LINK = CORE + "entity", CORE + "resource", CORE + "link"
COMPUTE, STORAGE, NETWORK = INFRA + "compute", INFRA + "storage", INFRA + "network"
NETWORKINTERFACE, STORAGELINK = INFRA + "networkinterface", INFRA + "storagelink"
SECURITYGROUP, SECURITYGROUPLINK = INFRA + "securitygroup", INFRA + "securitygrouplink"
IPRESERVATION = INFRA + "ipreservation"
OS_TPL, RESOURCE_TPL = INFRA + "os_tpl", INFRA + "resource_tpl"
IPNETWORK = S + "infrastructure/network#ipnetwork"
IPNETWORKINTERFACE = S + "infrastructure/networkinterface#ipnetworkinterface"
USER_DATA = S + "infrastructure/compute#user_data"
SSH_KEY = S + "infrastructure/credentials#ssh_key"
CRTP = S + "infrastructure/compute/template/1.1#"
SMALL, MEDIUM, LARGE = CRTP + "small", CRTP + "medium", CRTP + "large"
COMPUTE_ACTION = S + "infrastructure/compute/action#"
STORAGE_ACTION = S + "infrastructure/storage/action#"
NETWORK_ACTION = S + "infrastructure/network/action#"
#: The simulated cloud's images (os_tpl templates) and its floating IP pool.
SIM_OS = "http://schemas.pyocci.org/sim/os_tpl#"
DEBIAN, UBUNTU = SIM_OS + "debian-12", SIM_OS + "ubuntu-24_04"
PUBLIC_POOL = "http://schemas.openstack.org/network/floatingippool#public"
PUBLIC_NETWORK, PRIVATE_NETWORK = "/network/public", "/network/private"


# --- documents --------------------------------------------------------------------------------


@dataclass
class LinkDoc:
    """A link as a client writes it inline or reads it inline/at its own URL."""

    kind: str
    target: str
    target_kind: str | None = None
    source: str | None = None
    mixins: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    location: str | None = None
    actions: list[str] = field(default_factory=list)


@dataclass
class EntityDoc:
    """A resource (or, with `source`/`target`, a link) in rendering-neutral form."""

    kind: str | None = None
    mixins: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    links: list[LinkDoc] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    source: str | None = None
    target: str | None = None
    target_kind: str | None = None

    @property
    def id(self) -> str | None:
        """``occi.core.id``."""
        return self.attributes.get("occi.core.id")

    def links_of(self, kind: str) -> list[LinkDoc]:
        """The inline links of one kind."""
        return [link for link in self.links if link.kind == kind]


def split_id(identifier: str) -> tuple[str, str]:
    """``scheme#term`` -> (``scheme#``, ``term``)."""
    scheme, _, term = identifier.rpartition("#")
    return scheme + "#", term


def path_of(url: str) -> str:
    """The path of an absolute URL or of a path (a query is kept)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- text: writing ---------------------------------------------------------------------------


def quote(text: str) -> str:
    """A quoted-string (GFD.229 §4: escape ``"`` and ``\\``)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_value(value: Any) -> str:
    """An attribute value in text: strings quoted, numbers and booleans bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | dict):
        return quote(json.dumps(value))
    return quote(str(value))


def category_value(identifier: str, category_class: str, **extra: str) -> str:
    """The value of a ``Category`` line."""
    scheme, term = split_id(identifier)
    parts = [term, f"scheme={quote(scheme)}", f"class={quote(category_class)}"]
    parts += [f"{name}={quote(value)}" for name, value in extra.items()]
    return "; ".join(parts)


def _link_value(link: LinkDoc) -> str:
    parts = [f"<{link.target}>", f"rel={quote(link.target_kind or RESOURCE)}"]
    if link.location:
        parts.append(f"self={quote(link.location)}")
    parts.append(f"category={quote(' '.join([link.kind, *link.mixins]))}")
    parts += [f"{name}={text_value(value)}" for name, value in link.attributes.items()]
    return "; ".join(parts)


def text_lines(doc: EntityDoc) -> list[tuple[str, str]]:
    """An entity as (header name, value) pairs: the lines of text/plain, the fields of text/occi."""
    lines: list[tuple[str, str]] = []
    if doc.kind:
        lines.append(("Category", category_value(doc.kind, "kind")))
    lines += [("Category", category_value(mixin, "mixin")) for mixin in doc.mixins]
    lines += [("Link", _link_value(link)) for link in doc.links]
    attributes = dict(doc.attributes)
    if doc.source is not None:
        attributes["occi.core.source"] = doc.source
    if doc.target is not None:
        attributes["occi.core.target"] = doc.target
    lines += [("X-OCCI-Attribute", f"{n}={text_value(v)}") for n, v in attributes.items()]
    return lines


def as_request(
    lines: Sequence[tuple[str, str]], media_type: str
) -> tuple[list[tuple[str, str]], bytes]:
    """Text lines as a request in `media_type`: (extra headers, body)."""
    if media_type == TEXT_OCCI:
        return [("Content-Type", TEXT_OCCI), *lines], b""
    body = "".join(f"{name}: {value}\n" for name, value in lines)
    return [("Content-Type", media_type)], body.encode()


# --- text: reading ---------------------------------------------------------------------------


def split_outside(text: str, separator: str) -> list[str]:
    """Split on `separator` outside quoted strings and ``<...>`` (GFD.229 §4)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    angle = 0
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            angle += 1
        elif not quoted and char == ">" and angle:
            angle -= 1
        elif char == separator and not quoted and not angle:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def unquote(text: str) -> str:
    """The content of a quoted-string (or the text itself if it is not quoted)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


_NUMBER = re.compile(r"-?\d+(\.\d*)?([eE][-+]?\d+)?")


def parse_value(text: str) -> Any:
    """A text attribute value: quoted string, number or boolean."""
    text = text.strip()
    if text.startswith('"'):
        return unquote(text)
    if text in ("true", "false"):
        return text == "true"
    if _NUMBER.fullmatch(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    return text


def parse_params(parts: Iterable[str]) -> dict[str, str]:
    """``name=value`` parameters, values still raw."""
    params: dict[str, str] = {}
    for part in parts:
        name, _, value = part.partition("=")
        params[name.strip()] = value.strip()
    return params


def parse_category(value: str) -> dict[str, str]:
    """A Category value: ``term`` plus its parameters, unquoted."""
    term, *rest = split_outside(value, ";")
    category = {name: unquote(raw) for name, raw in parse_params(rest).items()}
    category["term"] = term.strip()
    category["id"] = category.get("scheme", "") + category["term"]
    return category


def text_structures(response: httpx.Response) -> list[tuple[str, str]]:
    """(lower-case name, value) of every OCCI structure in a text/plain or text/occi answer."""
    names = ("category", "link", "x-occi-attribute", "x-occi-location")
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    found: list[tuple[str, str]] = []
    if media_type == TEXT_OCCI:
        for name, value in response.headers.multi_items():
            if name.lower() in names:
                found += [(name.lower(), part) for part in split_outside(value, ",")]
        return found
    for line in response.text.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() in names:
            found += [(name.strip().lower(), part) for part in split_outside(value, ",")]
    return found


def _text_link(value: str) -> tuple[str, dict[str, str]]:
    head, *rest = split_outside(value, ";")
    return head.strip().lstrip("<").rstrip(">"), parse_params(rest)


def entity_from_text(structures: Sequence[tuple[str, str]]) -> EntityDoc:
    """An entity from its text structures (GFD.229 §3)."""
    doc = EntityDoc()
    for name, value in structures:
        if name == "category":
            category = parse_category(value)
            if category.get("class") == "kind":
                doc.kind = category["id"]
            else:
                doc.mixins.append(category["id"])
        elif name == "x-occi-attribute":
            attribute, _, raw = value.partition("=")
            doc.attributes[attribute.strip()] = parse_value(raw)
        elif name == "link":
            target, params = _text_link(value)
            if "?action=" in target:
                doc.actions.append(unquote(params.get("rel", "")))
                continue
            kind, *mixins = unquote(params.pop("category", "")).split()
            link = LinkDoc(
                kind=kind,
                target=target,
                target_kind=unquote(params.pop("rel", "")) or None,
                location=unquote(params.pop("self", "")) or None,
                mixins=mixins,
            )
            link.attributes = {n: parse_value(v) for n, v in params.items()}
            link.source = link.attributes.get("occi.core.source")
            doc.links.append(link)
    doc.source = doc.attributes.get("occi.core.source")
    doc.target = doc.attributes.get("occi.core.target")
    doc.target_kind = doc.attributes.get("occi.core.target.kind")
    return doc


# --- JSON --------------------------------------------------------------------------------------


def json_link(link: LinkDoc) -> dict[str, Any]:
    """An inline link as a GFD.226 Link object."""
    document: dict[str, Any] = {"kind": link.kind, "target": {"location": link.target}}
    if link.target_kind:
        document["target"]["kind"] = link.target_kind
    if link.source:
        document["source"] = {"location": link.source}
    if link.mixins:
        document["mixins"] = list(link.mixins)
    if link.attributes:
        document["attributes"] = dict(link.attributes)
    return document


def json_entity(doc: EntityDoc) -> dict[str, Any]:
    """An entity as a GFD.226 Resource or Link object."""
    document: dict[str, Any] = {}
    if doc.kind:
        document["kind"] = doc.kind
    if doc.mixins:
        document["mixins"] = list(doc.mixins)
    if doc.attributes:
        document["attributes"] = dict(doc.attributes)
    if doc.links:
        document["links"] = [json_link(link) for link in doc.links]
    if doc.source is not None:
        document["source"] = {"location": doc.source}
    if doc.target is not None:
        document["target"] = {"location": doc.target}
        if doc.target_kind:
            document["target"]["kind"] = doc.target_kind
    return document


def entity_from_json(document: Mapping[str, Any]) -> EntityDoc:
    """An entity from a GFD.226 Resource or Link object."""
    attributes = dict(document.get("attributes", {}))
    for member in ("id", "title", "summary"):
        if member in document:
            attributes.setdefault(f"occi.core.{member}", document[member])
    doc = EntityDoc(
        kind=document.get("kind"),
        mixins=list(document.get("mixins", [])),
        attributes=attributes,
        actions=list(document.get("actions", [])),
    )
    if "source" in document:
        doc.source = document["source"]["location"]
    if "target" in document:
        doc.target = document["target"]["location"]
        doc.target_kind = document["target"].get("kind")
    for item in document.get("links", []):
        link_attributes = dict(item.get("attributes", {}))
        if "id" in item:
            link_attributes.setdefault("occi.core.id", item["id"])
        location = item.get("location") or ("id" in item and _json_location(item)) or None
        doc.links.append(
            LinkDoc(
                kind=item["kind"],
                target=item["target"]["location"],
                target_kind=item["target"].get("kind"),
                source=item.get("source", {}).get("location"),
                mixins=list(item.get("mixins", [])),
                attributes=link_attributes,
                location=location,
                actions=list(item.get("actions", [])),
            )
        )
    return doc


# --- both ----------------------------------------------------------------------------------


def media_type_of(response: httpx.Response) -> str:
    """The media type of an answer, without parameters."""
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def read_entity(response: httpx.Response) -> EntityDoc:
    """The entity an answer renders, whatever its media type."""
    if media_type_of(response) == OCCI_JSON:
        return entity_from_json(response.json())
    return entity_from_text(text_structures(response))


def read_locations(response: httpx.Response) -> list[str]:
    """The locations an answer lists (text X-OCCI-Location, uri-list, JSON array or
    collection), as they were written."""
    media_type = media_type_of(response)
    if media_type == URI_LIST:
        return [
            line.strip()
            for line in response.text.splitlines()
            if line.strip() and not line.startswith("#")
        ]
    if media_type == OCCI_JSON:
        document = response.json()
        if isinstance(document, list):
            return list(document)
        members = [*document.get("resources", []), *document.get("links", [])]
        return [member.get("location") or _json_location(member) for member in members]
    return [
        unquote(value) for name, value in text_structures(response) if name == "x-occi-location"
    ]


def _json_location(member: Mapping[str, Any]) -> str:
    """GFD.226 renderings carry no location: ``<kind location><id>``, with the kinds'
    locations the discovery tests check (``/compute/``, ``/networkinterface/``...)."""
    kind = member["kind"].rpartition("#")[2]
    return f"/{kind}/{member['id']}"


def read_categories(response: httpx.Response) -> dict[str, dict[str, Any]]:
    """The categories of a query interface answer by id, in a common shape:
    ``class``, ``location``, ``rel``/``depends``/``parent``, ``title``, ``attributes``,
    ``actions``."""
    found: dict[str, dict[str, Any]] = {}
    if media_type_of(response) == OCCI_JSON:
        document = response.json()
        for section, category_class in (
            ("kinds", "kind"),
            ("mixins", "mixin"),
            ("actions", "action"),
        ):
            for item in document.get(section, []):
                category = dict(item)
                category["class"] = category_class
                category["id"] = item["scheme"] + item["term"]
                found[category["id"]] = category
        return found
    for name, value in text_structures(response):
        if name != "category":
            continue
        category: dict[str, Any] = parse_category(value)
        rel = category.get("rel", "").split()
        category["attributes"] = {
            re.sub(r"\{.*\}", "", item): {
                "mutable": "immutable" not in item,
                "required": "required" in item,
            }
            for item in category.get("attributes", "").split()
        }
        category["actions"] = category.get("actions", "").split()
        if category.get("class") == "kind":
            category["parent"] = rel[0] if rel else None
        elif category.get("class") == "mixin":
            category["depends"] = rel
        found[category["id"]] = category
    return found


def action_request(
    action_id: str, parameters: Mapping[str, Any], media_type: str
) -> tuple[list[tuple[str, str]], bytes]:
    """An action invocation (GFD.229 §3 action_definition, GFD.226 action invocation)."""
    if media_type == OCCI_JSON:
        document: dict[str, Any] = {"action": action_id}
        if parameters:
            document["attributes"] = dict(parameters)
        return [("Content-Type", OCCI_JSON)], json.dumps(document).encode()
    lines = [("Category", category_value(action_id, "action"))]
    lines += [("X-OCCI-Attribute", f"{n}={text_value(v)}") for n, v in parameters.items()]
    return as_request(lines, media_type)


def entity_request(doc: EntityDoc, media_type: str) -> tuple[list[tuple[str, str]], bytes]:
    """An entity rendering as a request body (or headers) in `media_type`."""
    if media_type == OCCI_JSON:
        return [("Content-Type", OCCI_JSON)], json.dumps(json_entity(doc)).encode()
    return as_request(text_lines(doc), media_type)


def locations_request(
    locations: Sequence[str], media_type: str
) -> tuple[list[tuple[str, str]], bytes]:
    """A list of entity locations (mixin collection bodies)."""
    if media_type == OCCI_JSON:
        return [("Content-Type", OCCI_JSON)], json.dumps(list(locations)).encode()
    if media_type == URI_LIST:
        return [("Content-Type", URI_LIST)], "".join(f"{u}\r\n" for u in locations).encode()
    return as_request([("X-OCCI-Location", location) for location in locations], media_type)


def mixin_request(
    identifier: str, location: str, media_type: str, title: str | None = None
) -> tuple[list[tuple[str, str]], bytes]:
    """A user mixin definition for ``POST /-/``."""
    scheme, term = split_id(identifier)
    if media_type == OCCI_JSON:
        mixin: dict[str, Any] = {"term": term, "scheme": scheme, "location": location}
        if title:
            mixin["title"] = title
        return [("Content-Type", OCCI_JSON)], json.dumps({"mixins": [mixin]}).encode()
    extra = {"location": location, **({"title": title} if title else {})}
    return as_request([("Category", category_value(identifier, "mixin", **extra))], media_type)


# --- a client bound to one rendering -----------------------------------------------------


class Occi:
    """An httpx client that writes `content_type` and asks for `accept`, with OCCI verbs.

    The verbs assert the status GFD.223 gives for success and return what
    the answer renders, so a test reads like the protocol.
    """

    def __init__(self, http: httpx.Client, content_type: str, accept: str | None = None) -> None:
        self.http = http
        self.content_type = content_type
        self.accept = accept or content_type

    def _send(
        self,
        method: str,
        url: str,
        request: tuple[list[tuple[str, str]], bytes] | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> httpx.Response:
        extra, body = request if request is not None else ([], b"")
        all_headers = [("Accept", self.accept), *extra, *headers]
        return self.http.request(method, url, headers=all_headers, content=body)

    def request(
        self,
        method: str,
        url: str,
        request: tuple[list[tuple[str, str]], bytes] | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> httpx.Response:
        """Any request, with this client's Accept."""
        return self._send(method, url, request, headers)

    def post_entity(self, collection: str, doc: EntityDoc) -> httpx.Response:
        """POST an entity rendering to a kind collection."""
        return self._send("POST", collection, entity_request(doc, self.content_type))

    def create(self, collection: str, doc: EntityDoc) -> str:
        """Create an entity; asserts 201 + Location; returns its path."""
        response = self.post_entity(collection, doc)
        assert response.status_code == 201, describe(response)
        location = response.headers.get("location")
        assert location, f"201 without Location: {describe(response)}"
        return path_of(location)

    def get(self, url: str, headers: Sequence[tuple[str, str]] = ()) -> EntityDoc:
        """GET an entity; asserts 200 in the rendering asked for."""
        response = self._send("GET", url, headers=headers)
        assert response.status_code == 200, describe(response)
        assert media_type_of(response) == self.accept, describe(response)
        return read_entity(response)

    def list(self, collection: str, headers: Sequence[tuple[str, str]] = ()) -> list[str]:
        """The paths a collection lists."""
        response = self._send("GET", collection, headers=headers)
        assert response.status_code == 200, describe(response)
        return [path_of(location) for location in read_locations(response)]

    def update(self, url: str, doc: EntityDoc) -> httpx.Response:
        """POST a partial update."""
        return self._send("POST", url, entity_request(doc, self.content_type))

    def put(self, url: str, doc: EntityDoc) -> httpx.Response:
        """PUT a full rendering (create or replace)."""
        return self._send("PUT", url, entity_request(doc, self.content_type))

    def act(self, url: str, action_id: str, **parameters: Any) -> httpx.Response:
        """POST ``<url>?action=<term>`` with the action Category and its parameters."""
        term = split_id(action_id)[1]
        separator = "&" if "?" in url else "?"
        request = action_request(action_id, parameters, self.content_type)
        return self._send("POST", f"{url}{separator}action={term}", request)

    def delete(self, url: str) -> httpx.Response:
        """DELETE."""
        return self._send("DELETE", url)


def describe(response: httpx.Response) -> str:
    """A response, for assertion messages."""
    request = response.request
    error = response.headers.get("x-occi-error")
    return (
        f"{request.method} {request.url} -> {response.status_code}"
        + (f" [X-OCCI-Error: {error}]" if error else "")
        + f"\n{response.text[:1500]}"
    )


def assert_status(response: httpx.Response, *statuses: int) -> None:
    """The response has one of these statuses; the message shows it whole otherwise."""
    assert response.status_code in statuses, describe(response)


def saved_template(response: httpx.Response, compute_path: str) -> dict[str, Any]:
    """The os_tpl mixin a ``save`` answered with, checked as GFD.224 asks: 200, its
    Location, and the new mixin rendered (one, depending on os_tpl, at that Location)."""
    assert_status(response, 200)
    location = response.headers.get("location")
    assert location, f"save answers with the new os_tpl's Location: {describe(response)}"
    rendered = [c for c in read_categories(response).values() if c["class"] == "mixin"]
    assert len(rendered) == 1, "GFD.224: the response MUST render the new mixin"
    image = rendered[0]
    assert image["depends"][0] == OS_TPL
    assert image["location"] == path_of(location)
    return image
