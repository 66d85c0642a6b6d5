"""The query interface (GFD.223 "Query Interface"): in every rendering, and consistent."""

from __future__ import annotations

import itertools

from pyocci.check import spec, text
from pyocci.check.checks.common import fail_with
from pyocci.check.documents import CategoryView, Discovery, read_discovery
from pyocci.check.outcome import Failed, NotSupported, Warned
from pyocci.check.registry import check
from pyocci.check.run import Run


def summary(found: Discovery) -> str:
    """``9 kinds, 27 mixins, 19 actions``."""
    return ", ".join(f"{len(found.of_class(c))} {c}s" for c in ("kind", "mixin", "action"))


def _rendering(run: Run, media_type: str) -> str:
    found = run.discovery(media_type)
    fail_with(found.problems, f"GET /-/ in {media_type}: ")
    if not found.of_class("kind"):
        raise Failed(f"GET /-/ in {media_type} lists no kind")
    return summary(found)


@check(
    "discovery.text-plain",
    "The query interface in text/plain, as GFD.229's grammar writes it",
    "GFD.223 Query Interface GET; GFD.229 Category, text/plain",
)
def text_plain(run: Run) -> str:
    return _rendering(run, spec.TEXT_PLAIN)


@check(
    "discovery.text-occi",
    "The query interface in text/occi: Category headers, body OK",
    "GFD.223 Query Interface GET; GFD.229 text/occi",
)
def text_occi(run: Run) -> str:
    return _rendering(run, spec.TEXT_OCCI)


@check(
    "discovery.json",
    "The query interface in application/occi+json",
    "GFD.223 Query Interface GET; GFD.226 Categories, Collections",
)
def json_rendering(run: Run) -> str:
    found = run.discovery(spec.OCCI_JSON)
    document = found.document
    if not isinstance(document, dict) or not {"kinds", "mixins", "actions"} & set(document):
        raise Failed("GET /-/ in JSON is not an object of kinds, mixins and actions")
    return _rendering(run, spec.OCCI_JSON)


@check(
    "discovery.application-json",
    "application/json, where offered, answers what application/occi+json does",
    "GFD.226 (application/json: rOCCI's alias)",
)
def application_json(run: Run) -> str:
    answer = run.wire.request("GET", "-/", accept=spec.PLAIN_JSON)
    if answer.status == 406:
        raise NotSupported("GET /-/ with Accept: application/json -> 406")
    if answer.status != 200:
        raise Failed(answer.describe())
    if answer.media_type not in spec.JSON_TYPES:
        raise Failed(f"Accept: application/json answered {answer.media_type or 'no type'}")
    plain = read_discovery(answer)
    occi = run.discovery(spec.OCCI_JSON)
    if set(plain.categories) != set(occi.categories):
        differ = sorted(set(plain.categories) ^ set(occi.categories))
        raise Failed(f"application/json and application/occi+json differ in {differ[:5]}")
    return f"answered as {answer.media_type}"


@check(
    "discovery.well-known",
    "The RFC 5785 location, where offered, is the same query interface",
    "GFD.223 Query Interface (MAY /.well-known/org/ogf/occi/-/)",
)
def well_known(run: Run) -> None:
    answer = run.wire.request("GET", "/.well-known/org/ogf/occi/-/", accept=spec.TEXT_PLAIN)
    if answer.status == 404:
        raise NotSupported("GET /.well-known/org/ogf/occi/-/ -> 404")
    if answer.status != 200:
        raise Failed(answer.describe())
    there = {c.identifier for c in text.read_body(answer.text).categories}
    here = set(run.discovery(spec.TEXT_PLAIN).categories)
    if there != here:
        raise Failed(f"it differs from /-/ in {sorted(there ^ here)[:5]}")


