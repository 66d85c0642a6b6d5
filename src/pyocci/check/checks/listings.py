"""Collections: their renderings, filters and pages (GFD.223 "Collections GET",
"Pagination"; GFD.229 entity_collection; GFD.226 Collections)."""

from __future__ import annotations

from pyocci.check import spec, text
from pyocci.check.checks.common import MAX_PAGED, compute_collection, listing, locations
from pyocci.check.outcome import Failed, NotSupported
from pyocci.check.registry import check
from pyocci.check.run import Run


def _rendering_check(name: str, media_type: str, spec_text: str) -> None:
    @check(
        f"listings.{name}",
        f"The compute collection in {media_type} lists the new compute",
        f"GFD.223 Collections GET; {spec_text}",
    )
    def listed(run: Run) -> str:
        if media_type in (spec.OCCI_JSON, spec.TEXT_OCCI) and media_type not in run.renderings():
            raise NotSupported(f"no {media_type} rendering")
        compute = run.need("compute")
        members = listing(run, media_type)
        if compute not in members:
            raise Failed(f"{compute} is not among the {len(members)} listed")
        return f"{len(members)} listed"


_rendering_check("text-plain", spec.TEXT_PLAIN, "GFD.229 entity_collection (X-OCCI-Location)")
_rendering_check("text-occi", spec.TEXT_OCCI, "GFD.229 text/occi")
_rendering_check("uri-list", spec.URI_LIST, "GFD.229 text/uri-list")
_rendering_check("json", spec.OCCI_JSON, "GFD.226 Collections")


@check(
    "listings.filter-attribute",
    "An X-OCCI-Attribute in the request keeps only the entities with that value",
    "GFD.223 Collections GET (filter); GFD.229 X-OCCI-Attribute",
)
def filter_attribute(run: Run) -> str:
    compute = run.need("compute")
    title = run.made("compute").facts["title"]
    members = listing(
        run,
        spec.TEXT_PLAIN,
        headers=[("X-OCCI-Attribute", f"occi.core.title={text.quote(title)}")],
    )
    if members != [compute]:
        raise Failed(f"filtered by its title, the listing holds {members[:5]}, not [{compute}]")
    return f"title filter: {compute}"


@check(
    "listings.filter-category",
    "A Category in the request keeps only the entities of that category",
    "GFD.223 Collections GET (filter); GFD.229 Category",
)
def filter_category(run: Run) -> str:
    compute = run.need("tagged")
    mixin = run.made("user_mixin").facts["id"]
    members = listing(
        run, spec.TEXT_PLAIN, headers=[("Category", text.category_value(mixin, "mixin"))]
    )
    if members != [compute]:
        raise Failed(f"filtered by a mixin only it has, the listing holds {members[:5]}")
    return f"mixin filter: {compute}"


@check(
    "listings.paging",
    "?page=&number= pages a collection; past its end is 200 and empty",
    "GFD.223 Pagination",
)
def paging(run: Run) -> str:
    run.need("compute")
    everything = listing(run, spec.TEXT_PLAIN)
    if not everything:
        raise Failed("the compute collection is empty, though the run made a compute")
    seen: list[str] = []
    # GFD.223 leaves the first page's index open: a server counting from 1 may refuse 0.
    zero = run.wire.request(
        "GET", compute_collection(run), accept=spec.TEXT_PLAIN, params={"page": 0, "number": 1}
    )
    if zero.status == 200:
        seen += locations(run, zero)[:1]
    elif zero.status != 400:
        raise Failed(f"{zero.describe()}, neither a page nor a refused index")
    for page in range(1, min(len(everything), MAX_PAGED) + 1):
        members = listing(run, spec.TEXT_PLAIN, params={"page": page, "number": 1})
        if len(members) > 1:
            raise Failed(f"page {page} of number=1 holds {len(members)} entities")
        seen += [m for m in members if m not in seen]
    if len(everything) <= MAX_PAGED and set(seen) != set(everything):
        raise Failed(
            f"pages of one entity hold {len(seen)} of the {len(everything)} listed at once"
        )
    past = listing(run, spec.TEXT_PLAIN, params={"page": len(everything) + 2, "number": 1})
    if past:
        raise Failed(f"page {len(everything) + 2} of number=1 holds {past}; GFD.223: empty")
    return f"{len(seen)} of {len(everything)} entities met in pages of one"
