"""What the simulated cloud offers: images, flavours, zones, address pools, quotas, timing.

`SimSettings.from_dict` reads the plain dictionary a TOML table becomes, so
the server's configuration file can say, for example::

    [backend.sim]
    transition_seconds = 2
    default_image = "ubuntu-24.04"   # the term ubuntu-24_04
    images = ["ubuntu-24.04", {term = "rocky-9", title = "Rocky Linux 9"}]
    resource_templates = [{term = "tiny", cores = 1, memory = 0.5}]
    quotas = {computes = 20, cores = "unlimited"}
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from pyocci.model.category import TERM_PATTERN, Mixin, occi11_term
from pyocci.model.extensions import CRTP_SCHEME, crtp_templates, os_template, resource_template
from pyocci.model.infrastructure import RESOURCE_TPL

DEFAULT_IMAGE_SCHEME = "http://schemas.pyocci.org/sim/os_tpl#"
DEFAULT_SAVED_IMAGE_SCHEME = "http://schemas.pyocci.org/sim/os_tpl/saved#"
DEFAULT_ZONE_SCHEME = "http://schemas.pyocci.org/sim/availability_zone#"
# OOI's scheme for pools; rOCCI-cli resolves pools by what they depend on.
DEFAULT_POOL_SCHEME = "http://schemas.openstack.org/network/floatingippool#"

#: Spellings of "no limit" a TOML file can carry (TOML has no null).
UNLIMITED = ("unlimited", "none", -1)


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One OS image the cloud offers: its os_tpl term and a title."""

    term: str
    title: str | None = None

    def mixin(self, scheme: str) -> Mixin:
        """The os_tpl mixin that selects this image."""
        return os_template(scheme, self.term, self.title or f"Image {self.term}")


DEFAULT_IMAGES = (
    ImageSpec("ubuntu-24_04", "Ubuntu 24.04 LTS (Noble Numbat)"),
    ImageSpec("ubuntu-22_04", "Ubuntu 22.04 LTS (Jammy Jellyfish)"),
    ImageSpec("debian-12", "Debian 12 (bookworm)"),
    ImageSpec("almalinux-9", "AlmaLinux 9"),
    ImageSpec("fedora-40", "Fedora 40 Cloud Base"),
    ImageSpec("cirros-0_6", "CirrOS 0.6 (minimal test image)"),
)


