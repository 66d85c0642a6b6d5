"""Image exports: the durable record of each export, which the runner works from.

An export is written here when a client asks for it (state ``pending``) and
changed by the runner that claims it (``transferring``, progress, then
``active`` or ``error``) or by the client (``cancelled``, deleted). A
runner's claim is a lease: it renews it with every progress it records, and a
claim whose lease ran out (its server stopped) can be taken by the next
runner, which starts the export over. So nothing but this table has to
survive a restart.

Every method is a blocking call that runs in its own transaction; from async
code call them through `Database.run`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from pyocci.model.export import CANCELLED, PENDING, RUNNING_STATES, TRANSFERRING
from pyocci.store.database import Database
from pyocci.store.tables import exports

__all__ = ["ExportLimitError", "ExportRecord", "ExportRepository"]


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One export as the store keeps it."""

    seq: int
    tenant_id: str
    export_id: str
    source: str
    #: The whole target URL (a pre-signed URL's query included): a secret.
    target: str
    state: str
    tenant_name: str | None = None
    title: str | None = None
    summary: str | None = None
    message: str | None = None
    bytes_done: int = 0
    size: int | None = None
    #: The disk format of the bytes (``raw``, ``qcow2``...), once the cloud said.
    disk_format: str | None = None
    checksum: str | None = None
    url: str | None = None
    #: The disk format the client asked for; None: the cloud's, unconverted.
    export_format: str | None = None
    #: The disk format the cloud holds the image in, once read.
    source_format: str | None = None
    #: ``reading``, ``converting`` or ``uploading`` while transferring.
    stage: str | None = None
    #: Percent done of the reading or converting stage (uploading: see bytes_done).
    stage_percent: int | None = None
    #: Whether the target confirmed the checksum (None until active).
    checksum_verified: bool | None = None
    owner: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def __repr__(self) -> str:
        # The target can carry a credential: never in a log line or a traceback.
        return f"ExportRecord({self.tenant_id!r}, {self.export_id!r}, state={self.state!r})"


class ExportLimitError(Exception):
    """The tenant already has as many exports running as it may."""

    def __init__(self, running: int, limit: int) -> None:
        super().__init__(
            f"{running} exports of yours are pending or transferring and this site runs at "
            f"most {limit} at once; wait for one to end or cancel one"
        )
        self.running = running
        self.limit = limit


