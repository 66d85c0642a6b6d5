"""Last in a run: taking mixins off, removing the user mixin, deleting links and resources
(GFD.223 "Entity DELETE", "Collections DELETE", "Query Interface DELETE")."""

from __future__ import annotations

from pyocci.check import spec, text
from pyocci.check.checks.common import delete_and_confirm, locations
from pyocci.check.outcome import Failed, Warned
from pyocci.check.registry import check
from pyocci.check.run import Run
from pyocci.check.wire import Answer


@check(
    "mixins.disassociate",
    "DELETE of a location from the mixin's collection takes the mixin off the entity",
    "GFD.223 Collections DELETE (disassociate)",
)
def disassociate(run: Run) -> str:
    compute = run.need("tagged")
    collection = run.need("user_mixin")
    mixin = run.made("user_mixin").facts["id"]
    answer = run.send(
        "DELETE",
        collection,
        content_type=spec.TEXT_PLAIN,
        accept=spec.TEXT_PLAIN,
        body=text.write_lines([("X-OCCI-Location", run.wire.url(compute))]),
    )
    if answer.status != 200:
        raise Failed(f"{answer.describe()} (GFD.223: 200)")
    run.undo("tagged")
    _, view = run.read(compute)
    if mixin in view.mixins:
        raise Failed(f"{compute} still shows the mixin {mixin}")
    listed = run.wire.request("GET", collection, accept=spec.TEXT_PLAIN)
    if listed.status == 200 and compute in locations(run, listed):
        raise Failed(f"GET {collection} still lists {compute}")
    return f"{compute} left {collection}"


@check(
    "mixins.remove",
    "DELETE of the mixin Category on /-/ removes the user mixin",
    "GFD.223 Query Interface DELETE",
)
def remove(run: Run) -> str:
    run.need("user_mixin")
    mixin = run.made("user_mixin").facts["id"]
    answer = run.send(
        "DELETE",
        "-/",
        content_type=spec.TEXT_PLAIN,
        accept=spec.TEXT_PLAIN,
        body=text.write_lines([("Category", text.category_value(mixin, "mixin"))]),
    )
    if answer.status != 200:
        raise Failed(f"{answer.describe()} (GFD.223: 200)")
    run.forget(mixin)
    run.undo("user_mixin")
    listed = run.wire.request("GET", "-/", accept=spec.TEXT_PLAIN)
    if mixin in {c.identifier for c in text.read_body(listed.text).categories}:
        raise Failed(f"GET /-/ still lists {mixin}")
    return f"{mixin} removed"


def status_verdict(answer: Answer) -> str:
    """GFD.223: a delete answers 200; 204 and 202 are OCCI 1.1's (and HTTP's) forms."""
    if answer.status in (202, 204):
        raise Warned(f"{answer.describe()}: GFD.223 answers 200 (204 and 202 are OCCI 1.1's)")
    return f"{answer.status}, then 404"


def _link_delete(name: str) -> None:
    @check(
        f"{name}.delete",
        f"DELETE of the {name} removes it from the compute too",
        "GFD.223 Entity DELETE; GFD.221 Resource (links)",
    )
    def link_delete(run: Run) -> str:
        location = run.need(name)
        source, target = run.made(name).facts["source"], run.made(name).facts["target"]
        answer = delete_and_confirm(run, location)
        run.gone(name)
        _, view = run.read(source)
        if any(run.wire.path(link.target) == target for link in view.links):
            raise Failed(f"{source} still lists a link to {target}")
        return status_verdict(answer)


def _resource_delete(name: str, kind: str) -> None:
    @check(
        f"{name}.delete",
        f"DELETE of the {spec.term_of(kind)}: 200, then GET is 404",
        "GFD.223 Entity DELETE; Status Codes (404)",
    )
    def resource_delete(run: Run) -> str:
        location = run.need(name)
        answer = delete_and_confirm(run, location)
        run.gone(name)
        return status_verdict(answer)


_link_delete("storagelink")
_link_delete("networkinterface")
_resource_delete("compute", spec.COMPUTE)
_resource_delete("storage", spec.STORAGE)
_resource_delete("network", spec.NETWORK)
