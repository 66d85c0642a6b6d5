"""Which backend serves: built from the configuration's name and settings table."""

from __future__ import annotations

from pyocci.backends.base import Backend
from pyocci.backends.bounded import DeadlineBackend
from pyocci.model.registry import Model
from pyocci.server.config import ConfigError, ServerConfig
from pyocci.store.database import Database

BACKENDS = ("sim", "ec2", "openstack")


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
    """The configured backend, built but not opened (no I/O); ConfigError for an unknown
    name or settings."""
    if config.backend == "sim":
        from pyocci.backends.sim.backend import SimBackend
        from pyocci.backends.sim.settings import SimSettings

        try:
            settings = SimSettings.from_dict(dict(config.backend_settings))
        except (ValueError, TypeError) as error:
            raise ConfigError(f"backend_settings for sim: {error}") from None
        backend: Backend = SimBackend(model=model, database=database, settings=settings)
    elif config.backend == "ec2":
        try:
            from pyocci.backends.ec2.backend import Ec2Backend
            from pyocci.backends.ec2.settings import Ec2Settings
        except ImportError as error:
            raise ConfigError(
                f"the ec2 backend needs boto3 ({error}); install it with pip install 'pyocci[ec2]'"
            ) from None
        try:
            ec2_settings = Ec2Settings.from_dict(dict(config.backend_settings))
            # EC2's own timeouts must fit in the deadline: checked here, before serving.
            ec2_settings.call_timeouts(config.limits.cloud_deadline)
        except (ValueError, TypeError) as error:
            raise ConfigError(f"backend_settings for ec2: {error}") from None
        backend = Ec2Backend(
            model=model, settings=ec2_settings, deadline=config.limits.cloud_deadline
        )
    elif config.backend == "openstack":
        try:
            from pyocci.backends.openstack.backend import OpenStackBackend
            from pyocci.backends.openstack.settings import OpenStackSettings
        except ImportError as error:
            raise ConfigError(
                f"the openstack backend needs openstacksdk ({error}); install it with "
                "pip install 'pyocci[openstack]'"
            ) from None
        try:
            openstack_settings = OpenStackSettings.from_dict(dict(config.backend_settings))
        except (ValueError, TypeError) as error:
            raise ConfigError(f"backend_settings for openstack: {error}") from None
        if openstack_settings.passes_tokens_through and config.auth.method != "keystone":
            raise ConfigError(
                "backend_settings for openstack: credentials = 'caller' passes callers' "
                "Keystone tokens through, so [auth] method must be 'keystone', not "
                f"{config.auth.method!r}"
            )
        backend = OpenStackBackend(
            model=model, settings=openstack_settings, deadline=config.limits.cloud_deadline
        )
    else:
        raise ConfigError(
            f"backend {config.backend!r} is not available; choose one of {', '.join(BACKENDS)}"
        )
    return backend
