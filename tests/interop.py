"""What the OCCI clients in the field do with an occi-server: rOCCI-cli's every command and
jOCCI's scenario, each step checked against what the client printed.

A scenario runs every step it can and records each (``pass``, ``fail`` with
the reason, or ``not run`` when a step it needs failed) before the test
fails on the first failures, so one run fills the whole compatibility
matrix (`tools/interop_matrix.py`; the results are JSON files in the pytest
cache, ``interop/``, one per client, rendering and backend).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import polling
from occiclients import JOCCI, ROCCI, Ran, ensure, run

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"


@dataclass(frozen=True)
class CloudOffer:
    """What one backend offers the scenarios, and what it makes of their requests."""

    backend: str
    os_tpl: str
    small: str
    large: str
    #: The compute actions this backend performs (terms).
    actions: frozenset[str]
    #: The storage size asked for (GiB) and the size the cloud then shows.
    storage_size: float = 0.5
    shown_size: float = 0.5
    network_address: str = "10.77.0.0/24"
    #: Whether resizing a compute through a new resource_tpl works here.
    resizes: bool = True
    #: Whether the backend shows a compute's user data again (EC2 and Nova do not).
    shows_user_data: bool = False

    @staticmethod
    def term(identifier: str) -> str:
        """``os_tpl#<term>``'s term of a template id."""
        return identifier.rpartition("#")[2]


def offered_actions(url: str) -> frozenset[str]:
    """The terms of the compute actions a server offers (its JSON discovery)."""
    document = _discovery(url)
    compute = next(kind for kind in document["kinds"] if kind["term"] == "compute")
    return frozenset(action.rpartition("#")[2] for action in compute.get("actions", []))


def template_terms(url: str) -> set[tuple[str, str]]:
    """``(os_tpl | resource_tpl, term)`` of every template a server offers."""
    terms = set()
    for mixin in _discovery(url).get("mixins", []):
        for parent in mixin.get("depends", []):
            if parent in (INFRA + "os_tpl", INFRA + "resource_tpl"):
                terms.add((parent.rpartition("#")[2], mixin["term"]))
    return terms


def _discovery(url: str) -> dict[str, Any]:
    response = httpx.get(url.rstrip("/") + "/-/", headers={"Accept": "application/occi+json"})
    response.raise_for_status()
    return response.json()


def results_dir(config: pytest.Config) -> Path | None:
    """Where the scenarios leave their results (the pytest cache, ``interop/``)."""
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    return Path(cache.mkdir("interop")) if cache is not None else None


#: Steps that fail because of a bug of the client itself, which no server can work
#: around: (client, rendering, step) -> the bug. Recorded as ``client bug``.
KNOWN_CLIENT_BUGS = {
    ("jOCCI", "text/occi", "list compute"): (
        "jOCCI reads a text/occi listing from a Location header and fails when there is "
        "none, as in an empty collection"
    ),
    ("jOCCI", "text/occi", "list compute (after delete)"): (
        "jOCCI reads a text/occi listing from a Location header and fails when there is "
        "none, as in an empty collection"
    ),
}


class StepFailedError(AssertionError):
    """A step's check failed."""


class NotRunError(Exception):
    """A step needs what an earlier, failed step would have made."""


@dataclass
class Scenario:
    """The steps of one client on one rendering and backend, and their results."""

    client: str
    rendering: str
    backend: str
    results_dir: Path | None
    steps: list[dict[str, str]] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, command: str) -> Iterator[None]:
        """Run one step: a failed check is recorded and the scenario goes on."""
        try:
            yield
        except NotRunError as missing:
            self.steps.append({"command": command, "result": "not run", "why": str(missing)})
        except (AssertionError, TimeoutError) as failure:
            bug = KNOWN_CLIENT_BUGS.get((self.client, self.rendering, command))
            if bug is not None:
                self.steps.append({"command": command, "result": "client bug", "why": bug})
            else:
                self.steps.append({"command": command, "result": "fail", "why": str(failure)})
        else:
            self.steps.append({"command": command, "result": "pass", "why": ""})

    def finish(self) -> None:
        """Write the results, then fail the test if any step did not pass."""
        if self.results_dir is not None:
            self.results_dir.mkdir(parents=True, exist_ok=True)
            name = re.sub(
                r"[^A-Za-z0-9_.-]+", "_", f"{self.client}-{self.rendering}-{self.backend}"
            )
            document = {
                "client": self.client,
                "rendering": self.rendering,
                "backend": self.backend,
                "steps": self.steps,
            }
            (self.results_dir / f"{name}.json").write_text(json.dumps(document, indent=1))
        bad = [s for s in self.steps if s["result"] not in ("pass", "client bug")]
        assert not bad, "\n\n".join(f"[{s['result']}] {s['command']}: {s['why']}" for s in bad)


