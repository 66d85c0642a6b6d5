"""Exports in a worker: the `/export/` collection and the runner, when the backend can
export and the site has not turned exports off."""

from __future__ import annotations

from pyocci.backends.api import Backend
from pyocci.model.export import DISK_FORMATS
from pyocci.server.config import ExportConfig
from pyocci.server.exports.runner import ExportRunner
from pyocci.service.exports import ExportingBackend
from pyocci.store.database import Database
from pyocci.store.exports import ExportRepository


class Exports:
    """One worker's export runner and the store it shares with the `/export/` collection."""

    def __init__(self, config: ExportConfig, source: Backend, database: Database) -> None:
        self.config = config
        self.database = database
        self.repository = ExportRepository(database)
        self.runner = ExportRunner(source, self.repository, database, config)

    def backend(self, served: Backend) -> ExportingBackend:
        """`served` with the export kind added (what the service serves)."""
        return ExportingBackend(
            served,
            self.repository,
            self.database,
            schemes=self.config.schemes,
            limit=self.config.max_per_tenant,
            sites=tuple(self.runner.glance),
            wake=self.runner.wake,
            store_version=self.database.data_version,
            formats=DISK_FORMATS if self.runner.converter is not None else (),
            conversion_refusal=self.runner.conversion_refusal,
        )

    async def close(self) -> None:
        """Stop the runner (its exports are left to the next start)."""
        await self.runner.close()


def start_exports(config: ExportConfig, backend: Backend, database: Database) -> Exports | None:
    """The worker's exports, their runner started; None when exports are off or the
    backend cannot read images (it advertises none then, and ``/export/`` is 501)."""
    if not config.enabled or backend.export_refusal is not None:
        return None
    exports = Exports(config, backend, database)
    exports.runner.start()
    return exports
