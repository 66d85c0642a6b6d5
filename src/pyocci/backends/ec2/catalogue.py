"""The EC2 offer: OS templates (AMIs), resource templates (instance types), capabilities.

Templates are read from EC2 and kept for `template_ttl` seconds: discovery
is asked for on nearly every request, and AMIs and instance types change
rarely. Everything else the backend reads live.

AMIs are listed for the configured owners and filters only — never every
public AMI. An AMI's os_tpl term is its id (``ami-0abc...``), an instance
type's resource_tpl term is its name with ``_`` for ``.`` (``t3_micro``: OCCI
1.1 terms have no dot, and no instance type has an underscore); both are stable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pyocci.backends.base import Capabilities
from pyocci.backends.ec2.api import Ec2Api
from pyocci.backends.ec2.settings import Ec2Settings
from pyocci.backends.errors import (
    BackendUnavailableError,
    EntityNotFoundError,
    InvalidRequestError,
)
from pyocci.backends.expiring import Expiring
from pyocci.model.category import Mixin
from pyocci.model.extensions import (
    OPENSTACK_PUBLIC_KEY,
    OPENSTACK_USER_DATA,
    SECURITYGROUP,
    SECURITYGROUPLINK,
    os_template,
    resource_template,
)
from pyocci.model.infrastructure import (
    BACKUP,
    COMPUTE,
    IPNETWORK,
    IPNETWORKINTERFACE,
    NETWORK,
    NETWORKINTERFACE,
    OS_TPL,
    RESIZE,
    RESOURCE_TPL,
    RESTART,
    SAVE,
    SNAPSHOT,
    SSH_KEY,
    START,
    STOP,
    STORAGE,
    STORAGELINK,
    SUSPEND,
    USER_DATA,
)

OS_TPL_SCHEME = "http://schemas.pyocci.org/ec2/os_tpl#"
RESOURCE_TPL_SCHEME = "http://schemas.pyocci.org/ec2/resource_tpl#"

KINDS = (
    COMPUTE,
    STORAGE,
    NETWORK,
    SECURITYGROUP,
    STORAGELINK,
    NETWORKINTERFACE,
    SECURITYGROUPLINK,
)

#: What EC2 does for OCCI actions. Not here (so 501): storage online/offline
#: (EBS has no such switch), network up/down (a subnet cannot be switched off),
#: interface up/down and attachment online/offline.
ACTIONS = (START, STOP, RESTART, SUSPEND, SAVE, BACKUP, SNAPSHOT, RESIZE)

STANDARD_MIXINS = (
    OS_TPL,
    RESOURCE_TPL,
    USER_DATA,
    SSH_KEY,
    OPENSTACK_USER_DATA,
    OPENSTACK_PUBLIC_KEY,
    IPNETWORK,
    IPNETWORKINTERFACE,
)

CAPABILITIES = Capabilities(
    kinds=frozenset(kind.id for kind in KINDS),
    actions=frozenset(action.id for action in ACTIONS),
    mixins=frozenset(mixin.id for mixin in STANDARD_MIXINS),
    # A network is a subnet of the VPC: EC2 cannot choose its CIDR.
    required={NETWORK.id: ("occi.network.address",)},
)


@dataclass(frozen=True, slots=True)
class InstanceType:
    """What an instance type gives: vCPUs, memory in GiB, whether it can hibernate."""

    name: str
    cores: int
    memory: float
    hibernation: bool = False


@dataclass(slots=True)
class Offer:
    """The templates as read at one time."""

    images: dict[str, Mixin] = field(default_factory=dict)
    types: dict[str, InstanceType] = field(default_factory=dict)
    type_mixins: dict[str, Mixin] = field(default_factory=dict)

    def mixins(self) -> list[Mixin]:
        """Every template mixin, images first."""
        return [*self.images.values(), *self.type_mixins.values()]


def image_mixin(image_id: str, name: str | None) -> Mixin:
    """The os_tpl mixin of an AMI."""
    title = f"{name} ({image_id})" if name else f"AMI {image_id}"
    return os_template(OS_TPL_SCHEME, image_id, title)


def type_term(instance_type: str) -> str:
    """The resource_tpl term of an instance type: ``t3.micro`` -> ``t3_micro``."""
    return instance_type.replace(".", "_")


def type_named(term: str) -> str:
    """The instance type a resource_tpl term names: ``t3_micro`` -> ``t3.micro``."""
    return term.replace("_", ".")


def type_mixin(kind: InstanceType) -> Mixin:
    """The resource_tpl mixin of an instance type, with its cores and memory."""
    return resource_template(
        RESOURCE_TPL_SCHEME,
        type_term(kind.name),
        cores=kind.cores,
        memory=kind.memory,
        title=f"EC2 {kind.name} ({kind.cores} vCPU and {kind.memory:g} GiB)",
    )


class Catalogue:
    """The templates of one EC2 region, read at most once per `template_ttl`."""

    def __init__(
        self, api: Ec2Api, settings: Ec2Settings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._api = api
        self._settings = settings
        self._offers: Expiring[Offer] = Expiring(settings.template_ttl, clock)

    async def offer(self) -> Offer:
        """The templates, read again from EC2 when older than `template_ttl`."""
        return await self._offers.get(self._read)

    async def _read(self) -> Offer:
        try:
            images = await self._images()
            types = await self._types()
        except (InvalidRequestError, EntityNotFoundError) as error:
            # The configuration names what EC2 does not know: the operator's to fix,
            # and no client request can succeed until then.
            raise BackendUnavailableError(
                f"the templates configured in [backend_settings] (image_owners, "
                f"image_filters, instance_types) are refused by EC2: {error}",
                retry_after=self._settings.retry_after,
            ) from None
        return Offer(
            images={mixin.id: mixin for mixin in images},
            types={kind.name: kind for kind in types},
            type_mixins={kind.name: type_mixin(kind) for kind in types},
        )

    def known(self) -> Offer:
        """The templates as last read, without asking EC2 (possibly empty)."""
        return self._offers.last() or Offer()

    def add_image(self, image_id: str, name: str | None) -> Mixin:
        """Make a just-saved AMI an os_tpl now, before the next refresh."""
        mixin = image_mixin(image_id, name)
        offer = self._offers.last()
        if offer is not None:
            offer.images[mixin.id] = mixin
        return mixin

    async def _images(self) -> list[Mixin]:
        parameters: dict[str, object] = {}
        if self._settings.image_owners:
            parameters["Owners"] = list(self._settings.image_owners)
        if self._settings.image_filters:
            parameters["Filters"] = [
                {"Name": name, "Values": list(values)}
                for name, values in self._settings.image_filters.items()
            ]
        response = await self._api.call("describe_images", **parameters)
        images = sorted(response.get("Images", ()), key=lambda image: image["ImageId"])
        return [
            image_mixin(image["ImageId"], image.get("Name"))
            for image in images
            if image.get("State", "available") in ("available", "pending")
        ]

    async def _types(self) -> list[InstanceType]:
        found: list[InstanceType] = []
        parameters: dict[str, object] = {"InstanceTypes": list(self._settings.instance_types)}
        while True:
            response = await self._api.call("describe_instance_types", **parameters)
            for item in response.get("InstanceTypes", ()):
                found.append(
                    InstanceType(
                        name=item["InstanceType"],
                        cores=int(item.get("VCpuInfo", {}).get("DefaultVCpus", 1)),
                        memory=item.get("MemoryInfo", {}).get("SizeInMiB", 0) / 1024,
                        hibernation=bool(item.get("HibernationSupported", False)),
                    )
                )
            token = response.get("NextToken")
            if not token:
                break
            parameters["NextToken"] = token
        order = {name: index for index, name in enumerate(self._settings.instance_types)}
        return sorted(found, key=lambda kind: order.get(kind.name, len(order)))
