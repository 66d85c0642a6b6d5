"""Create, read and update of compute, storage and network, and of links between them
(GFD.223 "Entity Instances", "Collections"; GFD.221 and GFD.224 for what they hold).

The deletes come last in a run: `pyocci.check.checks.deletion`.
"""

from __future__ import annotations

import itertools
from typing import Any

from pyocci.check import spec, text
from pyocci.check.checks.common import delete_and_confirm, fail_with
from pyocci.check.documents import EntityView, NewEntity, differences, json_body, read_entity
from pyocci.check.fixtures import choose_template, create, creation_verdict
from pyocci.check.outcome import Failed, NotSupported
from pyocci.check.registry import check
from pyocci.check.run import Run

#: Each resource fixture: its kind, and the rendering it is created and updated in.
RESOURCES = {
    "compute": spec.COMPUTE,
    "storage": spec.STORAGE,
    "network": spec.NETWORK,
}
LINKS = {
    "storagelink": (spec.STORAGELINK, "storage"),
    "networkinterface": (spec.NETWORKINTERFACE, "network"),
}


def read_problems(run: Run, name: str, kind: str, view: EntityView) -> list[str]:
    """What is wrong with a fixture's rendering, by GFD.221 and GFD.224."""
    made = run.made(name)
    problems = list(view.problems)
    if view.kind != kind:
        problems.append(f"kind is {view.kind}, not {kind}")
    if not view.attribute("occi.core.id"):
        problems.append("no occi.core.id (GFD.221 Entity: id, multiplicity 1)")
    title = made.facts.get("title")
    if title is not None and view.attribute("occi.core.title") != title:
        problems.append(f"occi.core.title is {view.attribute('occi.core.title')!r}, not {title!r}")
    for attribute in spec.INSTANCE_ATTRIBUTES.get(kind, ()):
        if view.attribute(attribute) is None:
            problems.append(f"no {attribute} (GFD.224: multiplicity 1)")
    state_name = spec.STATE_ATTRIBUTE.get(kind)
    state = view.attribute(state_name) if state_name else None
    if state_name and state not in spec.STATES[kind]:
        problems.append(f"{state_name} is {state!r}, not one of GFD.224's states")
    given = set(made.facts.get("mixins", ()))
    if given - view.mixins:
        problems.append(f"the mixins given at creation are missing: {sorted(given - view.mixins)}")
    return problems


def _create(name: str) -> None:
    kind = RESOURCES.get(name) or LINKS[name][0]

    @check(
        f"{name}.create",
        f"POST to the {spec.term_of(kind)} collection creates one: 201 and Location",
        "GFD.223 Collections POST (create); GFD.221 Instantiation",
    )
    def create_check(run: Run) -> str:
        return creation_verdict(run, name)


def _read(name: str) -> None:
    kind = RESOURCES.get(name) or LINKS[name][0]

    @check(
        f"{name}.read",
        f"GET of the new {spec.term_of(kind)} renders what was asked, in a GFD.224 state",
        "GFD.223 Entity GET; GFD.221 Entity; GFD.224 " + spec.NAMES[kind],
    )
    def read_check(run: Run) -> str:
        location = run.need(name)
        _, view = run.read(location)
        problems = read_problems(run, name, kind, view)
        if name in LINKS:
            problems += _link_ends(run, name, view)
        fail_with(problems)
        state_name = spec.STATE_ATTRIBUTE.get(kind, "")
        return f"{location} {state_name}={view.attribute(state_name)}"


def _link_ends(run: Run, name: str, view: EntityView) -> list[str]:
    """A link's source and target, and the source listing it (GFD.221 Link, Resource)."""
    made = run.made(name)
    problems = []
    for end in ("source", "target"):
        value = view.attribute(f"occi.core.{end}")
        if not isinstance(value, str) or run.wire.path(value) != made.facts[end]:
            problems.append(f"occi.core.{end} is {value!r}, not {made.facts[end]}")
    _, source = run.read(made.facts["source"])
    targets = [run.wire.path(link.target) for link in source.links]
    if made.facts["target"] not in targets:
        problems.append(f"the compute's rendering does not list its link to {made.facts['target']}")
    return problems


