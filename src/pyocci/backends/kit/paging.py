"""Paging across kinds: several listings shown as one sequence, offset and limit
counted over all of them.

How many entities a part holds is not known before it is read, so each part is
asked for everything up to the end of the page still wanted (offset 0, limit
offset + what is left), and the entities before the offset are passed over
here. A single part gets the query as it is, so it can push the offset down to
its cloud.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing

from pyocci.backends.api import Query
from pyocci.model.entity import Entity

#: One part of a chained listing: the entities of some kinds for a query.
Part = Callable[[Query], AsyncIterator[Entity]]


async def chain(
    query: Query, parts: Sequence[Part], keep: Callable[[Entity], bool] | None = None
) -> AsyncIterator[Entity]:
    """The entities of `parts`, one part after the other, paged by `query` as one
    sequence.

    `keep`, when given, filters what the parts give, for parts that cannot apply every
    filter of the query themselves: such a part takes the limit it is given as the size
    of the page to ask its cloud for, not as where to stop. Without `keep`, the parts
    are trusted to give only matching entities, at most `limit` of them."""
    if query.limit == 0:
        return
    if len(parts) == 1 and keep is None:
        async with aclosing(parts[0](query)) as entities:
            async for entity in entities:
                yield entity
        return
    skip, left = query.offset, query.limit
    for part in parts:
        wanted = None if left is None else skip + left
        # Closed at once when the page is full, so a cloud's paged read stops there.
        async with aclosing(part(dataclasses.replace(query, offset=0, limit=wanted))) as entities:
            async for entity in entities:
                if keep is not None and not keep(entity):
                    continue
                if skip:
                    skip -= 1
                    continue
                yield entity
                if left is not None:
                    left -= 1
                    if left <= 0:
                        return
