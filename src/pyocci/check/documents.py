"""The server's categories and entities as every rendering shows them, in one shape.

A `CategoryView` or an `EntityView` is what one rendering says, read from
JSON (GFD.226) or from text (GFD.229, through `pyocci.check.text`), so that
the renderings of one thing can be compared. `request_body` writes the
checker's own requests in each rendering.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyocci.check import text
from pyocci.check.spec import JSON_TYPES, TEXT_OCCI, TEXT_PLAIN
from pyocci.check.wire import Answer

#: A location as a path on the endpoint (`Wire.path`).
Normalise = Callable[[str], str]


@dataclass
class CategoryView:
    """A kind, mixin or action as one rendering of the query interface shows it."""

    identifier: str
    category_class: str
    title: str | None = None
    location: str | None = None
    #: A kind's parent; in text, the first ``rel``.
    parent: str | None = None
    depends: list[str] = field(default_factory=list)
    applies: list[str] = field(default_factory=list)
    #: name -> (mutable, required)
    attributes: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    #: name -> default value (JSON only: text renders no defaults)
    defaults: dict[str, Any] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    #: The text rendering's ``rel`` as given (for mixins: depends, and often applies).
    rel: list[str] = field(default_factory=list)


@dataclass
class Discovery:
    """The query interface as one rendering shows it."""

    media_type: str
    categories: dict[str, CategoryView] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: The JSON document, for the schema checks.
    document: Any = None

    def of_class(self, category_class: str) -> list[CategoryView]:
        """The kinds, mixins or actions."""
        return [c for c in self.categories.values() if c.category_class == category_class]

    def kind(self, identifier: str) -> CategoryView | None:
        """A kind by identifier."""
        found = self.categories.get(identifier)
        return found if found is not None and found.category_class == "kind" else None

    def templates(self, parent: str) -> list[CategoryView]:
        """The mixins that depend on `parent` (os_tpl, resource_tpl): the templates."""
        return [m for m in self.of_class("mixin") if parent in m.depends or parent in m.rel]


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def discovery_from_json(answer: Answer) -> Discovery:
    """The query interface from an ``application/occi+json`` answer (GFD.226 §Categories)."""
    found = Discovery(answer.media_type, document=answer.json())
    document = found.document
    if not isinstance(document, dict):
        found.problems.append("the answer is not a JSON object")
        return found
    for section, category_class in (("kinds", "kind"), ("mixins", "mixin"), ("actions", "action")):
        items = document.get(section, [])
        if not isinstance(items, list):
            found.problems.append(f"{section} is not an array")
            continue
        for item in items:
            if not isinstance(item, dict) or not all(
                isinstance(item.get(key), str) for key in ("term", "scheme")
            ):
                found.problems.append(f"a member of {section} has no term and scheme strings")
                continue
            attributes, defaults = {}, {}
            raw_attributes = item.get("attributes", {})
            if isinstance(raw_attributes, dict):
                for name, description in raw_attributes.items():
                    description = description if isinstance(description, dict) else {}
                    if "default" in description:
                        defaults[name] = description["default"]
                    # GFD.226: mutable and required default to false when absent.
                    attributes[name] = (
                        description.get("mutable") is True,
                        description.get("required") is True,
                    )
            view = CategoryView(
                identifier=item["scheme"] + item["term"],
                category_class=category_class,
                title=item.get("title"),
                location=item.get("location"),
                parent=item.get("parent"),
                depends=_strings(item.get("depends")),
                applies=_strings(item.get("applies")),
                attributes=attributes,
                defaults=defaults,
                actions=_strings(item.get("actions")),
            )
            _add(found, view)
    return found


def discovery_from_text(answer: Answer) -> Discovery:
    """The query interface from a text/plain body or text/occi headers (GFD.229)."""
    if answer.media_type == TEXT_OCCI:
        read = text.read_headers(answer.headers.multi_items())
        if answer.text.strip() not in ("", "OK"):
            read.problems.append(f"a text/occi body should be OK, not {answer.text.strip()[:40]!r}")
    else:
        read = text.read_body(answer.text)
        for name in ("category", "x-occi-attribute", "link"):
            if name in answer.headers:
                read.problems.append(f"text/plain answer with {name} in its headers")
    found = Discovery(answer.media_type, problems=list(read.problems))
    for category in read.categories:
        view = CategoryView(
            identifier=category.identifier,
            category_class=category.category_class,
            title=category.title,
            location=category.location,
            rel=list(category.rel),
            attributes={
                name: ("immutable" not in props, "required" in props)
                for name, props in category.attributes.items()
            },
            actions=list(category.actions),
        )
        if category.category_class == "kind":
            view.parent = category.rel[0] if category.rel else None
        elif category.category_class == "mixin":
            view.depends = category.rel[:1]
        _add(found, view)
    return found


def _add(found: Discovery, view: CategoryView) -> None:
    if view.identifier in found.categories:
        found.problems.append(f"{view.identifier} is rendered twice")
    found.categories[view.identifier] = view


def read_discovery(answer: Answer) -> Discovery:
    """The query interface from an answer in any rendering."""
    if answer.media_type in JSON_TYPES:
        return discovery_from_json(answer)
    return discovery_from_text(answer)


@dataclass
class LinkView:
    """A link as a resource's rendering shows it."""

    location: str | None
    target: str
    kind: str | None


