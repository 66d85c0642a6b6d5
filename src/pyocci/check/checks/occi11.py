"""What OCCI 1.1 clients (GFD.183-185), still common at sites, count on from a 1.2 server.

GFD.221 declares 1.2 compatible with 1.1; these are the 1.1 rules that 1.2
dropped or left unsaid and that 1.1 clients (rOCCI-cli 4) still rely on.
"""

from __future__ import annotations

from pyocci.check import spec, text
from pyocci.check.checks.common import compute_collection, fail_with
from pyocci.check.documents import NewEntity
from pyocci.check.fixtures import create
from pyocci.check.outcome import Failed
from pyocci.check.registry import check
from pyocci.check.run import Run


@check(
    "occi11.user-agent",
    "A client claiming OCCI/1.1 is served (not 501)",
    "GFD.223 Versioning (501 only for a higher version); GFD.221 1.1 compatibility",
)
def user_agent(run: Run) -> str:
    answer = run.wire.request("GET", "-/", accept=spec.TEXT_PLAIN, version=spec.VERSION_11)
    if answer.status != 200:
        raise Failed(answer.describe())
    categories = text.read_body(answer.text).categories
    if not categories:
        raise Failed("GET /-/ as an OCCI/1.1 client lists no category")
    return f"{len(categories)} categories"


@check(
    "occi11.default-rendering",
    "With Accept: */* the query interface is text/plain",
    "GFD.185 (OCCI 1.1 HTTP Rendering: text/plain is the default)",
)
def default_rendering(run: Run) -> str:
    answer = run.wire.request("GET", "-/", accept="*/*", version=spec.VERSION_11)
    if answer.status != 200:
        raise Failed(answer.describe())
    if answer.media_type != spec.TEXT_PLAIN:
        raise Failed(f"Accept: */* answered {answer.media_type or 'no type'}, not text/plain")
    return "text/plain"


@check(
    "occi11.locations-slash",
    "Every kind and mixin location ends with /",
    "GFD.185 (locations of categories end with '/')",
)
def locations_slash(run: Run) -> str:
    model = run.model
    wrong = [
        f"{c.identifier}: {c.location}"
        for c in model.categories.values()
        if c.location and not run.wire.path(c.location).endswith("/")
    ]
    fail_with(wrong)
    return f"{sum(1 for c in model.categories.values() if c.location)} locations"


@check(
    "occi11.create",
    "An OCCI/1.1 client creates in text/plain and finds the location",
    "GFD.185 (201 with Location, X-OCCI-Location); GFD.223 Collections POST",
)
def create_as_11(run: Run) -> str:
    entity = NewEntity(
        spec.STORAGE,
        attributes={
            "occi.core.title": run.title("storage of an OCCI 1.1 client"),
            "occi.storage.size": run.options.storage_size,
        },
    )
    made = create(run, "storage", entity, spec.TEXT_PLAIN, version=spec.VERSION_11)
    fail_with(made.problems)
    answer = run.wire.request(
        "GET", made.location or "", accept=spec.TEXT_PLAIN, version=spec.VERSION_11
    )
    if answer.status != 200:
        raise Failed(answer.describe())
    return f"{made.answer.status if made.answer else '?'} {made.location}"


@check(
    "occi11.collection",
    "An OCCI/1.1 client lists the compute collection in X-OCCI-Location lines",
    "GFD.185 (collections: X-OCCI-Location lines)",
)
def collection(run: Run) -> str:
    compute = run.need("compute")
    answer = run.wire.request(
        "GET", compute_collection(run), accept=spec.TEXT_PLAIN, version=spec.VERSION_11
    )
    if answer.status != 200:
        raise Failed(answer.describe())
    read = text.read_body(answer.text)
    fail_with(read.problems)
    members = [run.wire.path(location) for location in read.locations]
    if compute not in members:
        raise Failed(f"{compute} is not among the {len(members)} listed")
    return f"{len(members)} listed"
