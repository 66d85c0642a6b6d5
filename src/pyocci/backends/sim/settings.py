"""What the simulated cloud offers: images, flavours, zones, address pools, quotas, timing.

`SimSettings.from_dict` reads the plain dictionary a TOML table becomes
(with the kit's `read_settings`: a mistake is a ValueError naming
``backend_settings.<key>``), so the server's configuration file can say,
for example::

    [backend_settings]
    transition_seconds = 2
    default_image = "ubuntu-24.04"   # the term ubuntu-24_04
    images = ["ubuntu-24.04", {term = "rocky-9", title = "Rocky Linux 9"}]
    resource_templates = [{term = "tiny", cores = 1, memory = 0.5}]
    quotas = {computes = 20, cores = "unlimited"}
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

from annotated_types import Ge
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    Strict,
    ValidationInfo,
)
from pydantic_core import CoreSchema, core_schema

from pyocci.backends.kit.settings import Count, Positive, Texts, plain, read_settings
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

#: Where the sim's settings come from, as operators write it.
SECTION = "backend_settings"


# --- the values a setting takes ---------------------------------------------------------------


def _occi_term(value: str) -> str:
    if not TERM_PATTERN.fullmatch(value):
        raise ValueError("not a valid OCCI term (a letter or digit, then letters, digits, _.-)")
    return value


#: An OCCI term (a zone's, a pool's, a template's).
Term = Annotated[str, AfterValidator(_occi_term)]


def _limit(value: Any) -> Any:
    """A quota as a number, None for the spellings of "no limit"; anything else refused."""
    if value is None or (isinstance(value, str) and value.lower() in UNLIMITED):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a quota must be a number or 'unlimited'")
    return None if value == -1 else value


#: A count quota: a whole number of zero or more, or None (unlimited).
CountLimit = Annotated[Annotated[int, Ge(0)] | None, BeforeValidator(_limit)]
#: A size quota (GiB): a number of zero or more, or None (unlimited).
SizeLimit = Annotated[Annotated[float, Ge(0), AllowInfNan(False)] | None, BeforeValidator(_limit)]


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """One OS image the cloud offers: its os_tpl term and a title."""

    term: str
    title: str | None = None

    def mixin(self, scheme: str) -> Mixin:
        """The os_tpl mixin that selects this image."""
        return os_template(scheme, self.term, self.title or f"Image {self.term}")


def _named_image(name: str, title: str | None) -> ImageSpec:
    """An image named as the site wrote it: the name becomes an OCCI 1.1 term (rOCCI-cli
    and jOCCI fail on a '.'), and the title, unless given, keeps the name."""
    term = occi11_term(name)
    return ImageSpec(term, title or (None if term == name else name))


def _image(item: Any) -> Any:
    """An image as configured: a name, or a ``{term, title}`` table."""
    if isinstance(item, ImageSpec):
        return item
    if isinstance(item, str):
        return _named_image(item, None)
    if isinstance(item, Mapping) and "term" in item and set(item) <= {"term", "title"}:
        return _named_image(str(item["term"]), item.get("title"))
    raise ValueError("an image is a term or a table with term and title")


def _name_of(item: Any) -> Any:
    """What an image as configured is named (its term, once an OCCI 1.1 term)."""
    if isinstance(item, ImageSpec):
        return item.term
    return item.get("term", "") if isinstance(item, Mapping) else item


def _default_image(value: Any) -> Any:
    """The default image as named; "" says: no default, a compute must name its image."""
    if value is None or value == "":
        return None
    return occi11_term(str(value))


@dataclass(frozen=True, slots=True)
class TemplateTable:
    """A resource template as configured: its term, sizes and an optional title."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    term: Term
    cores: Count
    #: GiB.
    memory: Positive
    #: GiB.
    ephemeral_storage: Annotated[float, AllowInfNan(False)] | None = None
    title: str | None = None


