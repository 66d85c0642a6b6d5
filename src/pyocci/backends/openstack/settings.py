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
from dataclasses import dataclass
from typing import Any, Literal

from pyocci.backends.kit.settings import Count, Positive, Text, read_settings

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

    cloud: Text | None = None
    auth_url: Text | None = None
    username: Text | None = None
    password: Text | None = None
    project_name: Text | None = None
    user_domain_name: Text = "Default"
    project_domain_name: Text = "Default"
    region_name: Text | None = None
    token: Text | None = None
    compute_endpoint: Text | None = None
    image_endpoint: Text | None = None
    volume_endpoint: Text | None = None
    network_endpoint: Text | None = None
    #: "service": the account above for every tenant; "caller": each caller's own
    #: Keystone token, passed through.
    credentials: Literal["service", "caller"] = "service"
    #: The services served, compute always ("volume": storage from Cinder, "network":
    #: networks, ports, floating IPs and security groups from Neutron). None: every
    #: service, except with `token`, where only those whose endpoint is given.
    services: tuple[Literal["compute", "volume", "network"], ...] | None = None
    #: The most servers asked of Nova per call (an OCCI page asks for no more than
    #: it shows); Nova's own default ceiling is 1000.
    page_size: Count = 1000
    #: The image (id) and the flavor (id) of a compute created without an os_tpl or a
    #: resource_tpl (OCCI 1.1-era tools create bare computes); None: it must name one.
    default_image: Text | None = None
    default_flavor: Text | None = None
    #: Positive images and flavors are kept before they are read again.
    template_ttl: Positive = 60.0
    #: Positive a resize may take before the request gives up.
    action_timeout: Positive = 300.0
    #: Positive clients are told to wait (Retry-After) when the cloud fails.
    retry_after: Count = 5

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpenStackSettings:
        """Settings from the configuration table; ValueError says what is wrong."""
        return read_settings(cls, data)

    @property
    def served(self) -> frozenset[str]:
        """The services OCCI is served from."""
        if self.services is not None:
            return frozenset({"compute", *self.services})
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

    def __post_init__(self) -> None:
        """One way to name the cloud, with what that way needs."""
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
        if sum(way is not None for way in (self.cloud, self.auth_url, self.token)) != 1:
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
