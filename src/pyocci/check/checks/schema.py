"""JSON answers against GFD.226's schema (shipped with pyocci, see `pyocci.check.schema`)."""

from __future__ import annotations

from pyocci.check import spec, text
from pyocci.check.checks.common import fail_with
from pyocci.check.outcome import Failed, NotSupported, Skipped
from pyocci.check.registry import check
from pyocci.check.run import Run
from pyocci.check.schema import schema_errors


def _json_offered(run: Run) -> None:
    try:
        run.discovery(spec.OCCI_JSON)
    except NotSupported as absent:
        raise NotSupported(f"no JSON rendering: {absent.detail}") from None


@check(
    "schema.discovery",
    "The query interface in JSON is a valid GFD.226 model",
    "GFD.226 Appendix (schema: model, kind, mixin, action)",
)
def discovery(run: Run) -> str:
    _json_offered(run)
    document = run.discovery(spec.OCCI_JSON).document
    problems = [f"model: {e}" for e in schema_errors(document, "model")]
    counted = 0
    for section, definition in (("kinds", "kind"), ("mixins", "mixin"), ("actions", "action")):
        items = document.get(section, []) if isinstance(document, dict) else []
        for item in items if isinstance(items, list) else []:
            counted += 1
            member = item if isinstance(item, dict) else {}
            name = f"{member.get('scheme', '')}{member.get('term', '')}"
            problems += [f"{definition} {name}: {e}" for e in schema_errors(item, definition)]
    fail_with(problems)
    return f"{counted} categories valid"


#: The fixtures whose JSON renderings are checked, and their definition.
ENTITIES = (
    ("compute", "resource"),
    ("storage", "resource"),
    ("network", "resource"),
    ("storagelink", "link"),
    ("networkinterface", "link"),
)


@check(
    "schema.entities",
    "Resources and links in JSON are valid GFD.226 documents",
    "GFD.226 Appendix (schema: resource, link)",
)
def entities(run: Run) -> str:
    _json_offered(run)
    problems, valid, missing = [], [], []
    for fixture, definition in ENTITIES:
        try:
            location = run.need(fixture)
        except (NotSupported, Skipped) as absent:
            missing.append(f"{fixture} ({absent.detail})")
            continue
        _, view = run.read(location, spec.OCCI_JSON)
        found = schema_errors(view.document, definition)
        problems += [f"{fixture}: {e}" for e in found]
        if not found:
            valid.append(fixture)
    fail_with(problems)
    if not valid:
        raise Skipped("no entity to check: " + "; ".join(missing))
    return "valid: " + ", ".join(valid)


@check(
    "schema.collection",
    "A collection in JSON is a valid GFD.226 resource collection",
    "GFD.226 Collections; Appendix (schema: resource_collection)",
)
def collection(run: Run) -> str:
    _json_offered(run)
    compute = run.need("compute")
    title = run.made("compute").facts["title"]
    where = run.location_of(spec.COMPUTE) or spec.USUAL_LOCATIONS[spec.COMPUTE]
    # Filtered down to the run's own compute: a site's whole collection may be large.
    answer = run.wire.request(
        "GET",
        where,
        accept=spec.OCCI_JSON,
        headers=[("X-OCCI-Attribute", f"occi.core.title={text.quote(title)}")],
    )
    if answer.status != 200:
        raise Failed(answer.describe())
    document = answer.json()
    problems = [f"model: {e}" for e in schema_errors(document, "model")]
    collection_errors = schema_errors(document, "resource_collection")
    problems += [f"resource_collection: {e}" for e in collection_errors]
    fail_with(problems)
    members = document.get("resources", []) if isinstance(document, dict) else []
    ids = [m.get("id") for m in members if isinstance(m, dict)]
    if not ids:
        raise Failed(f"GET {where} in JSON does not hold {compute}")
    return f"valid, with {len(ids)} of the run's computes"