def need(value: Any, what: str) -> Any:
    """`value`, or NotRunError when an earlier step could not make it."""
    if value is None:
        raise NotRunError(f"no {what} (an earlier step failed)")
    return value


def path_of(url: str) -> str:
    """The path of an absolute URL (or a path)."""
    return urlsplit(url).path or url


def check(condition: bool, message: str) -> None:
    """A scenario check: raise StepFailedError with `message` unless `condition`."""
    if not condition:
        raise StepFailedError(message)


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Read until `done` holds (`polling.eventually`, once a second); a failed step otherwise."""
    return polling.eventually(read, done, what, pause=1.0, failure=StepFailedError)


# --- rOCCI-cli ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Described:
    """One entity as ``occi --action describe`` prints it."""

    kind: str
    location: str
    attributes: dict[str, str]
    links: list[Described]
    mixins: list[str]
    actions: list[str]


_BLOCK = re.compile(r"^(\s*)\[\[ (\S+) \]\]$")


def parse_described(text: str) -> list[Described]:
    """The entities in rOCCI-cli's describe output (its plain format)."""
    found: list[Described] = []
    current: dict[str, Any] | None = None
    link: dict[str, Any] | None = None
    section = "attributes"

    def close_link() -> None:
        nonlocal link
        if link is not None and current is not None:
            current["links"].append(Described(**link, links=[], mixins=[], actions=[]))
        link = None

    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("####"):
            close_link()
            if current is not None:
                found.append(Described(**current))
            current, section = None, "attributes"
            continue
        block = _BLOCK.match(line)
        if block and not block.group(1):
            current = {"kind": block.group(2), "location": "", "attributes": {}, "links": []}
            current.update(mixins=[], actions=[])
            section = "attributes"
            continue
        if current is None:
            continue
        if line in ("Links:", "Mixins:", "Actions:"):
            close_link()
            section = line[:-1].lower()
            continue
        stripped = line.strip()
        if block:
            if section == "links":
                close_link()
                link = {"kind": block.group(2), "location": "", "attributes": {}}
            elif section in ("mixins", "actions"):
                current[section].append(block.group(2))
            continue
        target = link if section == "links" and link is not None else current
        if stripped.startswith(">> location:"):
            target["location"] = stripped.split(":", 1)[1].strip()
        elif " = " in stripped and section in ("attributes", "links"):
            name, _, value = stripped.partition(" = ")
            target["attributes"][name] = value
    close_link()
    if current is not None:
        found.append(Described(**current))
    return found


