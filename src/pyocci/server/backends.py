"""Which backend serves: built from the configuration's name and settings table."""

from __future__ import annotations

from pyocci.backends.base import Backend
from pyocci.model.registry import Model
from pyocci.server.config import ConfigError, ServerConfig
from pyocci.store.database import Database

BACKENDS = ("sim",)


async def open_backend(config: ServerConfig, model: Model, database: Database) -> Backend:
    """Build and open the configured backend; ConfigError for an unknown name or settings."""
    if config.backend == "sim":
        from pyocci.backends.sim.backend import SimBackend
        from pyocci.backends.sim.settings import SimSettings

        try:
            settings = SimSettings.from_dict(dict(config.backend_settings))
        except (ValueError, TypeError) as error:
            raise ConfigError(f"backend_settings for sim: {error}") from None
        backend: Backend = SimBackend(model=model, database=database, settings=settings)
    else:
        raise ConfigError(
            f"backend {config.backend!r} is not available; choose one of {', '.join(BACKENDS)}"
        )
    await backend.open()
    return backend