@dataclass(frozen=True, slots=True)
class Quotas:
    """Per-tenant limits; None means unlimited. Memory and storage are in GiB."""

    computes: int | None = 1000
    cores: int | None = 4000
    memory: float | None = 16384.0
    storage: float | None = 102400.0
    networks: int | None = 100
    public_ips: int | None = 50

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Quotas:
        """Read quotas; each may be a number or ``"unlimited"``."""
        _reject_unknown("quotas", data, cls)
        values: dict[str, Any] = {}
        for name, value in data.items():
            if (isinstance(value, str) and value.lower() in UNLIMITED) or value is None:
                values[name] = None
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"quota {name} must be a number or 'unlimited'; got {value!r}")
            elif value == -1:
                values[name] = None
            elif value < 0:
                raise ValueError(f"quota {name} must not be negative; got {value!r}")
            else:
                values[name] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class SimSettings:
    """Everything configurable about the simulated cloud, with defaults that work."""

    images: tuple[ImageSpec, ...] = DEFAULT_IMAGES
    image_scheme: str = DEFAULT_IMAGE_SCHEME
    #: Images tenants make with the compute `save` action get this scheme.
    saved_image_scheme: str = DEFAULT_SAVED_IMAGE_SCHEME
    #: The image a compute gets when the client names none (1.1-era tools create bare
    #: computes); the first image unless the site says otherwise; None: it must name one.
    default_image: str | None = DEFAULT_IMAGES[0].term
    resource_templates: tuple[Mixin, ...] = field(default_factory=crtp_templates)
    #: The template a compute gets when it names neither a template nor sizes.
    default_resource_template: str | None = "small"
    availability_zones: tuple[str, ...] = ("default",)
    availability_zone_scheme: str = DEFAULT_ZONE_SCHEME
    floating_ip_pool: str = "public"
    floating_ip_pool_scheme: str = DEFAULT_POOL_SCHEME
    #: Addresses of the shared `/network/public`, of IP reservations and public links.
    public_cidr: str = "203.0.113.0/24"
    #: Addresses of the shared `/network/private`.
    private_cidr: str = "172.16.0.0/16"
    #: Where a tenant's network without an address gets a fresh /24 from.
    tenant_network_space: str = "10.0.0.0/8"
    quotas: Quotas = field(default_factory=Quotas)
    #: How long a compute shows `waiting` before reaching the state an action
    #: (or its creation) leads to, and how long an image the ``save`` action makes
    #: takes to be ready (not offered until then); 0 makes every change immediate.
    transition_seconds: float = 0.0

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("invalid sim settings: " + "; ".join(problems))

    def _problems(self) -> Sequence[str]:
        problems: list[str] = []
        image_terms = [image.term for image in self.images]
        for term in image_terms:
            if not TERM_PATTERN.fullmatch(term):
                problems.append(f"image term {term!r} is not a valid OCCI term")
        if len(set(image_terms)) != len(image_terms):
            problems.append("image terms must be unique")
        if self.default_image is not None and self.default_image not in image_terms:
            problems.append(f"default_image {self.default_image!r} is not one of the images")
        template_terms = [template.term for template in self.resource_templates]
        if len(set(template_terms)) != len(template_terms):
            problems.append("resource template terms must be unique")
        for template in self.resource_templates:
            if RESOURCE_TPL.id not in template.depends:
                problems.append(f"resource template {template.id!r} must depend on resource_tpl")
        if (
            self.default_resource_template is not None
            and self.default_resource_template not in template_terms
        ):
            problems.append(
                f"default_resource_template {self.default_resource_template!r} "
                "is not one of the resource templates"
            )
        for zone in self.availability_zones:
            if not TERM_PATTERN.fullmatch(zone):
                problems.append(f"availability zone {zone!r} is not a valid OCCI term")
        if not TERM_PATTERN.fullmatch(self.floating_ip_pool):
            problems.append(f"floating IP pool {self.floating_ip_pool!r} is not a valid OCCI term")
        for scheme_name in (
            "image_scheme",
            "saved_image_scheme",
            "availability_zone_scheme",
            "floating_ip_pool_scheme",
        ):
            if not getattr(self, scheme_name).endswith("#"):
                problems.append(f"{scheme_name} must end with '#'")
        if self.saved_image_scheme == self.image_scheme:
            problems.append("saved_image_scheme must differ from image_scheme")
        for name in ("public_cidr", "private_cidr", "tenant_network_space"):
            try:
                network = ipaddress.ip_network(getattr(self, name), strict=False)
            except ValueError as error:
                problems.append(f"{name}: {error}")
                continue
            if network.num_addresses < 4:
                problems.append(f"{name} {network} is too small; it needs at least 4 addresses")
        if self.transition_seconds < 0:
            problems.append("transition_seconds must not be negative")
        return problems

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SimSettings:
        """Settings from a configuration table; missing keys keep their defaults.

        ``images``: terms or ``{term, title}`` tables. ``resource_templates``:
        ``{term, cores, memory, ephemeral_storage?, title?}`` tables, in
        ``resource_template_scheme`` (the CRTP scheme by default).
        ``quotas``: see `Quotas.from_dict`. Unknown keys are an error.
        """
        data = dict(data or {})
        template_scheme = data.pop("resource_template_scheme", CRTP_SCHEME)
        _reject_unknown("sim settings", data, cls)
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name == "images":
                values[name] = tuple(_image(item) for item in value)
            elif name == "resource_templates":
                values[name] = tuple(_template(template_scheme, item) for item in value)
            elif name == "default_image":
                # "" says: no default, a compute must name its image.
                values[name] = occi11_term(str(value)) if value != "" else None
            elif name == "availability_zones":
                values[name] = tuple(str(zone) for zone in value)
            elif name == "quotas":
                values[name] = Quotas.from_dict(value)
            elif name == "transition_seconds":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"transition_seconds must be a number; got {value!r}")
                values[name] = float(value)
            else:
                values[name] = value
        if "images" in values and "default_image" not in values:
            values["default_image"] = values["images"][0].term if values["images"] else None
        return cls(**values)

    def image_mixins(self) -> tuple[Mixin, ...]:
        """The os_tpl mixins of the configured images."""
        return tuple(image.mixin(self.image_scheme) for image in self.images)


def _reject_unknown(what: str, data: Mapping[str, Any], cls: type) -> None:
    known = {item.name for item in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"unknown {what} {', '.join(unknown)}; known are {', '.join(sorted(known))}"
        )


def _named_image(name: str, title: str | None) -> ImageSpec:
    """An image named as the site wrote it: the name becomes an OCCI 1.1 term (rOCCI-cli
    and jOCCI fail on a '.'), and the title, unless given, keeps the name."""
    term = occi11_term(name)
    return ImageSpec(term, title or (None if term == name else name))


def _image(item: Any) -> ImageSpec:
    if isinstance(item, str):
        return _named_image(item, None)
    if isinstance(item, Mapping) and "term" in item and set(item) <= {"term", "title"}:
        return _named_image(str(item["term"]), item.get("title"))
    raise ValueError(f"an image is a term or a table with term and title; got {item!r}")


def _template(scheme: str, item: Any) -> Mixin:
    allowed = {"term", "cores", "memory", "ephemeral_storage", "title"}
    if not isinstance(item, Mapping) or not {"term", "cores", "memory"} <= set(item):
        raise ValueError(
            f"a resource template is a table with term, cores and memory; got {item!r}"
        )
    if not set(item) <= allowed:
        extra = ", ".join(sorted(set(item) - allowed))
        raise ValueError(f"resource template {item['term']!r}: unknown keys {extra}")
    term = str(item["term"])
    if not TERM_PATTERN.fullmatch(term):
        raise ValueError(f"resource template term {term!r} is not a valid OCCI term")
    cores, memory = item["cores"], item["memory"]
    if isinstance(cores, bool) or not isinstance(cores, int) or cores < 1:
        raise ValueError(f"resource template {term!r}: cores must be a positive integer")
    if isinstance(memory, bool) or not isinstance(memory, int | float) or memory <= 0:
        raise ValueError(f"resource template {term!r}: memory must be a positive number (GiB)")
    ephemeral = item.get("ephemeral_storage")
    return resource_template(
        scheme,
        term,
        cores=cores,
        memory=float(memory),
        ephemeral_storage=None if ephemeral is None else float(ephemeral),
        title=item.get("title"),
    )