@dataclass(frozen=True)
class RocciCli:
    """``occi`` of rOCCI-cli 4.3 against one endpoint, in one rendering (None: its default,
    which sends ``Content-Type: text/plain,text/occi``)."""

    program: Path
    endpoint: str
    media_type: str | None

    def __call__(self, *arguments: str) -> Ran:
        command = [str(self.program), "--endpoint", self.endpoint, "--auth", "none"]
        if self.media_type is not None:
            command += ["--media-type", self.media_type]
        return run([*command, *arguments])

    def ok(self, *arguments: str) -> str:
        """What the command printed; StepFailedError when it failed."""
        ran = self(*arguments)
        check(ran.returncode == 0, ran.explain())
        return ran.stdout

    def describe(self, location: str) -> Described:
        """The one entity at `location`."""
        output = self.ok("--action", "describe", "--resource", path_of(location))
        entities = parse_described(output)
        check(
            len(entities) == 1, f"describe {location} printed {len(entities)} entities:\n{output}"
        )
        return entities[0]

    def listed(self, kind: str) -> list[str]:
        """The URLs ``list`` prints for a kind's collection."""
        output = self.ok("--action", "list", "--resource", kind)
        return [line.strip() for line in output.splitlines() if line.strip()]

    def create(self, *arguments: str) -> str:
        """The URL of a created entity (what ``create`` and ``link`` print)."""
        output = self.ok(*arguments).strip()
        check(output.startswith(self.endpoint.rstrip("/") + "/"), f"not a URL here: {output!r}")
        return output

    def state(self, location: str, attribute: str) -> str | None:
        return self.describe(location).attributes.get(attribute)

    def wait_state(self, location: str, attribute: str, wanted: str) -> Described:
        """Describe until `attribute` shows `wanted`."""
        return eventually(
            lambda: self.describe(location),
            lambda entity: entity.attributes.get(attribute) == wanted,
            f"{location} {attribute} = {wanted}",
        )

    def link(self, compute: str, target: str) -> str:
        """``link``: the URL of the new link from `compute` to `target`."""
        return self.create("--action", "link", "--resource", path_of(compute), "--link",
                           path_of(target))  # fmt: skip

    def unlink(self, compute: str, link: str) -> None:
        """``unlink``, then describe `compute` until the link is gone from it."""
        self.ok("--action", "unlink", "--resource", path_of(link))
        self.wait_link(compute, link, present=False)

    def wait_link(self, compute: str, link: str, *, present: bool) -> Described:
        """Describe `compute` until `link` is (or no longer is) among its links."""
        return eventually(
            lambda: self.describe(compute),
            lambda entity: (path_of(link) in [x.location for x in entity.links]) == present,
            f"{link} {'among' if present else 'gone from'} the links of {compute}",
        )


#: What the scenario's computes are contextualized with (rOCCI reads user data from a file).
_USER_DATA = b"#!/bin/sh\necho contextualized by rOCCI\n"
_USER_DATA_BASE64 = base64.b64encode(_USER_DATA).decode()
_USER_DATA_FILE = Path(tempfile.gettempdir()) / "pyocci-rocci-user-data.sh"
#: A real key: clouds import it (EC2 checks the format).
_PUBLIC_KEY = (
    ed25519.Ed25519PrivateKey.generate()
    .public_key()
    .public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH)
    .decode()
)


def _rocci_number(value: float) -> str:
    """A number as rOCCI-cli's ``--attribute`` takes it: ``num(2)``, ``float(0.5)``."""
    return f"num({int(value)})" if value == int(value) else f"float({value})"


