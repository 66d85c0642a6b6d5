"""Paging across kinds: several parts shown as one sequence, offset and limit counted
over all of them, each part read no further than the page needs."""

from __future__ import annotations

import pytest

from pyocci.backends.api import Query
from pyocci.backends.kit.paging import chain
from pyocci.model import Resource

pytestmark = pytest.mark.anyio

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
STORAGE = "http://schemas.ogf.org/occi/infrastructure#storage"


def resources(kind: str, count: int, start: int = 0) -> list[Resource]:
    return [
        Resource(kind=kind, attributes={"occi.core.id": f"{kind[-1]}{n}", "n": n})
        for n in range(start, start + count)
    ]


class Part:
    """A part over fixed entities that pages itself, noting the queries and how many
    entities were taken from it."""

    def __init__(self, entities: list[Resource], *, pages_itself: bool = True) -> None:
        self.entities = entities
        self.pages_itself = pages_itself
        self.queries: list[Query] = []
        self.taken = 0
        self.closed = False

    async def __call__(self, query: Query):
        self.queries.append(query)
        source = query.page(self.entities) if self.pages_itself else iter(self.entities)
        try:
            for entity in source:
                self.taken += 1
                yield entity
        finally:
            self.closed = True


async def ids(query: Query, parts: list[Part], **options) -> list[str]:
    return [e.id async for e in chain(query, parts, **options)]


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, None, ["e0", "e1", "e2", "e0", "e1"]),
        (0, 2, ["e0", "e1"]),
        (2, 2, ["e2", "e0"]),
        (3, None, ["e0", "e1"]),
        (4, 5, ["e1"]),
        (5, 3, []),
        (0, 0, []),
    ],
)
async def test_offset_and_limit_count_over_every_part(offset, limit, expected) -> None:
    computes = [Resource(kind=COMPUTE, attributes={"occi.core.id": f"e{n}"}) for n in range(3)]
    storages = [Resource(kind=STORAGE, attributes={"occi.core.id": f"e{n}"}) for n in range(2)]
    query = Query(kinds=(COMPUTE, STORAGE), offset=offset, limit=limit)
    assert await ids(query, [Part(computes), Part(storages)]) == expected


async def test_each_part_is_asked_for_what_the_page_still_needs() -> None:
    first, second = Part(resources(COMPUTE, 3)), Part(resources(STORAGE, 10))
    await ids(Query(kinds=(COMPUTE, STORAGE), offset=2, limit=4), [first, second])
    assert (first.queries[0].offset, first.queries[0].limit) == (0, 6)
    # The first part's three went: two skipped, one shown; three more are wanted.
    assert (second.queries[0].offset, second.queries[0].limit) == (0, 3)


async def test_a_full_page_stops_reading_and_closes_the_part() -> None:
    first, second = Part(resources(COMPUTE, 10)), Part(resources(STORAGE, 10))
    assert len(await ids(Query(kinds=(COMPUTE, STORAGE), limit=3), [first, second])) == 3
    assert first.taken == 3 and first.closed
    assert second.queries == []


async def test_a_single_part_gets_the_query_as_it_is() -> None:
    only = Part(resources(COMPUTE, 10))
    query = Query(kinds=(COMPUTE,), offset=4, limit=2)
    assert await ids(query, [only]) == ["e4", "e5"]
    assert only.queries == [query]


async def test_keep_filters_what_parts_that_cannot_filter_give() -> None:
    unfiltered = Part(resources(COMPUTE, 10), pages_itself=False)
    query = Query(kinds=(COMPUTE,), attributes={"n": 7})
    assert await ids(query, [unfiltered], keep=query.matches) == ["e7"]
    odd = Part(resources(STORAGE, 10), pages_itself=False)
    query = Query(kinds=(STORAGE,), offset=1, limit=2)
    found = await ids(query, [odd], keep=lambda e: e.attributes["n"] % 2 == 1)
    assert found == ["e3", "e5"]
