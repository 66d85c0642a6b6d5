"""User mixins and their members: the OCCI-only state every backend needs.

No cloud keeps OCCI user mixins (tags, groupings a client defines at the
query interface) or which entities a client associated with them, so the
store does, per tenant, for whatever backend serves the entities. Members
are entity locations (``/compute/<id>``), listed in association order.

Every method is a blocking call that runs in its own transaction; from async
code call them through `Database.run`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from pyocci.model.category import Mixin
from pyocci.model.errors import CategoryConflictError, UnknownCategoryError
from pyocci.store.database import Database
from pyocci.store.tables import mixin_members, user_mixins
from pyocci.store.topics import CATALOG

# Bound parameters per IN list; SQLite allows 32,766 per statement.
_CHUNK = 5000


def _unique(locations: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(locations))


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class MixinRepository:
    """Each tenant's user mixins (with scheme, term, title, location, depends, applies)
    and the entities associated with them.

    Definitions are checked by the service against the model before they get
    here; the store keeps them and enforces uniqueness of identifier and
    location per tenant (`CategoryConflictError`).
    """

    def __init__(self, database: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self._clock = clock

    # --- definitions ------------------------------------------------------------------

    def definitions_version(self) -> Hashable | None:
        """A value that moves whenever a user mixin is defined or deleted, through this
        process or any other (see `Database.data_version`); None when the database
        cannot tell. Cheap and never waiting on another process: asked on the event
        loop before every use of a cached catalogue."""
        return self.database.data_version(CATALOG)

    def list_user_mixins(self, tenant_id: str) -> list[Mixin]:
        """The tenant's user mixins, oldest first."""
        query = (
            sa.select(user_mixins)
            .where(user_mixins.c.tenant_id == tenant_id)
            .order_by(user_mixins.c.seq)
        )
        with self.database.reading() as connection:
            return [_mixin(row) for row in connection.execute(query)]

    def get_user_mixin(self, tenant_id: str, mixin_id: str) -> Mixin | None:
        """One user mixin of the tenant, or None."""
        query = sa.select(user_mixins).where(
            user_mixins.c.tenant_id == tenant_id, user_mixins.c.mixin_id == mixin_id
        )
        with self.database.reading() as connection:
            row = connection.execute(query).first()
        return None if row is None else _mixin(row)

    def add_user_mixin(self, tenant_id: str, mixin: Mixin) -> None:
        """Keep a new user mixin; CategoryConflictError if its id or location is taken."""
        if mixin.location is None:
            raise CategoryConflictError(f"user mixin {mixin.id!r} needs a location")
        with self.database.transaction() as connection:
            taken = connection.execute(
                sa.select(user_mixins.c.mixin_id, user_mixins.c.location).where(
                    user_mixins.c.tenant_id == tenant_id,
                    sa.or_(
                        user_mixins.c.mixin_id == mixin.id,
                        user_mixins.c.location == mixin.location,
                    ),
                )
            ).first()
            if taken is not None:
                if taken.mixin_id == mixin.id:
                    raise CategoryConflictError(f"user mixin {mixin.id!r} is already defined")
                raise CategoryConflictError(
                    f"location {mixin.location!r} is already bound to {taken.mixin_id!r}"
                )
            try:
                connection.execute(
                    user_mixins.insert().values(
                        tenant_id=tenant_id,
                        mixin_id=mixin.id,
                        scheme=mixin.scheme,
                        term=mixin.term,
                        title=mixin.title,
                        location=mixin.location,
                        depends=list(mixin.depends),
                        applies=list(mixin.applies),
                        created_at=self._clock(),
                    )
                )
            except sa.exc.IntegrityError as error:
                # Another worker defined it between our check and our insert.
                raise CategoryConflictError(
                    f"user mixin {mixin.id!r} or location {mixin.location!r} is already defined"
                ) from error

    def remove_user_mixin(self, tenant_id: str, mixin_id: str) -> bool:
        """Forget a user mixin and its members; False if the tenant had no such mixin."""
        with self.database.transaction() as connection:
            # Explicit rather than left to ON DELETE CASCADE alone, so the
            # members go even on a database opened without foreign keys.
            connection.execute(
                mixin_members.delete().where(
                    mixin_members.c.tenant_id == tenant_id, mixin_members.c.mixin_id == mixin_id
                )
            )
            result = connection.execute(
                user_mixins.delete().where(
                    user_mixins.c.tenant_id == tenant_id, user_mixins.c.mixin_id == mixin_id
                )
            )
            return result.rowcount > 0

    # --- membership ----------------------------------------------------------------------

    def members(
        self, tenant_id: str, mixin_id: str, *, offset: int = 0, limit: int | None = None
    ) -> list[str]:
        """Locations of the entities associated with a user mixin, in association order."""
        query = (
            sa.select(mixin_members.c.location)
            .where(mixin_members.c.tenant_id == tenant_id, mixin_members.c.mixin_id == mixin_id)
            .order_by(mixin_members.c.seq)
            .offset(offset)
            .limit(limit)
        )
        with self.database.reading() as connection:
            return list(connection.scalars(query))

    def count_members(self, tenant_id: str, mixin_id: str) -> int:
        """How many entities are associated with a user mixin."""
        query = sa.select(sa.func.count()).where(
            mixin_members.c.tenant_id == tenant_id, mixin_members.c.mixin_id == mixin_id
        )
        with self.database.reading() as connection:
            return connection.scalar(query) or 0

    def mixins_of(self, tenant_id: str, locations: Sequence[str]) -> dict[str, list[str]]:
        """The user mixins of each location (every location is a key), in one query
        for any page of entities."""
        found: dict[str, list[str]] = {location: [] for location in locations}
        if not found:
            return found
        with self.database.reading() as connection:
            for chunk in _chunks(list(found)):
                rows = connection.execute(
                    sa.select(mixin_members.c.location, mixin_members.c.mixin_id)
                    .where(
                        mixin_members.c.tenant_id == tenant_id,
                        mixin_members.c.location.in_(chunk),
                    )
                    .order_by(mixin_members.c.seq)
                )
                for location, mixin_id in rows:
                    found[location].append(mixin_id)
        return found

    def associate(self, tenant_id: str, mixin_id: str, locations: Iterable[str]) -> None:
        """Add entities to a user mixin, after those already there.

        Locations already associated are left where they are.
        UnknownCategoryError if the tenant has no such user mixin.
        """
        with self.database.transaction() as connection:
            self._require(connection, tenant_id, mixin_id)
            self._add(connection, tenant_id, mixin_id, _unique(locations))

    def disassociate(self, tenant_id: str, mixin_id: str, locations: Iterable[str] | None) -> None:
        """Remove entities from a user mixin (all of them with None); unknown ones are ignored."""
        condition = sa.and_(
            mixin_members.c.tenant_id == tenant_id, mixin_members.c.mixin_id == mixin_id
        )
        with self.database.transaction() as connection:
            if locations is None:
                connection.execute(mixin_members.delete().where(condition))
                return
            for chunk in _chunks(_unique(locations)):
                connection.execute(
                    mixin_members.delete().where(condition, mixin_members.c.location.in_(chunk))
                )

    def replace_members(self, tenant_id: str, mixin_id: str, locations: Iterable[str]) -> None:
        """Make exactly these entities the members of a user mixin, in this order."""
        with self.database.transaction() as connection:
            self._require(connection, tenant_id, mixin_id)
            connection.execute(
                mixin_members.delete().where(
                    mixin_members.c.tenant_id == tenant_id, mixin_members.c.mixin_id == mixin_id
                )
            )
            self._add(connection, tenant_id, mixin_id, _unique(locations))

    def forget_entity(self, tenant_id: str, location: str) -> None:
        """Drop a deleted entity from every user mixin of the tenant."""
        with self.database.transaction() as connection:
            connection.execute(
                mixin_members.delete().where(
                    mixin_members.c.tenant_id == tenant_id, mixin_members.c.location == location
                )
            )

    # --- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _require(connection: Connection, tenant_id: str, mixin_id: str) -> None:
        exists = connection.scalar(
            sa.select(user_mixins.c.seq).where(
                user_mixins.c.tenant_id == tenant_id, user_mixins.c.mixin_id == mixin_id
            )
        )
        if exists is None:
            raise UnknownCategoryError(mixin_id, "user mixin")

    def _add(
        self, connection: Connection, tenant_id: str, mixin_id: str, locations: list[str]
    ) -> None:
        if not locations:
            return
        # Members already there stay where they are; so does a concurrent writer's.
        dialect_insert = postgresql.insert if self.database.is_postgresql else sqlite.insert
        connection.execute(
            dialect_insert(mixin_members).on_conflict_do_nothing(
                index_elements=["tenant_id", "mixin_id", "location"]
            ),
            [
                {"tenant_id": tenant_id, "mixin_id": mixin_id, "location": location}
                for location in locations
            ],
        )


def _mixin(row: sa.Row) -> Mixin:
    return Mixin(
        scheme=row.scheme,
        term=row.term,
        title=row.title,
        location=row.location,
        depends=tuple(row.depends or ()),
        applies=tuple(row.applies or ()),
    )
