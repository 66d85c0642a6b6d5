"""The backend interface's own logic: a query's filters and paging applied in Python."""

from __future__ import annotations

import pytest

from pyocci.backends.api import Query
from pyocci.model import Resource

pytestmark = pytest.mark.anyio

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
STORAGE = "http://schemas.ogf.org/occi/infrastructure#storage"


def entities() -> list[Resource]:
    """Ten computes and ten storages, interleaved; ``n`` says where each is."""
    made = []
    for n in range(20):
        kind = COMPUTE if n % 2 == 0 else STORAGE
        made.append(Resource(kind=kind, attributes={"occi.core.id": f"e{n}", "n": n}))
    return made


def taken(sequence: list[Resource], seen: list[int]):
    """The entities, noting in `seen` each one asked for."""
    for entity in sequence:
        seen.append(entity.attributes["n"])
        yield entity


async def ataken(sequence: list[Resource], seen: list[int]):
    for entity in taken(sequence, seen):
        yield entity


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [(0, None, list(range(0, 20, 2))), (3, 2, [6, 8]), (8, 5, [16, 18]), (12, None, [])],
)
async def test_page_and_apage_filter_skip_and_stop_alike(offset, limit, expected):
    query = Query(kinds=(COMPUTE,), offset=offset, limit=limit)
    seen: list[int] = []
    paged = [e.attributes["n"] for e in query.page(taken(entities(), seen))]
    seen_async: list[int] = []
    apaged = [e.attributes["n"] async for e in query.apage(ataken(entities(), seen_async))]
    assert paged == apaged == expected
    # A full page stops the reading at the next entity it keeps: no more is asked for.
    if limit is not None and expected:
        assert seen == seen_async
        assert max(seen) <= expected[-1] + 2


async def test_a_keep_function_replaces_the_querys_own_filters():
    query = Query(kinds=(COMPUTE,), limit=3)
    every = entities()
    odd = [e.attributes["n"] for e in query.page(every, keep=lambda e: e.attributes["n"] % 2 == 1)]
    assert odd == [1, 3, 5]