def _compare(run: Run, one: Discovery, other: Discovery) -> list[str]:
    label = f"{one.media_type} and {other.media_type}"
    problems = []
    missing = sorted(set(one.categories) ^ set(other.categories))
    if missing:
        problems.append(f"{label} list different categories: {missing[:5]}")
    for identifier in sorted(set(one.categories) & set(other.categories)):
        a, b = one.categories[identifier], other.categories[identifier]
        differing = _category_differences(run, a, b)
        problems += [f"{label} differ on {identifier}: {p}" for p in differing]
    return problems


def _category_differences(run: Run, a: CategoryView, b: CategoryView) -> list[str]:
    found = []
    if a.category_class != b.category_class:
        found.append(f"class {a.category_class} / {b.category_class}")
    if (a.title or None) != (b.title or None):
        found.append(f"title {a.title!r} / {b.title!r}")
    where = [run.wire.path(x.location) if x.location else None for x in (a, b)]
    if where[0] != where[1]:
        found.append(f"location {a.location} / {b.location}")
    if a.category_class == "kind" and a.parent != b.parent:
        found.append(f"parent {a.parent} / {b.parent}")
    if a.category_class == "mixin":
        if a.rel and b.rel and a.rel != b.rel:
            found.append(f"rel {a.rel} / {b.rel}")
        found += _mixin_relations(a, b) + _mixin_relations(b, a)
    if set(a.attributes) != set(b.attributes):
        found.append(f"attributes {sorted(set(a.attributes) ^ set(b.attributes))}")
    for name in sorted(set(a.attributes) & set(b.attributes)):
        if a.attributes[name] != b.attributes[name]:
            found.append(f"{name} (mutable, required) {a.attributes[name]} / {b.attributes[name]}")
    if set(a.actions) != set(b.actions):
        found.append(f"actions {sorted(set(a.actions) ^ set(b.actions))}")
    return found


def _mixin_relations(json_like: CategoryView, text_like: CategoryView) -> list[str]:
    """GFD.229: a text mixin's ``rel`` is its (first) depends; some servers add applies."""
    if not text_like.rel or json_like.rel:
        return []
    related = set(json_like.depends) | set(json_like.applies)
    stray = [r for r in text_like.rel if r not in related]
    if stray:
        return [f"rel {stray} is neither in depends nor in applies"]
    if json_like.depends and text_like.rel[0] != json_like.depends[0]:
        return [f"rel starts with {text_like.rel[0]}, depends with {json_like.depends[0]}"]
    return []


@check(
    "discovery.agreement",
    "Every rendering of the query interface lists the same categories alike",
    "GFD.221 Discovery; GFD.229 Category; GFD.226 Categories",
)
def agreement(run: Run) -> str:
    found = []
    for media_type in (spec.OCCI_JSON, spec.TEXT_PLAIN, spec.TEXT_OCCI):
        try:
            found.append(run.discovery(media_type))
        except (Failed, NotSupported):
            continue
    if len(found) < 2:
        raise NotSupported("fewer than two renderings of the query interface to compare")
    problems = []
    for one, other in itertools.pairwise(found):
        problems += _compare(run, one, other)
    fail_with(problems)
    return "compared " + ", ".join(d.media_type for d in found)


@check(
    "discovery.locations",
    "Every mixin and instantiable kind has a location of its own",
    "GFD.223 Namespace; GFD.221 Kind, Mixin; GFD.226 Categories",
)
def locations(run: Run) -> str:
    problems = []
    owners: dict[str, str] = {}
    for category in run.model.categories.values():
        if category.category_class == "action" or category.identifier == spec.ENTITY:
            continue  # entity: discovery.entity-unbound
        if not category.location:
            problems.append(f"{category.identifier} has no location")
            continue
        path = run.wire.path(category.location)
        if path in owners:
            problems.append(f"{path} is the location of {owners[path]} and {category.identifier}")
        owners[path] = category.identifier
    fail_with(problems)
    return f"{len(owners)} locations, all distinct"


