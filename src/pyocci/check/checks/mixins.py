"""User mixins: defined on the query interface, collections of their own (GFD.223 "Query
Interface POST", "Collections"; GFD.221 Mixin). Disassociating and removing them come with
the deletions, last in a run."""

from __future__ import annotations

from pyocci.check import spec
from pyocci.check.checks.common import locations
from pyocci.check.outcome import Failed, Skipped, Warned
from pyocci.check.registry import check
from pyocci.check.run import Run


@check(
    "mixins.define",
    "POST of a mixin Category to /-/ defines a user mixin, listed with its location",
    "GFD.223 Query Interface POST; GFD.221 Mixin (tags)",
)
def define(run: Run) -> str:
    made = run.made("user_mixin")
    if made.error is not None:
        raise type(made.error)(made.error.detail)
    if made.problems:
        # GFD.229 has the client name the location; a server that moves it still works.
        raise Warned("; ".join(made.problems))
    return f"{made.facts['id']} at {made.location}"


@check(
    "mixins.empty",
    "A collection with no member is 200 with an empty rendering",
    "GFD.223 Collections GET; Pagination (no content: 200, empty collection)",
)
def empty(run: Run) -> str:
    collection = run.need("user_mixin")
    if run.has_made("tagged"):
        raise Skipped("the user mixin has a member already (this check runs before associate)")
    answer = run.wire.request("GET", collection, accept=spec.TEXT_PLAIN)
    if answer.status == 204:
        raise Failed(f"{answer.describe()}: 204 is OCCI 1.1's; GFD.223 answers 200")
    if answer.status != 200:
        raise Failed(answer.describe())
    members = locations(run, answer)
    if members:
        raise Failed(f"the new user mixin's collection lists {members[:5]}")
    return f"GET {collection} -> 200, empty"


@check(
    "mixins.associate",
    "POST of a location to the mixin's collection gives the entity the mixin",
    "GFD.223 Collections POST (associate); GFD.221 Mixin",
)
def associate(run: Run) -> str:
    made = run.made("tagged")
    if made.error is not None:
        raise type(made.error)(made.error.detail)
    compute = run.need("tagged")
    mixin = run.made("user_mixin").facts["id"]
    collection = run.need("user_mixin")
    _, view = run.read(compute)
    problems = []
    if mixin not in view.mixins:
        problems.append(f"{compute} does not show the mixin {mixin}")
    answer = run.wire.request("GET", collection, accept=spec.TEXT_PLAIN)
    if answer.status != 200 or compute not in locations(run, answer):
        problems.append(f"GET {collection} -> {answer.status} does not list {compute}")
    if problems:
        raise Failed("; ".join(problems))
    return f"{compute} in {collection}"
