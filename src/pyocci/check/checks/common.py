"""What several checks use: failing with a list of problems, reading collections."""

from __future__ import annotations

from pyocci.check import spec, text
from pyocci.check.outcome import Failed
from pyocci.check.run import Run
from pyocci.check.wire import Answer

#: How many problems a failure's detail lists before "and N more".
SHOWN = 3


def fail_with(problems: list[str], prefix: str = "") -> None:
    """Failed listing the first problems, if there are any."""
    if problems:
        more = f" (and {len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        raise Failed(prefix + "; ".join(problems[:SHOWN]) + more)


#: A collection longer than this is paged only at its start (a site may hold thousands).
MAX_PAGED = 20


def compute_collection(run: Run) -> str:
    """Where computes are listed (as a path)."""
    return run.location_of(spec.COMPUTE) or spec.USUAL_LOCATIONS[spec.COMPUTE]


def locations(run: Run, answer: Answer) -> list[str]:
    """The members of a collection answer, as paths, in the order given."""
    if answer.media_type == spec.URI_LIST:
        found = [
            line.strip()
            for line in answer.text.splitlines()
            if line.strip() and not line.startswith("#")
        ]
    elif answer.media_type in spec.JSON_TYPES:
        document = answer.json()
        if not isinstance(document, dict):
            raise Failed(f"{answer.describe()}: not a JSON object")
        found = []
        kind_locations = {}
        for member in document.get("resources", []) + document.get("links", []):
            kind = member.get("kind")
            if kind not in kind_locations:
                kind_locations[kind] = run.location_of(kind) or ""
            found.append(kind_locations[kind] + str(member.get("id")))
    elif answer.media_type == spec.TEXT_OCCI:
        found = text.read_headers(answer.headers.multi_items()).locations
    else:
        found = text.read_body(answer.text).locations
    return [run.wire.path(location) for location in found]


def listing(run: Run, media_type: str, **request: object) -> list[str]:
    """GET the compute collection in `media_type`; its members; Failed unless 200 in
    that rendering (GFD.223: 200 with a collection rendering, even when empty)."""
    where = compute_collection(run)
    answer = run.wire.request("GET", where, accept=media_type, **request)  # type: ignore[arg-type]
    if answer.status != 200:
        raise Failed(f"{answer.describe()} (GFD.223: 200 with a collection rendering)")
    if answer.media_type != media_type:
        raise Failed(f"{answer.describe()} in {answer.media_type or 'no type'}, not {media_type}")
    return locations(run, answer)


def delete_and_confirm(run: Run, location: str) -> Answer:
    """DELETE, then GET until 404 (a cloud may take a moment); Failed when the delete is
    refused or the entity stays."""
    answer = run.send("DELETE", location)
    if answer.status >= 300 and answer.status not in spec.GONE:
        raise Failed(f"{answer.describe()} (GFD.223: 200)")
    deadline = run.clock() + run.options.wait_timeout
    pause = 0.25
    while True:
        read = run.wire.request("GET", location, accept=spec.TEXT_PLAIN)
        if read.status in spec.GONE:
            run.forget(location)
            return answer
        if run.clock() + pause > deadline:
            raise Failed(f"{answer.describe()}, yet GET {location} still answers {read.status}")
        run.sleep(pause)
        pause = min(pause * 2, 5.0)