@check(
    "discovery.entity-unbound",
    "The entity kind, which cannot be instantiated, is bound to no location",
    "GFD.223 Namespace (MUST NOT); rOCCI-core 5 requires the opposite",
)
def entity_unbound(run: Run) -> str:
    entity = run.model.kind(spec.ENTITY)
    if entity is None or not entity.location:
        return "entity has no location"
    # GFD.223 forbids it, but rOCCI-core 5 (written by GFD.226's authors) refuses a model
    # whose kinds lack a location, so servers bind entity to serve rOCCI clients: a warning,
    # not a failure, lest sites break those clients to pass.
    raise Warned(
        f"entity is bound to {entity.location}: GFD.223 says a kind that cannot be "
        "instantiated MUST NOT be, while rOCCI-core 5's schema requires a location on every kind"
    )


@check(
    "discovery.references",
    "Every parent, depends, applies and action named is itself discoverable",
    "GFD.221 Kind, Mixin, Action; GFD.223 Query Interface",
)
def references(run: Run) -> None:
    model = run.model
    problems = []

    def expect(owner: str, identifier: str, category_class: str, relation: str) -> None:
        found = model.categories.get(identifier)
        if found is None or found.category_class != category_class:
            problems.append(
                f"{owner} names {relation} {identifier}, not a discoverable {category_class}"
            )

    for category in model.categories.values():
        if category.parent:
            expect(category.identifier, category.parent, "kind", "parent")
        for depended in category.depends:
            expect(category.identifier, depended, "mixin", "depends")
        for applied in category.applies:
            expect(category.identifier, applied, "kind", "applies")
        for action in category.actions:
            expect(category.identifier, action, "action", "action")
    fail_with(problems)


@check(
    "discovery.infrastructure",
    "The infrastructure kinds have GFD.224's parents and state attributes",
    "GFD.224 Kinds; Compute, Storage, Network, NetworkInterface, StorageLink",
)
def infrastructure(run: Run) -> str:
    model = run.model
    problems = []
    present = []
    for kind, parent in {**spec.PARENTS, **spec.CORE_PARENTS}.items():
        found = model.kind(kind)
        if found is None:
            continue
        present.append(spec.term_of(kind))
        if found.parent != parent:
            problems.append(f"{spec.term_of(kind)} has parent {found.parent}, not {parent}")
        state = spec.STATE_ATTRIBUTE.get(kind)
        if state and state not in found.attributes:
            problems.append(f"{spec.term_of(kind)} does not declare {state}")
        if state and found.attributes.get(state, (False, False))[0]:
            problems.append(f"{spec.term_of(kind)} declares {state} mutable")
    if model.kind(spec.ENTITY) is None:
        problems.append("the entity kind is not listed")
    fail_with(problems)
    return "kinds: " + ", ".join(present)


@check(
    "discovery.filter",
    "A Category in the request filters the query interface",
    "GFD.223 Query Interface GET (filter); GFD.229 Category",
)
def category_filter(run: Run) -> str:
    everything = run.discovery(spec.TEXT_PLAIN)
    kind = (
        spec.COMPUTE
        if everything.kind(spec.COMPUTE)
        else next(
            (k.identifier for k in everything.of_class("kind") if k.identifier != spec.ENTITY), None
        )
    )
    if kind is None:
        raise NotSupported("no kind to filter on")
    answer = run.wire.request(
        "GET",
        "-/",
        accept=spec.TEXT_PLAIN,
        headers=[("Category", text.category_value(kind, "kind"))],
    )
    if answer.status != 200:
        raise Failed(answer.describe())
    filtered = text.read_body(answer.text).categories
    identifiers = {c.identifier for c in filtered}
    if kind not in identifiers:
        raise Failed(f"filtered by {kind}, the answer does not list it")
    if len(identifiers) >= len(everything.categories):
        raise Failed(f"filtered by {kind}, the answer lists every category")
    return f"{len(identifiers)} of {len(everything.categories)} categories"
