"""The ``[backend_settings]`` of the OpenStack backend.

The cloud is named one of three ways: ``cloud``, an entry of clouds.yaml;
explicit Keystone settings (``auth_url``, ``username``, ``password``,
``project_name`` and the domains); or ``token`` with ``compute_endpoint``
(and ``image_endpoint``), for a cloud reached without Keystone.

``credentials`` says whose credentials reach the cloud: ``service`` (the
default), the one account above for every tenant, or ``caller``, each
caller's own Keystone token passed through, so that each user acts as
themselves in their own project (the server's ``[auth] method`` must then be
``keystone``, and ``auth_url`` names the Keystone the tokens are rescoped
with).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

_TEXT = (
    "default_image",
    "default_flavor",
    "cloud",
    "auth_url",
    "username",
    "password",
    "project_name",
    "user_domain_name",
    "project_domain_name",
    "region_name",
    "token",
    "compute_endpoint",
    "image_endpoint",
    "volume_endpoint",
    "network_endpoint",
)
#: Whose credentials reach the cloud.
CREDENTIALS = ("service", "caller")
#: The services the backend can serve OCCI from; compute is always served.
SERVICES = ("compute", "volume", "network")
#: The setting naming each service's endpoint.
ENDPOINT_SETTINGS = {
    "compute": "compute_endpoint",
    "volume": "volume_endpoint",
    "network": "network_endpoint",
}


@dataclass(frozen=True, slots=True)
class OpenStackSettings:
    """How to reach the cloud, and how the backend pages and waits."""

    cloud: str | None = None
    auth_url: str | None = None
    username: str | None = None
    password: str | None = None
    project_name: str | None = None
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    region_name: str | None = None
    token: str | None = None
    compute_endpoint: str | None = None
    image_endpoint: str | None = None
    volume_endpoint: str | None = None
    network_endpoint: str | None = None
    #: "service": the account above for every tenant; "caller": each caller's own
    #: Keystone token, passed through.
    credentials: str = "service"
    #: The services served ("volume": storage from Cinder, "network": networks, ports,
    #: floating IPs and security groups from Neutron). None: every service, except with
    #: `token`, where only those whose endpoint is given.
    services: tuple[str, ...] | None = None
    #: The most servers asked of Nova per call (an OCCI page asks for no more than
    #: it shows); Nova's own default ceiling is 1000.
    page_size: int = 1000
    #: The image (id) and the flavor (id) of a compute created without an os_tpl or a
    #: resource_tpl (OCCI 1.1-era tools create bare computes); None: it must name one.
    default_image: str | None = None
    default_flavor: str | None = None
    #: Seconds images and flavors are kept before they are read again.
    template_ttl: float = 60.0
    #: Seconds a resize may take before the request gives up.
    action_timeout: float = 300.0
    #: Seconds clients are told to wait (Retry-After) when the cloud fails.
    retry_after: int = 5

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpenStackSettings:
        """Settings from the configuration table; ValueError says what is wrong."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "services":
                if not isinstance(value, list | tuple) or not all(v in SERVICES for v in value):
                    raise ValueError(
                        f"services must be a list of {', '.join(SERVICES)}, not {value!r}"
                    )
                values[name] = tuple(dict.fromkeys(["compute", *value]))
            elif name == "credentials":
                if value not in CREDENTIALS:
                    raise ValueError(
                        f"credentials must be one of {', '.join(CREDENTIALS)}, not {value!r}"
                    )
                values[name] = value
            elif name in _TEXT:
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"{name} must be a non-empty string")
                values[name] = value.strip()
            elif name in ("page_size", "retry_after"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ValueError(f"{name} must be a positive integer, not {value!r}")
                values[name] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ValueError(f"{name} must be a positive number of seconds")
                values[name] = float(value)
        settings = cls(**values)
        settings._check()
        return settings

    @property
    def served(self) -> frozenset[str]:
        """The services OCCI is served from."""
        if self.services is not None:
            return frozenset(self.services)
        if self.token is not None:
            return frozenset(
                name for name, setting in ENDPOINT_SETTINGS.items() if getattr(self, setting)
            )
        return frozenset(SERVICES)

    @property
    def passes_tokens_through(self) -> bool:
        """Whether each caller's own Keystone token reaches the cloud."""
        return self.credentials == "caller"

    @property
    def has_service_account(self) -> bool:
        """Whether the settings name an account of the server's own."""
        return self.cloud is not None or self.token is not None or self.username is not None

    def _check(self) -> None:
        if self.passes_tokens_through:
            if self.auth_url is None:
                raise ValueError(
                    "credentials = 'caller' needs auth_url: the Keystone that callers' "
                    "tokens are rescoped with"
                )
            if self.token is not None or self.cloud is not None:
                raise ValueError(
                    "credentials = 'caller' takes auth_url (and optionally username and "
                    "password for the templates), not token or cloud"
                )
            if (self.username is None) != (self.password is None):
                raise ValueError("give both username and password, or neither")
            return
        ways = [
            self.cloud is not None,
            self.auth_url is not None,
            self.token is not None,
        ]
        if sum(ways) != 1:
            raise ValueError(
                "name the cloud one way: cloud (a clouds.yaml entry), auth_url with "
                "username, password and project_name, or token with compute_endpoint"
            )
        if self.auth_url is not None and not (self.username and self.password):
            raise ValueError("auth_url needs username and password")
        if self.token is not None and self.compute_endpoint is None:
            raise ValueError("token needs compute_endpoint (there is no Keystone to ask)")
        if self.token is not None:
            missing = [
                ENDPOINT_SETTINGS[name]
                for name in self.served
                if not getattr(self, ENDPOINT_SETTINGS[name])
            ]
            if missing:
                raise ValueError(
                    f"token needs {', '.join(sorted(missing))} for the services it serves "
                    "(there is no Keystone catalogue to find them in)"
                )
