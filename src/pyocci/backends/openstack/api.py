"""The openstacksdk connection, used off the event loop, with errors translated.

Every SDK call goes through `OpenStackApi.call`, which runs it in the
backend's thread pool and turns OpenStack's answers into backend errors,
keeping OpenStack's own message: 404 -> not found, 409 -> conflict,
403 -> quota or permission, 400 -> invalid request, and a cloud that cannot
be reached, times out or fails (5xx) -> unavailable, 503 with Retry-After.

Whose connection a call uses: the service account's, or, when the settings
pass callers' tokens through, the connection of the caller the backend is
acting for (`acting_for`, a context variable set at each request's entry,
so that the many calls below it need not carry the tenant). A caller's
connection is built from their Keystone token, rescoped to their project
(one Keystone request), and kept for the next requests with that token.

Each HTTP request to the cloud waits at most the server's cloud deadline for
an answer (openstacksdk's ``api_timeout``), so a call the deadline gave up
on does not hold its thread much longer.
"""

from __future__ import annotations

import contextvars
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import keystoneauth1.exceptions as ks_exceptions
import openstack
import openstack.exceptions as sdk_exceptions

from pyocci.backends.api import Tenant
from pyocci.backends.deadline import DEFAULT_DEADLINE
from pyocci.backends.errors import BackendUnavailableError, QuotaExceededError
from pyocci.backends.kit.errors import by_status
from pyocci.backends.openstack.settings import OpenStackSettings

T = TypeVar("T")
RunBlocking = Callable[..., Awaitable[Any]]

#: Callers' connections kept, the least recently used closed first.
CALLER_CONNECTIONS_KEPT = 256
#: The service names of openstacksdk and the settings naming their endpoints.
_ENDPOINT_SETTINGS = {
    "compute": "compute_endpoint",
    "image": "image_endpoint",
    "block_storage": "volume_endpoint",
    "network": "network_endpoint",
}

_acting_for: contextvars.ContextVar[Tenant | None] = contextvars.ContextVar(
    "pyocci_openstack_tenant", default=None
)


def acting_for(tenant: Tenant) -> None:
    """Make the calls of the current request (task) act for this tenant."""
    _acting_for.set(tenant)


def current_tenant() -> Tenant | None:
    """The tenant the current request acts for, if the backend was told."""
    return _acting_for.get()


def _message(error: Exception) -> str:
    details = getattr(error, "details", None)
    return str(details or error).strip()


def _status(error: Exception) -> int | None:
    """The HTTP status of the OpenStack answer an error stands for; None when there was
    no answer (the cloud could not be reached, timed out, is not in the catalogue)."""
    if isinstance(error, sdk_exceptions.NotFoundException):
        return 404  # also raised without an answer: nothing found by that name
    if isinstance(error, sdk_exceptions.HttpException):
        return error.status_code or 400
    return None


def translate(error: Exception, retry_after: int) -> Exception:
    """The backend error for an openstacksdk or keystoneauth exception."""
    if isinstance(error, sdk_exceptions.ConfigException):
        return BackendUnavailableError(
            f"the OpenStack client configuration is wrong ([backend_settings] or "
            f"clouds.yaml): {_message(error)}",
            retry_after=retry_after,
        )
    status = _status(error)
    if isinstance(error, ks_exceptions.Unauthorized) or status == 401:
        return QuotaExceededError(
            f"OpenStack refused the credentials: {_message(error)}; authenticate again"
        )
    if status is None or status >= 500:
        # Connection refused, timeouts, failed discovery, 5xx: the cloud is not serving.
        return BackendUnavailableError(
            f"OpenStack is not answering: {_message(error)}", retry_after=retry_after
        )
    # Cinder answers an exceeded quota with 413.
    said = "OpenStack refused" if status in (403, 413) else "OpenStack"
    return by_status(status, f"{said}: {_message(error)}", retry_after=retry_after)


