"""How the OpenNebula backend reaches oned and what it offers: ``[backend_settings]``.

::

    backend = "opennebula"

    [backend_settings]
    endpoint = "http://one.example.org:2633/RPC2"
    credentials = "service"          # or "caller"
    username = "occi-service"
    password = "..."
    templates = ["Debian 12", "Ubuntu 24.04"]

    [backend_settings.sizes.small]
    cpu = 0.5
    vcpu = 1
    memory = 1.0

``credentials`` says whose credentials reach oned. With ``service``, the
account above (in OpenNebula's ``oneadmin`` group, or allowed to manage
users and groups) keeps a group and a user per OCCI tenant
(``tenant_prefix`` + the tenant's id), made on first use when
``create_tenants`` is on, and acts as that user. With ``caller``, each
caller's own OpenNebula credentials (``user:password``, or a login token)
are passed through as the session, and the caller's primary group is the
tenant. Either way a tenant sees its group's objects only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from annotated_types import Ge, MinLen

from pyocci.backends.kit.settings import Count, Positive, Texts, read_settings
from pyocci.model.category import occi11_term

#: A name or a URL: never empty.
Text = Annotated[str, MinLen(1)]


@dataclass(frozen=True, slots=True)
class Size:
    """A resource template: OpenNebula's CPU (physical share), VCPU and MEMORY (GiB)."""

    cpu: Positive
    vcpu: Count
    memory: Positive


#: Sizes offered when the configuration names none.
DEFAULT_SIZES: Mapping[str, Size] = {
    "small": Size(cpu=0.5, vcpu=1, memory=1.0),
    "medium": Size(cpu=1.0, vcpu=2, memory=4.0),
    "large": Size(cpu=2.0, vcpu=4, memory=8.0),
}


@dataclass(frozen=True, slots=True)
class OpenNebulaSettings:
    """Everything the OpenNebula backend is told by the server configuration."""

    #: oned's XML-RPC endpoint.
    endpoint: Text = "http://127.0.0.1:2633/RPC2"
    credentials: Literal["service", "caller"] = "service"
    #: The service account (``credentials = "service"``).
    username: Text | None = None
    password: Text | None = None
    #: Names of the group and user kept for each tenant start with this.
    tenant_prefix: Text = "occi-"
    #: Whether a tenant's group and user are made on its first request.
    create_tenants: bool = True
    #: VM templates offered as OS templates, by name or id; empty: every template the
    #: tenant may use.
    templates: Texts = ()
    #: Resource templates, by term: CPU, VCPU and MEMORY (GiB) of the VMs made with them.
    sizes: Mapping[str, Size] = field(default_factory=lambda: dict(DEFAULT_SIZES))
    #: The size of a compute created without a resource template; None: the VM
    #: template's own.
    default_size: Text | None = None
    #: The image datastore (id) storage is made in.
    image_datastore: Annotated[int, Ge(0)] = 1
    #: The VN template (name or id) tenants' networks are instantiated from, each with
    #: the address range asked for. None: networks are allocated with `network_driver`
    #: and `network_bridge`, which oned allows only to those who administer a cluster.
    network_template: Text | None = None
    #: The site's public network (a virtual network the tenants may use, by name or id):
    #: ``/network/public``, a NIC on it for a compute linked there. None: no public network.
    public_network: Text | None = None
    network_driver: Text = "bridge"
    network_bridge: Text | None = None
    #: Seconds templates are kept before they are read again.
    template_ttl: Positive = 60.0
    #: Seconds one XML-RPC call may take.
    timeout: Positive = 30.0
    #: Seconds clients are told to wait (Retry-After) when oned fails.
    retry_after: Count = 5
    #: The most VMs asked of oned per call when a listing is not paged.
    page_size: Count = 500

    def __post_init__(self) -> None:
        if self.credentials == "service" and not (self.username and self.password):
            raise ValueError(
                'backend_settings: credentials = "service" needs username and password '
                "(the service account)"
            )
        if not self.endpoint.startswith(("http://", "https://")):
            raise ValueError(
                f"backend_settings.endpoint must be oned's http(s) XML-RPC URL; "
                f"got {self.endpoint!r}"
            )
        for term in self.sizes:
            if occi11_term(term) != term:
                raise ValueError(
                    f"backend_settings.sizes.{term}: a size's name is its resource_tpl term; "
                    f"use lower-case letters, digits, '-' and '_' ({occi11_term(term)!r})"
                )
        if self.default_size is not None and self.default_size not in self.sizes:
            raise ValueError(
                f"backend_settings.default_size: {self.default_size!r} is none of the sizes "
                f"({', '.join(self.sizes)})"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpenNebulaSettings:
        """Read settings; ValueError naming each key that is unknown or malformed."""
        return read_settings(cls, data)
