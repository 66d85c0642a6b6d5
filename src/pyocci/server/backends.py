"""Which backend serves: the installed backend the configuration names (see
`pyocci.backends.registry`), built from its settings table."""

from __future__ import annotations

from pyocci.backends import registry
from pyocci.backends.api import Backend
from pyocci.backends.bounded import DeadlineBackend
from pyocci.backends.registry import BackendSetup, BackendSetupError
from pyocci.model.registry import Model
from pyocci.server.config import ConfigError, ServerConfig
from pyocci.store.database import Database


async def open_backend(config: ServerConfig, model: Model, database: Database) -> DeadlineBackend:
    """Build and open the configured backend, every call bounded by ``[limits]
    cloud_deadline`` (the backend itself is its `inner`); ConfigError for an unknown
    name or settings."""
    backend = build_backend(config, model, database)
    await backend.open()
    return DeadlineBackend(backend, config.limits.cloud_deadline)


def check_backend(config: ServerConfig) -> None:
    """Raise ConfigError, before anything is served, if the backend cannot be built from
    the configuration (an unknown name, a missing library, wrong settings). Nothing is
    opened: no database, no connection to a cloud."""
    from pyocci.model.standard import standard_model

    build_backend(config, standard_model(), None)  # type: ignore[arg-type]


def build_backend(config: ServerConfig, model: Model, database: Database) -> Backend:
    """The configured backend, built but not opened (no I/O); ConfigError when it is not
    installed, misses a library, or refuses its settings."""
    setup = BackendSetup(
        model=model,
        database=database,
        settings=config.backend_settings,
        cloud_deadline=config.limits.cloud_deadline,
        auth_method=config.auth.method,
    )
    try:
        return registry.build_backend(config.backend, setup)
    except BackendSetupError as error:
        raise ConfigError(str(error)) from None