class OpenStackApi:
    """openstacksdk connections: the service account's, and callers' when their tokens
    are passed through."""

    def __init__(
        self,
        settings: OpenStackSettings,
        run_blocking: RunBlocking,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.settings = settings
        self.deadline = deadline
        self._run_blocking = run_blocking
        self._connection: Any = None
        #: token -> that caller's connection, when callers' tokens are passed through.
        self._callers: OrderedDict[str, Any] = OrderedDict()

    @property
    def isolates_tenants(self) -> bool:
        """Whether tenants share one account, and so must be kept apart by tags: not when
        each caller acts in their own project."""
        return not self.settings.passes_tokens_through

    def _options(self) -> dict[str, Any]:
        settings = self.settings
        options: dict[str, Any] = {
            "load_yaml_config": settings.cloud is not None,
            "api_timeout": self.deadline,
        }
        if settings.region_name:
            options["region_name"] = settings.region_name
        for service, name in _ENDPOINT_SETTINGS.items():
            endpoint = getattr(settings, name)
            if endpoint is not None:
                options[f"{service}_endpoint_override"] = endpoint
        return options

    def connect(self) -> Any:
        """Build the service account's connection (blocking); no request is made yet."""
        settings = self.settings
        options = self._options()
        if settings.cloud is not None:
            self._connection = openstack.connect(cloud=settings.cloud, **options)
        elif settings.token is not None:
            self._connection = openstack.connect(
                auth_type="admin_token",
                auth={"token": settings.token, "endpoint": settings.compute_endpoint},
                load_envvars=False,
                **{"image_endpoint_override": settings.compute_endpoint, **options},
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
        """The service account's connection (after `connect`)."""
        if self._connection is None:
            raise RuntimeError("the OpenStack connection is not open yet")
        return self._connection

    def connect_caller(self, tenant: Tenant, token: str) -> Any:
        """A connection acting as the caller whose token this is, in their project
        (blocking; the token is rescoped on the first request)."""
        settings = self.settings
        return openstack.connect(
            auth_type="v3token",
            auth={
                "auth_url": settings.auth_url,
                "token": token,
                "project_id": tenant.id,
            },
            load_envvars=False,
            **self._options(),
        )

    def close(self) -> None:
        """Close every connection's HTTP sessions (blocking)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        while self._callers:
            self._callers.popitem()[1].close()

    async def _connection_for(self, tenant: Tenant | None) -> Any:
        if self.settings.passes_tokens_through and (tenant is None or tenant.token is not None):
            if tenant is None or tenant.token is None:
                if not self.settings.has_service_account:
                    # Only reached by a misconfigured server: the request was never
                    # authenticated with Keystone.
                    raise BackendUnavailableError(
                        "this server passes Keystone tokens through but the request "
                        "carries none: its [auth] method must be keystone",
                        retry_after=self.settings.retry_after,
                    )
            else:
                connection = self._callers.get(tenant.token)
                if connection is None:
                    connection = await self._run_blocking(self.connect_caller, tenant, tenant.token)
                    self._callers[tenant.token] = connection
                    while len(self._callers) > CALLER_CONNECTIONS_KEPT:
                        await self._run_blocking(self._callers.popitem(last=False)[1].close)
                self._callers.move_to_end(tenant.token)
                return connection
        if self._connection is None:
            await self._run_blocking(self.connect)
        return self._connection

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(connection, *args, **kwargs)`` in the thread pool, errors translated,
        with the connection of the tenant the request acts for (see `acting_for`)."""
        try:
            connection = await self._connection_for(current_tenant())
            return await self._run_blocking(function, connection, *args, **kwargs)
        except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as error:
            raise translate(error, self.settings.retry_after) from None

    async def call_as_service(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`call` with the service account's connection if there is one (the templates,
        shared by every tenant), else the caller's."""
        if not self.settings.has_service_account:
            return await self.call(function, *args, **kwargs)
        try:
            if self._connection is None:
                await self._run_blocking(self.connect)
            return await self._run_blocking(function, self._connection, *args, **kwargs)
        except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as error:
            raise translate(error, self.settings.retry_after) from None