def _renderings(name: str) -> None:
    kind = RESOURCES.get(name) or LINKS[name][0]

    @check(
        f"{name}.renderings",
        f"The {spec.term_of(kind)} reads the same in every rendering",
        "GFD.229 Rendering compositions; GFD.226 Entities",
    )
    def renderings_check(run: Run) -> str:
        location = run.need(name)
        offered = run.renderings()
        if len(offered) < 2:
            raise NotSupported("fewer than two renderings to compare")
        views = [run.read(location, media_type)[1] for media_type in offered]
        problems = [f"{v.media_type}: {p}" for v in views for p in v.problems]
        for one, other in itertools.pairwise(views):
            problems += differences(one, other, run.wire.path)
        fail_with(problems)
        return "agree: " + ", ".join(offered)


#: The rendering each resource fixture is updated in, as it was created.
UPDATE_RENDERING = {"compute": None, "storage": spec.TEXT_PLAIN, "network": spec.TEXT_OCCI}


def _update(name: str) -> None:
    kind = RESOURCES[name]

    @check(
        f"{name}.update",
        f"POST to the {spec.term_of(kind)} changes its title, keeps the rest",
        "GFD.223 Entity POST (partial update)",
    )
    def update_check(run: Run) -> str:
        location = run.need(name)
        _, before = run.read(location)
        new_title = run.title(f"{name} renamed")
        media_type = UPDATE_RENDERING[name] or run.rendering
        if media_type not in run.renderings():
            media_type = spec.TEXT_PLAIN
        body, headers = _partial(kind, before, new_title, media_type)
        answer = run.send(
            "POST",
            location,
            accept=media_type,
            content_type=media_type,
            body=body,
            headers=headers,
        )
        if answer.status == 200:
            _expect_rendering(answer)
        elif answer.status == 201:
            if not answer.headers.get("location"):
                raise Failed(f"{answer.describe()} without a Location header")
        else:
            raise Failed(answer.describe())
        run.made(name).facts["title"] = new_title
        _, after = run.read(location)
        problems = []
        if after.attribute("occi.core.title") != new_title:
            problems.append(f"the title reads {after.attribute('occi.core.title')!r} after it")
        if before.mixins - after.mixins:
            problems.append(f"the update dropped the mixins {sorted(before.mixins - after.mixins)}")
        fail_with(problems)
        return f"{answer.status} in {media_type}"


def _partial(
    kind: str, before: EntityView, title: str, media_type: str
) -> tuple[bytes, list[tuple[str, str]]]:
    """The partial rendering of a title change."""
    if media_type in spec.JSON_TYPES:
        document: dict[str, Any] = {
            "kind": kind,
            "id": str(before.attribute("occi.core.id")),
            "attributes": {"occi.core.title": title},
        }
        return json_body(document), []
    structures = [
        ("Category", text.category_value(kind, "kind")),
        ("X-OCCI-Attribute", f"occi.core.title={text.quote(title)}"),
    ]
    if media_type == spec.TEXT_OCCI:
        return b"", structures
    return text.write_lines(structures).encode(), []


def _expect_rendering(answer: Any) -> None:
    """GFD.223: a 200 to a write carries the entity's rendering."""
    view = read_entity(answer)
    if view.kind is None:
        raise Failed(f"{answer.describe()}: a 200 without the entity's rendering")


for _name in ("compute", "storage", "network"):
    _create(_name)
    _read(_name)
    _renderings(_name)
    _update(_name)
for _name in LINKS:
    _create(_name)
    _read(_name)
    _renderings(_name)


@check(
    "compute.inline-link",
    "A compute created with a Link to a network gets that link",
    "GFD.223 Collections POST (inline links); GFD.229 Link",
)
def inline_link(run: Run) -> str:
    network = run.need("network")
    mixins = tuple(
        t
        for t in (
            choose_template(run, spec.OS_TPL, run.options.os_tpl),
            choose_template(run, spec.RESOURCE_TPL, run.options.resource_tpl),
        )
        if t
    )
    entity = NewEntity(
        spec.COMPUTE,
        mixins,
        {"occi.core.title": run.title("compute with a link")},
        links=((network, spec.NETWORK, spec.NETWORKINTERFACE),),
    )
    made = create(run, "compute with a link", entity, spec.TEXT_PLAIN)
    fail_with(made.problems)
    assert made.location is not None
    view = run.wait_for(made.location, spec.COMPUTE)
    targets = {run.wire.path(link.target): link.kind for link in view.links}
    if network not in targets:
        raise Failed(f"{made.location} has no link to {network} (links: {sorted(targets)})")
    if targets[network] not in (spec.NETWORKINTERFACE, None):
        raise Failed(f"the link to {network} is a {targets[network]}")
    # Deleted now, so that the network it links to can be deleted in its turn.
    delete_and_confirm(run, made.location)
    return f"{made.location} links to {network}"