class _ResourceTemplates:
    """Validates resource templates as `TemplateTable` tables and makes them mixins in
    the settings' ``resource_template_scheme`` (validated before them, in field order)."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.with_info_after_validator_function(
            _templates, handler.generate_schema(tuple[TemplateTable, ...])
        )


def _templates(tables: tuple[TemplateTable, ...], info: ValidationInfo) -> tuple[Mixin, ...]:
    scheme = info.data.get("resource_template_scheme", CRTP_SCHEME)
    return tuple(
        resource_template(
            scheme,
            table.term,
            cores=table.cores,
            memory=float(table.memory),
            ephemeral_storage=table.ephemeral_storage,
            title=table.title,
        )
        for table in tables
    )


DEFAULT_IMAGES = (
    ImageSpec("ubuntu-24_04", "Ubuntu 24.04 LTS (Noble Numbat)"),
    ImageSpec("ubuntu-22_04", "Ubuntu 22.04 LTS (Jammy Jellyfish)"),
    ImageSpec("debian-12", "Debian 12 (bookworm)"),
    ImageSpec("almalinux-9", "AlmaLinux 9"),
    ImageSpec("fedora-40", "Fedora 40 Cloud Base"),
    ImageSpec("cirros-0_6", "CirrOS 0.6 (minimal test image)"),
)


# --- the settings -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quotas:
    """Per-tenant limits; None means unlimited. Memory and storage are in GiB.

    In a configuration table each is a number, or ``"unlimited"`` (also ``"none"`` or
    -1); a table names only the quotas it changes.
    """

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    computes: CountLimit = 1000
    cores: CountLimit = 4000
    memory: SizeLimit = 16384.0
    storage: SizeLimit = 102400.0
    networks: CountLimit = 100
    public_ips: CountLimit = 50

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Quotas:
        """Read quotas; each may be a number or ``"unlimited"``."""
        return read_settings(SimSettings, {"quotas": data}).quotas


@dataclass(frozen=True, slots=True)
class SimSettings:
    """Everything configurable about the simulated cloud, with defaults that work.

    The field types say what a configuration table may give (`from_dict`); what
    spans several settings, or holds for settings made in Python too, is checked
    when they are made (`__post_init__`).
    """

    #: OS images: in a table, names (made OCCI 1.1 terms, titled as written) or
    #: ``{term, title}`` tables.
    images: tuple[Annotated[ImageSpec, BeforeValidator(_image)], ...] = DEFAULT_IMAGES
    image_scheme: str = DEFAULT_IMAGE_SCHEME
    #: Images tenants make with the compute `save` action get this scheme.
    saved_image_scheme: str = DEFAULT_SAVED_IMAGE_SCHEME
    #: The image a compute gets when the client names none (1.1-era tools create bare
    #: computes); the first image unless the site says otherwise; None: it must name one.
    default_image: Annotated[str | None, BeforeValidator(_default_image)] = DEFAULT_IMAGES[0].term
    #: The scheme of the resource templates a table gives (before them: they need it).
    resource_template_scheme: str = CRTP_SCHEME
    #: Resource templates: in a table, ``{term, cores, memory, ephemeral_storage?,
    #: title?}`` tables (sizes in GiB), in ``resource_template_scheme``.
    resource_templates: Annotated[tuple[Mixin, ...], _ResourceTemplates()] = field(
        default_factory=crtp_templates
    )
    #: The template a compute gets when it names neither a template nor sizes.
    default_resource_template: str | None = "small"
    availability_zones: Texts = ("default",)
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
    transition_seconds: Annotated[float, Strict(), AllowInfNan(False)] = 0.0
    #: How many bytes every image holds when it is exported: generated from the image's
    #: identifier, the same every time (see `pyocci.backends.sim.image_data`).
    image_bytes: Annotated[int, Strict()] = 1024 * 1024

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ValueError("; ".join(f"{SECTION}.{problem}" for problem in problems))

    def _problems(self) -> Sequence[str]:
        """What is wrong, each beginning with the key it is about."""
        problems: list[str] = []
        image_terms = [image.term for image in self.images]
        for term in image_terms:
            if not TERM_PATTERN.fullmatch(term):
                problems.append(f"images: image term {term!r} is not a valid OCCI term")
        if len(set(image_terms)) != len(image_terms):
            problems.append(f"images: image terms must be unique ({', '.join(image_terms)})")
        if self.default_image is not None and self.default_image not in image_terms:
            problems.append(f"default_image {self.default_image!r} is not one of the images")
        template_terms = [template.term for template in self.resource_templates]
        if len(set(template_terms)) != len(template_terms):
            problems.append("resource_templates: resource template terms must be unique")
        for template in self.resource_templates:
            if RESOURCE_TPL.id not in template.depends:
                problems.append(f"resource_templates: {template.id!r} must depend on resource_tpl")
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
                problems.append(f"availability_zones: {zone!r} is not a valid OCCI term")
        if not TERM_PATTERN.fullmatch(self.floating_ip_pool):
            problems.append(f"floating_ip_pool {self.floating_ip_pool!r} is not a valid OCCI term")
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
        if self.image_bytes < 0:
            problems.append("image_bytes must not be negative")
        return problems

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SimSettings:
        """Settings from a configuration table; missing keys keep their defaults, and
        ``default_image``, when left out, is the first of the ``images`` given. A
        mistake (an unknown key too) is a ValueError naming the key."""
        table = plain(data or {})
        images = table.get("images")
        if "default_image" not in table and isinstance(images, list | tuple):
            # No images leave no default; a malformed first image is reported as such.
            table["default_image"] = _name_of(images[0]) if images else ""
        return read_settings(cls, table)

    def image_mixins(self) -> tuple[Mixin, ...]:
        """The os_tpl mixins of the configured images."""
        return tuple(image.mixin(self.image_scheme) for image in self.images)