def rocci_scenario(rocci: RocciCli, offer: CloudOffer, scenario: Scenario) -> None:
    """Every rOCCI-cli command, as a user runs them, on one backend and rendering."""
    compute = storage = network = None
    title = f"rocci-{uuid.uuid4().hex[:8]}"
    _USER_DATA_FILE.write_bytes(_USER_DATA)
    os_term, small_term = offer.term(offer.os_tpl), offer.term(offer.small)

    with scenario.step("discover kinds"):
        output = rocci.ok(
            "--action", "discover", "--resource", "compute", "--entity-type", "resource"
        )
        check(f"[[ {INFRA}compute ]]" in output, f"no compute kind in:\n{output[:2000]}")
    with scenario.step("list compute"):
        rocci.listed("compute")
    with scenario.step("describe os_tpl"):
        output = rocci.ok("--action", "describe", "--resource", "os_tpl")
        check(f"[[ {offer.os_tpl} ]]" in output, f"{offer.os_tpl} missing:\n{output[:3000]}")
    with scenario.step("describe resource_tpl"):
        output = rocci.ok("--action", "describe", "--resource", "resource_tpl")
        check(f"[[ {offer.small} ]]" in output, f"{offer.small} missing:\n{output[:3000]}")
    with scenario.step("create compute from templates"):
        compute = rocci.create(
            "--action", "create", "--resource", "compute",
            "--mixin", f"os_tpl#{os_term}", "--mixin", f"resource_tpl#{small_term}",
            "--attribute", f"occi.core.title={title}",
        )  # fmt: skip
        check("/compute/" in compute, f"created {compute}")
    with scenario.step("describe compute"):
        described = rocci.wait_state(need(compute, "compute"), "occi.compute.state", "active")
        check(described.attributes.get("occi.core.title") == title, f"title: {described}")
        check(offer.os_tpl in described.mixins, f"{offer.os_tpl} not among {described.mixins}")
        check(described.location == path_of(compute), f"location {described.location}")
    with scenario.step("list compute (the new one listed)"):
        check(need(compute, "compute") in rocci.listed("compute"), f"{compute} not listed")
    with scenario.step("describe compute (whole collection)"):
        output = rocci.ok("--action", "describe", "--resource", "compute")
        check(path_of(need(compute, "compute")) in output, f"{compute} not described")
    for action, state in (("stop", "inactive"), ("start", "active")):
        with scenario.step(f"trigger {action}"):
            rocci.ok("--action", "trigger", "--resource", path_of(need(compute, "compute")),
                     "--trigger-action", action)  # fmt: skip
            rocci.wait_state(compute, "occi.compute.state", state)
    with scenario.step("trigger start when active (a no-op)"):
        rocci.ok("--action", "trigger", "--resource", path_of(need(compute, "compute")),
                 "--trigger-action", "start")  # fmt: skip
        check(rocci.state(compute, "occi.compute.state") == "active", "no longer active")
    if "restart" in offer.actions:
        with scenario.step("trigger restart"):
            rocci.ok("--action", "trigger", "--resource", path_of(need(compute, "compute")),
                     "--trigger-action", "restart")  # fmt: skip
            rocci.wait_state(compute, "occi.compute.state", "active")
    if "suspend" in offer.actions:
        with scenario.step("trigger suspend"):
            rocci.ok("--action", "trigger", "--resource", path_of(need(compute, "compute")),
                     "--trigger-action", "suspend")  # fmt: skip
            rocci.wait_state(compute, "occi.compute.state", "suspended")
            rocci.ok("--action", "trigger", "--resource", path_of(compute),
                     "--trigger-action", "start")  # fmt: skip
            rocci.wait_state(compute, "occi.compute.state", "active")
    if offer.resizes:
        with scenario.step("update compute (resource_tpl)"):
            location = path_of(need(compute, "compute"))
            rocci.ok("--action", "trigger", "--resource", location, "--trigger-action", "stop")
            rocci.wait_state(compute, "occi.compute.state", "inactive")
            rocci.ok("--action", "update", "--resource", location,
                     "--mixin", f"resource_tpl#{offer.term(offer.large)}")  # fmt: skip
            updated = eventually(
                lambda: rocci.describe(compute),
                lambda entity: offer.large in entity.mixins,
                f"{offer.large} on {compute}",
            )
            check(offer.small not in updated.mixins, f"still {offer.small}: {updated.mixins}")
            rocci.ok("--action", "trigger", "--resource", location, "--trigger-action", "start")
            rocci.wait_state(compute, "occi.compute.state", "active")

    with scenario.step("create storage"):
        storage = rocci.create(
            "--action", "create", "--resource", "storage",
            "--attribute",
            f"occi.core.title={title}-disk,occi.storage.size={_rocci_number(offer.storage_size)}",
        )  # fmt: skip
        check("/storage/" in storage, f"created {storage}")
    with scenario.step("describe storage (size as the cloud made it)"):
        described = rocci.wait_state(need(storage, "storage"), "occi.storage.state", "online")
        size = float(described.attributes.get("occi.storage.size", "nan"))
        check(size == offer.shown_size, f"size {size}, expected {offer.shown_size}: {described}")
    link = None
    with scenario.step("link storage"):
        link = rocci.link(need(compute, "compute"), need(storage, "storage"))
        check("/storagelink/" in link, f"linked as {link}")
    with scenario.step("describe compute (with its storage link)"):
        described = rocci.wait_link(need(compute, "compute"), need(link, "link"), present=True)
        shown = next(x for x in described.links if x.location == path_of(link))
        check(shown.kind == INFRA + "storagelink", f"link kind {shown.kind}")
    with scenario.step("describe storagelink"):
        described = rocci.describe(need(link, "link"))
        target = described.attributes.get("occi.core.target", "")
        check(path_of(target) == path_of(need(storage, "storage")), f"target {target}")
    with scenario.step("unlink storage"):
        rocci.unlink(need(compute, "compute"), need(link, "link"))
    with scenario.step("describe storage (whole collection)"):
        output = rocci.ok("--action", "describe", "--resource", "storage")
        check(path_of(need(storage, "storage")) in output, f"{storage} not described")

    with scenario.step("list network"):
        rocci.listed("network")
    with scenario.step("create network"):
        network = rocci.create(
            "--action", "create", "--resource", "network",
            "--attribute",
            f"occi.core.title={title}-net,occi.network.address={offer.network_address}",
        )  # fmt: skip
        described = rocci.describe(network)
        address = described.attributes.get("occi.network.address")
        check(address == offer.network_address, f"address {address}: {described}")
    interface = None
    with scenario.step("link network"):
        interface = rocci.link(need(compute, "compute"), need(network, "network"))
        check("/networkinterface/" in interface, f"linked as {interface}")
        rocci.wait_link(compute, interface, present=True)
    with scenario.step("unlink network"):
        rocci.unlink(need(compute, "compute"), need(interface, "interface"))
    with scenario.step("describe network (whole collection)"):
        output = rocci.ok("--action", "describe", "--resource", "network")
        check(path_of(need(network, "network")) in output, f"{network} not described")
    contextualized = None
    with scenario.step("create compute with context (user_data, public_key)"):
        contextualized = rocci.create(
            "--action", "create", "--resource", "compute",
            "--mixin", f"os_tpl#{os_term}", "--mixin", f"resource_tpl#{small_term}",
            "--attribute", f"occi.core.title={title}-context",
            "--context", f"user_data=file://{_USER_DATA_FILE}",
            "--context", f"public_key={_PUBLIC_KEY}",
        )  # fmt: skip
        described = rocci.wait_state(contextualized, "occi.compute.state", "active")
        # rOCCI sends the legacy OpenStack mixins; where the backend shows the values
        # again (the sim does; EC2 and Nova do not return user data), they are intact.
        shown = {name: v for name, v in described.attributes.items() if "user" in name}
        check(bool(shown) or not offer.shows_user_data, f"no user data shown: {described}")
        check(
            all(value == _USER_DATA_BASE64 for value in shown.values()),
            f"user data shown as {shown}, sent {_USER_DATA_BASE64}",
        )
    linked = None
    with scenario.step("create compute linked to a network"):
        linked = rocci.create(
            "--action", "create", "--resource", "compute",
            "--mixin", f"os_tpl#{os_term}", "--mixin", f"resource_tpl#{small_term}",
            "--attribute", f"occi.core.title={title}-linked",
            "--link", path_of(need(network, "network")),
        )  # fmt: skip
        described = rocci.wait_state(linked, "occi.compute.state", "active")
        kinds = [x.kind for x in described.links]
        check(INFRA + "networkinterface" in kinds, f"links of {linked}: {described.links}")

    for what, location in (
        ("compute", compute),
        ("linked compute", linked),
        ("contextualized compute", contextualized),
        ("storage", storage),
        ("network", network),
    ):
        with scenario.step(f"delete {what}"):
            url = need(location, what)
            rocci.ok("--action", "delete", "--resource", path_of(url))
            kind = path_of(url).split("/")[1]
            eventually(lambda kind=kind: rocci.listed(kind), lambda urls, u=url: u not in urls,
                       f"{url} gone from the {kind} listing")  # fmt: skip