def _record(row: sa.Row) -> ExportRecord:
    return ExportRecord(
        seq=row.seq,
        tenant_id=row.tenant_id,
        export_id=row.export_id,
        source=row.source,
        target=row.target,
        state=row.state,
        tenant_name=row.tenant_name,
        title=row.title,
        summary=row.summary,
        message=row.message,
        bytes_done=row.bytes_done,
        size=row.size,
        disk_format=row.disk_format,
        checksum=row.checksum,
        url=row.url,
        export_format=row.export_format,
        source_format=row.source_format,
        stage=row.stage,
        stage_percent=row.stage_percent,
        checksum_verified=row.checksum_verified,
        owner=row.owner,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_RUNNING = exports.c.state.in_(RUNNING_STATES)


class ExportRepository:
    """Every tenant's exports, and the claims runners hold on those still running."""

    def __init__(self, database: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self._clock = clock

    # --- what clients do -----------------------------------------------------------------

    def create(
        self,
        tenant_id: str,
        export_id: str,
        source: str,
        target: str,
        *,
        limit: int,
        tenant_name: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        export_format: str | None = None,
    ) -> ExportRecord:
        """A new pending export (in `export_format`, or the cloud's when None);
        ExportLimitError when the tenant has `limit` running."""
        now = self._clock()
        with self.database.transaction() as connection:
            # Two creates of one tenant on PostgreSQL must not both see room for one.
            self.database.lock(connection, f"occi_exports:{tenant_id}")
            running = self._running(connection, tenant_id)
            if running >= limit:
                raise ExportLimitError(running, limit)
            connection.execute(
                exports.insert().values(
                    tenant_id=tenant_id,
                    export_id=export_id,
                    tenant_name=tenant_name,
                    title=title,
                    summary=summary,
                    source=source,
                    target=target,
                    export_format=export_format,
                    state=PENDING,
                    bytes_done=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            return self._one(connection, tenant_id, export_id)  # type: ignore[return-value]

    @staticmethod
    def _running(connection: Connection, tenant_id: str) -> int:
        return connection.scalar(
            sa.select(sa.func.count()).where(exports.c.tenant_id == tenant_id, _RUNNING)
        )

    @staticmethod
    def _one(connection: Connection, tenant_id: str, export_id: str) -> ExportRecord | None:
        row = connection.execute(
            sa.select(exports).where(
                exports.c.tenant_id == tenant_id, exports.c.export_id == export_id
            )
        ).first()
        return None if row is None else _record(row)

    def get(self, tenant_id: str, export_id: str) -> ExportRecord | None:
        """One export of the tenant, or None."""
        with self.database.reading() as connection:
            return self._one(connection, tenant_id, export_id)

    def list(
        self,
        tenant_id: str,
        *,
        offset: int = 0,
        limit: int | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[ExportRecord]:
        """The tenant's exports, oldest first, paged."""
        query = sa.select(exports).where(exports.c.tenant_id == tenant_id)
        if ids is not None:
            query = query.where(exports.c.export_id.in_(list(ids)))
        query = query.order_by(exports.c.seq).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.database.reading() as connection:
            return [_record(row) for row in connection.execute(query)]

    def count(self, tenant_id: str) -> int:
        """How many exports the tenant has."""
        with self.database.reading() as connection:
            return connection.scalar(
                sa.select(sa.func.count()).where(exports.c.tenant_id == tenant_id)
            )

    def cancel(self, tenant_id: str, export_id: str, message: str) -> ExportRecord | None:
        """Cancel an export still running (its runner sees it at its next progress);
        the export as it is then, or None if the tenant has no such export."""
        with self.database.transaction() as connection:
            connection.execute(
                exports.update()
                .where(
                    exports.c.tenant_id == tenant_id,
                    exports.c.export_id == export_id,
                    _RUNNING,
                )
                .values(state=CANCELLED, message=message, updated_at=self._clock())
            )
            return self._one(connection, tenant_id, export_id)

    def delete(self, tenant_id: str, export_id: str) -> bool:
        """Forget an export (a runner still at it stops at its next progress)."""
        with self.database.transaction() as connection:
            deleted = connection.execute(
                exports.delete().where(
                    exports.c.tenant_id == tenant_id, exports.c.export_id == export_id
                )
            )
            return deleted.rowcount > 0

    # --- what runners do ---------------------------------------------------------------------

    def claim(self, owner: str, lease: float) -> ExportRecord | None:
        """Take the oldest running export nobody holds (or whose holder's lease ran out)
        for `owner`, for `lease` seconds; None when there is none."""
        now = self._clock()
        free = sa.or_(exports.c.owner.is_(None), exports.c.lease_until < now)
        with self.database.transaction() as connection:
            seq = connection.scalar(
                sa.select(exports.c.seq).where(_RUNNING, free).order_by(exports.c.seq).limit(1)
            )
            if seq is None:
                return None
            taken = connection.execute(
                exports.update()
                .where(exports.c.seq == seq, _RUNNING, free)
                .values(
                    owner=owner,
                    lease_until=now + lease,
                    state=TRANSFERRING,
                    message=None,
                    bytes_done=0,
                    disk_format=None,
                    checksum=None,
                    url=None,
                    source_format=None,
                    stage=None,
                    stage_percent=None,
                    checksum_verified=None,
                    updated_at=now,
                )
            )
            if taken.rowcount != 1:
                return None
            row = connection.execute(sa.select(exports).where(exports.c.seq == seq)).one()
            return _record(row)

    def progress(
        self,
        seq: int,
        owner: str,
        lease: float,
        *,
        bytes_done: int,
        size: int | None,
        disk_format: str | None = None,
        source_format: str | None = None,
        stage: str | None = None,
        stage_percent: int | None = None,
    ) -> bool:
        """Record how far the owner got and renew its lease; False when the export is
        no longer its to work on (cancelled, deleted, taken over): stop then."""
        now = self._clock()
        with self.database.transaction() as connection:
            changed = connection.execute(
                exports.update()
                .where(
                    exports.c.seq == seq,
                    exports.c.owner == owner,
                    exports.c.state == TRANSFERRING,
                )
                .values(
                    bytes_done=bytes_done,
                    size=size,
                    disk_format=disk_format,
                    source_format=source_format,
                    stage=stage,
                    stage_percent=stage_percent,
                    lease_until=now + lease,
                    updated_at=now,
                )
            )
            return changed.rowcount == 1

    def finish(
        self,
        seq: int,
        owner: str,
        state: str,
        *,
        message: str | None = None,
        bytes_done: int | None = None,
        checksum: str | None = None,
        url: str | None = None,
        checksum_verified: bool | None = None,
    ) -> bool:
        """End the owner's export in `state` (``active`` or ``error``); False when it
        was no longer the owner's (cancelled or deleted meanwhile)."""
        values: dict[str, object] = {
            "state": state,
            "message": message,
            "checksum": checksum,
            "url": url,
            "checksum_verified": checksum_verified,
            "stage_percent": None,
            "owner": None,
            "lease_until": None,
            "updated_at": self._clock(),
        }
        if bytes_done is not None:
            values["bytes_done"] = bytes_done
        with self.database.transaction() as connection:
            changed = connection.execute(
                exports.update()
                .where(
                    exports.c.seq == seq,
                    exports.c.owner == owner,
                    exports.c.state == TRANSFERRING,
                )
                .values(**values)
            )
            return changed.rowcount == 1

    def release(self, owner: str) -> int:
        """Give up the owner's claims (a server stopping): the next runner takes them at
        once instead of after the lease. How many were released."""
        with self.database.transaction() as connection:
            released = connection.execute(
                exports.update()
                .where(exports.c.owner == owner, _RUNNING)
                .values(owner=None, lease_until=None, state=PENDING)
            )
            return released.rowcount
