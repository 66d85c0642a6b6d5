"""The EC2 offer: OS templates (AMIs) and resource templates (instance types).

Templates are read from EC2 and kept for `template_ttl` seconds: discovery
is asked for on nearly every request, and AMIs and instance types change
rarely. Everything else the backend reads live.

AMIs are listed for the configured owners and filters only — never every
public AMI — and only those EC2 calls available are offered: an AMI still
``pending`` (one a ``save`` made, say) cannot start a compute yet. Such AMIs
are followed (the kit's `TemplateCatalogue`: asked about again at most once
a second) and offered as soon as EC2 calls them available, without waiting for
the `template_ttl`. The owners and filters apply to them as to any AMI: an
AMI a ``save`` made that they leave out is never offered.
An AMI's os_tpl term is its id (``ami-0abc...``), an instance
type's resource_tpl term is its name with ``_`` for ``.`` (``t3_micro``: OCCI
1.1 terms have no dot, and no instance type has an underscore); both are stable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyocci.backends import pending
from pyocci.backends.ec2 import busy
from pyocci.backends.ec2.api import Ec2Api
from pyocci.backends.ec2.settings import Ec2Settings
from pyocci.backends.errors import (
    BackendUnavailableError,
    BusyError,
    EntityNotFoundError,
    InvalidRequestError,
)
from pyocci.backends.kit.catalogue import Offer, TemplateCatalogue
from pyocci.model.category import Mixin
from pyocci.model.extensions import os_template, resource_template

OS_TPL_SCHEME = "http://schemas.pyocci.org/ec2/os_tpl#"
RESOURCE_TPL_SCHEME = "http://schemas.pyocci.org/ec2/resource_tpl#"

#: The AMI state that can start a compute.
AVAILABLE = "available"
#: The AMI state EC2 leaves by itself for `AVAILABLE` (see `busy.image`).
PENDING = "pending"


@dataclass(frozen=True, slots=True)
class InstanceType:
    """What an instance type gives: vCPUs, memory in GiB, whether it can hibernate."""

    name: str
    cores: int
    memory: float
    hibernation: bool = False


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


class Catalogue(TemplateCatalogue[InstanceType]):
    """The templates of one EC2 region, read at most once per `template_ttl`; AMIs still
    pending followed and offered once available."""

    def __init__(
        self,
        api: Ec2Api,
        settings: Ec2Settings,
        clock: Callable[[], float] = time.monotonic,
        recheck_seconds: float = pending.RECHECK_SECONDS,
    ) -> None:
        super().__init__(settings.template_ttl, clock=clock, recheck_seconds=recheck_seconds)
        self._api = api
        self._settings = settings

    def image_mixin(self, image_id: str, name: str | None) -> Mixin:
        """The os_tpl mixin of an AMI."""
        title = f"{name} ({image_id})" if name else f"AMI {image_id}"
        return os_template(OS_TPL_SCHEME, image_id, title)

    async def look(self, image_ids: list[str]) -> pending.Looked:
        """What EC2 says of pending AMIs, in one call. The configured owners and filters
        apply as they do to every template: an AMI they leave out (a save's whose name
        the filters do not match) is never offered, pending or not."""
        images = await self._described(image_ids)
        return pending.Looked(
            ready={
                image_id: image.get("Name")
                for image_id, image in images.items()
                if image.get("State", AVAILABLE) == AVAILABLE
            },
            pending=[
                image_id for image_id, image in images.items() if image.get("State") == PENDING
            ],
        )

    async def _described(self, image_ids: list[str]) -> dict[str, Any]:
        """The AMIs of the configured owners and filters among these (id -> description)."""
        parameters = self._image_query()
        filters = list(parameters.get("Filters", ()))
        parameters["Filters"] = [*filters, {"Name": "image-id", "Values": image_ids}]
        response = await self._api.call("describe_images", **parameters)
        wanted = set(image_ids)
        return {
            image["ImageId"]: image
            for image in response.get("Images", ())
            if image.get("ImageId") in wanted
        }

    async def pending_image(self, image_id: str) -> BusyError | None:
        """The error to answer for an AMI of the configured owners and filters that EC2
        is still making (it cannot start a compute yet); None for any other AMI.

        EC2 is asked, not the kept offer: the AMI may have been saved through another
        server process, or since the templates were last read. A pending AMI is
        followed from then on, and offered as soon as it is available.
        """
        image = (await self._described([image_id])).get(image_id)
        if image is None:
            return None
        waiting = busy.image(image, self._settings.retry_after)
        if waiting is not None:
            self.follow(image_id, image.get("Name"))
        elif image.get("State", AVAILABLE) == AVAILABLE:
            # Ready since the offer was read (or saved through another process):
            # offered now, as the next read would.
            self.offer_ready(image_id, image.get("Name"))
        return waiting

    async def read(self) -> Offer[InstanceType]:
        """The available AMIs and the configured instance types; pending AMIs followed."""
        try:
            images, still_pending = await self._images()
            types = await self._types()
        except (InvalidRequestError, EntityNotFoundError) as error:
            # The configuration names what EC2 does not know: the operator's to fix,
            # and no client request can succeed until then.
            raise BackendUnavailableError(
                f"the templates configured in [backend_settings] (image_owners, "
                f"image_filters, instance_types) are refused by EC2: {error}",
                retry_after=self._settings.retry_after,
            ) from None
        for mixin in images:
            self.forget(mixin.term)
        for image_id, name in still_pending.items():
            self.follow(image_id, name)
        return Offer(
            images={mixin.id: mixin for mixin in images},
            sizes={kind.name: kind for kind in types},
            size_mixins={kind.name: type_mixin(kind) for kind in types},
        )

    def _image_query(self) -> dict[str, Any]:
        """DescribeImages' parameters for the configured owners and filters."""
        parameters: dict[str, Any] = {}
        if self._settings.image_owners:
            parameters["Owners"] = list(self._settings.image_owners)
        if self._settings.image_filters:
            parameters["Filters"] = [
                {"Name": name, "Values": list(values)}
                for name, values in self._settings.image_filters.items()
            ]
        return parameters

    async def _images(self) -> tuple[list[Mixin], dict[str, str | None]]:
        """The available AMIs as os_tpl mixins, and the pending ones (id -> name)."""
        response = await self._api.call("describe_images", **self._image_query())
        images = sorted(response.get("Images", ()), key=lambda image: image["ImageId"])
        available = [
            self.image_mixin(image["ImageId"], image.get("Name"))
            for image in images
            if image.get("State", AVAILABLE) == AVAILABLE
        ]
        still_pending = {
            image["ImageId"]: image.get("Name") for image in images if image.get("State") == PENDING
        }
        return available, still_pending

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