# --- jOCCI ---------------------------------------------------------------------------------

_JOCCI_LINE = re.compile(r"^(PASS|FAIL|XPASS|XFAIL) (.*?)(?: -> (.*))?$")


def jocci_scenario(
    program: Path, endpoint: str, media_type: str, offer: CloudOffer,
    model_terms: set[tuple[str, str]], scenario: Scenario,
) -> None:  # fmt: skip
    """jOCCI's example program (model, list, create, describe, trigger, links, delete): every
    step it reports, and the templates it read, each term intact."""
    ran = run(
        [str(program), endpoint, media_type, offer.term(offer.os_tpl), offer.term(offer.small)]
    )
    reported: list[tuple[str, str, str]] = []
    for line in ran.stdout.splitlines():
        match = _JOCCI_LINE.match(line)
        if match:
            verdict, name, detail = match.group(1), match.group(2), match.group(3) or ""
            if verdict in ("FAIL", "XFAIL") and ": " in name:
                name, detail = name.split(": ", 1)
            reported.append((verdict, name, detail))
    with scenario.step("run"):
        check(bool(reported) and "RESULT" in ran.stdout, ran.explain())
    for verdict, name, detail in reported:
        if verdict.startswith("X"):
            continue  # what the program itself marks as a known jOCCI bug
        # One label per step whatever the backend: no URLs, template ids or media type.
        label = re.sub(r" \((text/[^)]*|[^)]*, [^)]*)\)$", "", re.sub(r" https?://\S+", "", name))
        with scenario.step(label):
            check(verdict == "PASS", f"{name}: {detail}\n{ran.explain()}")
            if name.startswith(("os_tpl mixins", "resource_tpl mixins")):
                read = {identifier.rpartition("#")[2] for identifier in detail.split()}
                kind = "os_tpl" if name.startswith("os_tpl") else "resource_tpl"
                expected = {t for k, t in model_terms if k == kind}
                check(read == expected, f"jOCCI read the {kind} terms {read}, served {expected}")
            if name == "state after 3 s":
                check(detail == "active", f"state {detail!r} after 3 s")
            if name == "state after stop + 3 s":
                check(detail == "inactive", f"state {detail!r} 3 s after stop")