@dataclass
class EntityView:
    """An entity as one rendering shows it."""

    media_type: str
    kind: str | None
    mixins: set[str] = field(default_factory=set)
    attributes: dict[str, Any] = field(default_factory=dict)
    links: list[LinkView] = field(default_factory=list)
    actions: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    document: Any = None

    def attribute(self, name: str) -> Any:
        """An attribute's value (None when absent)."""
        return self.attributes.get(name)


def entity_from_json(answer: Answer) -> EntityView:
    """An entity from a GFD.226 resource or link document."""
    document = answer.json()
    view = EntityView(answer.media_type, None, document=document)
    if not isinstance(document, dict):
        view.problems.append("the answer is not a JSON object")
        return view
    view.kind = document.get("kind") if isinstance(document.get("kind"), str) else None
    view.mixins = set(_strings(document.get("mixins")))
    view.actions = set(_strings(document.get("actions")))
    attributes = document.get("attributes", {})
    view.attributes = dict(attributes) if isinstance(attributes, dict) else {}
    # GFD.226 renders some model attributes as members; they mean the same attributes.
    for member, name in (
        ("id", "occi.core.id"),
        ("title", "occi.core.title"),
        ("summary", "occi.core.summary"),
    ):
        if member in document:
            if name in view.attributes and view.attributes[name] != document[member]:
                view.problems.append(f"{member} and {name} differ")
            view.attributes.setdefault(name, document[member])
    for member in ("source", "target"):
        end = document.get(member)
        if isinstance(end, dict):
            if isinstance(end.get("location"), str):
                view.attributes.setdefault(f"occi.core.{member}", end["location"])
            if isinstance(end.get("kind"), str):
                view.attributes.setdefault(f"occi.core.{member}.kind", end["kind"])
    for link in document.get("links", []) if isinstance(document.get("links"), list) else []:
        if not isinstance(link, dict):
            view.problems.append("a member of links is not an object")
            continue
        target = link.get("target")
        view.links.append(
            LinkView(
                location=None,
                target=target.get("location", "") if isinstance(target, dict) else "",
                kind=link.get("kind"),
            )
        )
    return view


def entity_from_text(answer: Answer) -> EntityView:
    """An entity from a text/plain body or text/occi headers (GFD.229 "Rendering
    compositions": Kind first, then mixins, links, attributes, action links)."""
    if answer.media_type == TEXT_OCCI:
        read = text.read_headers(answer.headers.multi_items())
    else:
        read = text.read_body(answer.text)
    view = EntityView(answer.media_type, None, problems=list(read.problems))
    kinds = [c for c in read.categories if c.category_class == "kind"]
    if len(kinds) != 1:
        view.problems.append(f"{len(kinds)} Category lines of class kind (GFD.229: exactly one)")
    elif read.categories[0].category_class != "kind":
        view.problems.append("the kind is not the first Category (GFD.229)")
    view.kind = kinds[0].identifier if kinds else None
    view.mixins = {c.identifier for c in read.categories if c.category_class == "mixin"}
    view.attributes = dict(read.attributes)
    for link in read.links:
        if link.is_action:
            view.actions.update(link.rel)
        else:
            view.links.append(
                LinkView(
                    location=link.self_location,
                    target=link.target,
                    kind=link.categories[0] if link.categories else None,
                )
            )
    return view


