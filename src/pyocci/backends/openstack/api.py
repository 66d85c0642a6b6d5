"""The openstacksdk connection, used off the event loop, with errors translated.

Every SDK call goes through `OpenStackApi.call`, which runs it in the
backend's thread pool and turns OpenStack's answers into backend errors,
keeping OpenStack's own message: 404 -> not found, 409 -> conflict,
403 -> quota or permission, 400 -> invalid request, and a cloud that cannot
be reached, times out or fails (5xx) -> unavailable, 503 with Retry-After.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import keystoneauth1.exceptions as ks_exceptions
import openstack
import openstack.exceptions as sdk_exceptions

from pyocci.backends.errors import (
    BackendUnavailableError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    QuotaExceededError,
)
from pyocci.backends.openstack.settings import OpenStackSettings

T = TypeVar("T")
RunBlocking = Callable[..., Awaitable[Any]]


def _message(error: Exception) -> str:
    details = getattr(error, "details", None)
    return str(details or error).strip()


def translate(error: Exception, retry_after: int) -> Exception:
    """The backend error for an openstacksdk or keystoneauth exception."""
    if isinstance(error, sdk_exceptions.ConfigException):
        return BackendUnavailableError(
            f"the OpenStack client configuration is wrong ([backend_settings] or "
            f"clouds.yaml): {_message(error)}",
            retry_after=retry_after,
        )
    if isinstance(error, sdk_exceptions.NotFoundException):
        return EntityNotFoundError(f"OpenStack: {_message(error)}")
    if isinstance(error, sdk_exceptions.ConflictException):
        return ConflictError(f"OpenStack: {_message(error)}")
    if isinstance(error, sdk_exceptions.ForbiddenException):
        return QuotaExceededError(f"OpenStack refused: {_message(error)}")
    if isinstance(error, sdk_exceptions.BadRequestException):
        return InvalidRequestError(f"OpenStack: {_message(error)}")
    if isinstance(error, sdk_exceptions.HttpException) and (error.status_code or 0) < 500:
        return InvalidRequestError(f"OpenStack: {_message(error)}")
    # 5xx, connection refused, timeouts, failed discovery: the cloud is not serving.
    return BackendUnavailableError(
        f"OpenStack is not answering: {_message(error)}", retry_after=retry_after
    )


class OpenStackApi:
    """One openstacksdk connection for the backend's service account."""

    def __init__(self, settings: OpenStackSettings, run_blocking: RunBlocking) -> None:
        self.settings = settings
        self._run_blocking = run_blocking
        self._connection: Any = None

    def connect(self) -> Any:
        """Build the connection (blocking); no request is made yet."""
        settings = self.settings
        options: dict[str, Any] = {"load_yaml_config": settings.cloud is not None}
        if settings.region_name:
            options["region_name"] = settings.region_name
        if settings.cloud is not None:
            self._connection = openstack.connect(cloud=settings.cloud, **options)
        elif settings.token is not None:
            self._connection = openstack.connect(
                auth_type="admin_token",
                auth={"token": settings.token, "endpoint": settings.compute_endpoint},
                compute_endpoint_override=settings.compute_endpoint,
                image_endpoint_override=settings.image_endpoint or settings.compute_endpoint,
                load_envvars=False,
                **options,
            )
        else:
            self._connection = openstack.connect(
                auth={
                    "auth_url": settings.auth_url,
                    "username": settings.username,
                    "password": settings.password,
                    "project_name": settings.project_name,
                    "user_domain_name": settings.user_domain_name,
                    "project_domain_name": settings.project_domain_name,
                },
                load_envvars=False,
                **options,
            )
        return self._connection

    @property
    def connection(self) -> Any:
        """The openstacksdk connection (after `connect`)."""
        if self._connection is None:
            raise RuntimeError("the OpenStack connection is not open yet")
        return self._connection

    def close(self) -> None:
        """Close the connection's HTTP sessions (blocking)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(connection, *args, **kwargs)`` in the thread pool, errors translated."""
        try:
            if self._connection is None:
                await self._run_blocking(self.connect)
            return await self._run_blocking(function, self._connection, *args, **kwargs)
        except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as error:
            raise translate(error, self.settings.retry_after) from None