# --- the tests' common part ------------------------------------------------------------------

#: rOCCI-cli's renderings: its ``--media-type`` (None: its default, a Content-Type list).
ROCCI_RENDERINGS = {"text/plain": "text/plain", "text/occi": "text/occi", "default": None}
JOCCI_RENDERINGS = ("text/plain", "text/occi")


def run_rocci(config: pytest.Config, url: str, rendering: str, cloud: CloudOffer) -> None:
    """rOCCI-cli's scenario against the server at `url`; fails on any failed step."""
    rocci = RocciCli(ensure(ROCCI), url, ROCCI_RENDERINGS[rendering])
    scenario = Scenario("rOCCI-cli 4.3", rendering, cloud.backend, results_dir(config))
    rocci_scenario(rocci, cloud, scenario)
    scenario.finish()


def run_jocci(config: pytest.Config, url: str, rendering: str, cloud: CloudOffer) -> None:
    """jOCCI's scenario against the server at `url`; fails on any failed step."""
    scenario = Scenario("jOCCI", rendering, cloud.backend, results_dir(config))
    jocci_scenario(ensure(JOCCI), url, rendering, cloud, template_terms(url), scenario)
    scenario.finish()


# The tests themselves: a module that imports them runs them on its own ``server`` (a
# RunningServer) and ``cloud`` (a CloudOffer) fixtures.


@pytest.mark.parametrize("rendering", list(ROCCI_RENDERINGS))
def test_rocci_cli(
    request: pytest.FixtureRequest, rendering: str, server: Any, cloud: CloudOffer
) -> None:
    """rOCCI-cli 4.3, every command, in one rendering."""
    run_rocci(request.config, server.url, rendering, cloud)


@pytest.mark.parametrize("rendering", JOCCI_RENDERINGS)
def test_jocci(
    request: pytest.FixtureRequest, rendering: str, server: Any, cloud: CloudOffer
) -> None:
    """jOCCI's example program, in one rendering."""
    run_jocci(request.config, server.url, rendering, cloud)