def read_entity(answer: Answer) -> EntityView:
    """An entity from an answer in any rendering."""
    if answer.media_type in JSON_TYPES:
        return entity_from_json(answer)
    return entity_from_text(answer)


def same_value(left: Any, right: Any) -> bool:
    """Equal attribute values across renderings (2 and 2.0 are the same number)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    return bool(left == right)


#: Attributes whose values are locations: compared as paths.
LOCATION_ATTRIBUTES = ("occi.core.source", "occi.core.target")


def differences(one: EntityView, other: EntityView, path: Normalise) -> list[str]:
    """How two renderings of one entity differ (none: they agree)."""
    found: list[str] = []
    label = f"{one.media_type} and {other.media_type}"
    if one.kind != other.kind:
        found.append(f"{label} differ in kind: {one.kind} / {other.kind}")
    if one.mixins != other.mixins:
        found.append(f"{label} differ in mixins: {sorted(one.mixins ^ other.mixins)}")
    if one.actions != other.actions:
        found.append(f"{label} differ in actions: {sorted(one.actions ^ other.actions)}")
    for name in sorted(set(one.attributes) | set(other.attributes)):
        left, right = one.attributes.get(name), other.attributes.get(name)
        if isinstance(left, list | dict) or isinstance(right, list | dict):
            continue  # GFD.229 has no text form for arrays and objects
        if name in LOCATION_ATTRIBUTES and isinstance(left, str) and isinstance(right, str):
            left, right = path(left), path(right)
        if not same_value(left, right):
            found.append(f"{label} differ in {name}: {left!r} / {right!r}")
    # GFD.226 gives a link its id, not its location: links are compared by what they join.
    one_links = sorted((path(x.target), x.kind or "") for x in one.links)
    other_links = sorted((path(x.target), x.kind or "") for x in other.links)
    if one_links != other_links:
        found.append(f"{label} differ in links: {one_links} / {other_links}")
    return found


def json_body(document: Mapping[str, Any]) -> bytes:
    """A JSON request body."""
    return json.dumps(document).encode()


@dataclass(frozen=True)
class NewEntity:
    """An entity the checker asks the server to create, in any rendering."""

    kind: str
    mixins: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    #: Inline links: (target location, target kind, link kind).
    links: tuple[tuple[str, str, str], ...] = ()

    def text_structures(self) -> list[tuple[str, str]]:
        """The GFD.229 structures of this entity's rendering."""
        structures = [("Category", text.category_value(self.kind, "kind"))]
        structures += [("Category", text.category_value(m, "mixin")) for m in self.mixins]
        for target, target_kind, link_kind in self.links:
            structures.append(("Link", f'<{target}>; rel="{target_kind}"; category="{link_kind}"'))
        structures += [
            ("X-OCCI-Attribute", f"{name}={text.value_text(value)}")
            for name, value in self.attributes.items()
        ]
        return structures

    def json_document(self, identifier: str) -> dict[str, Any]:
        """The GFD.226 document (``id`` is required by its schema)."""
        document: dict[str, Any] = {"kind": self.kind, "id": identifier}
        if self.mixins:
            document["mixins"] = list(self.mixins)
        attributes = dict(self.attributes)
        if "occi.core.source" in attributes:
            # GFD.226 "Link": source and target are members of their own.
            document["source"] = {"location": attributes.pop("occi.core.source")}
            document["target"] = {"location": attributes.pop("occi.core.target")}
            if "occi.core.target.kind" in attributes:
                document["target"]["kind"] = attributes.pop("occi.core.target.kind")
        if attributes:
            document["attributes"] = attributes
        if self.links:
            # A GFD.226 link needs its source, which the server has not named yet.
            raise ValueError("inline links are sent in a text rendering")
        return document


def request_body(
    entity: NewEntity, media_type: str, identifier: str
) -> tuple[bytes, list[tuple[str, str]]]:
    """The body and headers that carry `entity` in `media_type`."""
    if media_type in JSON_TYPES:
        return json_body(entity.json_document(identifier)), []
    structures = entity.text_structures()
    if media_type == TEXT_OCCI:
        return b"", structures
    return text.write_lines(structures).encode(), []


def text_request(structures: Iterable[tuple[str, str]], media_type: str) -> tuple[bytes, list]:
    """Structures as a text/plain body or as text/occi headers."""
    if media_type == TEXT_OCCI:
        return b"", list(structures)
    assert media_type == TEXT_PLAIN
    return text.write_lines(structures).encode(), []
