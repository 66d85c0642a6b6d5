"""`Ec2Backend`: OCCI in front of Amazon EC2 or any EC2-compatible cloud.

The backend keeps no copy of the cloud: every entity is read from EC2 when
asked for, so changes made in the console or with the AWS CLI show at
once. Only the templates (AMIs, instance types) are cached, for
`template_ttl` seconds; the VPC, subnet and groups new resources get are
kept until EC2 says they are gone (`placement`). Titles and summaries live
in EC2 tags, link metadata in tags of the source instance (`linkmeta`);
user mixins are the store's, as for any backend.

It is a kit backend (`pyocci.backends.kit`): a collection per part of EC2,
listed in this order: instances, volumes, subnets, security groups, then
the links read from instances. An answer of EC2's that lacks what the
backend reads from it is EC2's failure, not the server's: 503, and the
traceback in the log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from pyocci.backends.api import Query, Tenant
from pyocci.backends.deadline import DEFAULT_DEADLINE
from pyocci.backends.ec2 import ids
from pyocci.backends.ec2.api import Ec2Api
from pyocci.backends.ec2.catalogue import OS_TPL_SCHEME, Catalogue
from pyocci.backends.ec2.compute import Computes
from pyocci.backends.ec2.context import Ec2
from pyocci.backends.ec2.network import Interfaces, Subnets
from pyocci.backends.ec2.placement import Placement
from pyocci.backends.ec2.reading import Reader
from pyocci.backends.ec2.saved_images import delete_saved
from pyocci.backends.ec2.security import GroupLinks, Groups
from pyocci.backends.ec2.settings import Ec2Settings
from pyocci.backends.ec2.storage import StorageLinks, Volumes
from pyocci.backends.ec2.tenancy import Tenancy
from pyocci.backends.errors import BusyError
from pyocci.backends.kit import KitBackend
from pyocci.backends.kit.errors import malformed_answers
from pyocci.backends.registry import BackendSetup
from pyocci.model.category import Mixin
from pyocci.model.entity import Entity
from pyocci.model.registry import Model


class Ec2Backend(KitBackend):
    """EC2 through boto3, every call in the backend's thread pool, each ending within
    `deadline` seconds (the server's cloud deadline), retries included."""

    name = "ec2"
    cloud = "EC2"

    @property
    def export_refusal(self) -> str | None:
        """Why images cannot be exported from this cloud (the 501's message)."""
        return (
            "the ec2 backend cannot export images: EC2's ExportImage writes to an S3 bucket "
            "of its own, and moto, the EC2 the project tests against, does not implement "
            "it, so no export from EC2 is offered until it can be tested"
        )

    def __init__(
        self,
        *,
        model: Model,
        settings: Ec2Settings | None = None,
        blocking_threads: int = 16,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        super().__init__(model=model, blocking_threads=blocking_threads)
        self.settings = settings if settings is not None else Ec2Settings()
        self.retry_after = self.settings.retry_after
        api = Ec2Api(self.settings, self.run_blocking, deadline)
        catalogue = Catalogue(api, self.settings)
        placement = Placement(api, self.settings)
        tenancy = Tenancy(self.settings)
        reader = Reader(api, catalogue, tenancy, placement, self.location_of)
        self.ec2 = Ec2(api, self.settings, catalogue, placement, tenancy, reader)
        kinds = (Computes, Volumes, Subnets, Groups, StorageLinks, Interfaces, GroupLinks)
        self.collections = tuple(collection(self.ec2) for collection in kinds)

    async def open(self) -> None:
        """Build the boto3 client; EC2 itself is first asked on the first request."""
        await self.run_blocking(self.ec2.api.open)

    async def check_health(self) -> str:
        """EC2 answers DescribeRegions (no resource of any tenant is read)."""
        await self.ec2.api.call("describe_regions")
        return "DescribeRegions"

    def translating(self, doing: str) -> AbstractContextManager[Any]:
        """An EC2 answer lacking a field the backend reads is a 503 (EC2's errors are
        translated where EC2 is called, `Ec2Api.call`)."""
        return malformed_answers(self.cloud, doing, retry_after=self.retry_after)

    def keeping(self, query: Query) -> Callable[[Entity], bool]:
        """EC2 applies the filters it can express (`reading`); the query is checked here,
        so one it cannot express costs more pages, never a wrong answer."""
        return query.matches

    async def provider_mixins(self, tenant: Tenant) -> Sequence[Mixin]:
        """The AMIs that can start a compute now and the instance types (cached for
        `template_ttl`; AMIs still pending are offered as soon as they are available)."""
        with self.translating("reading the templates"):
            return await self.ec2.catalogue.templates()

    async def pending_template(self, tenant: Tenant, mixin_id: str) -> BusyError | None:
        """For the os_tpl of an AMI EC2 is still making (``pending``: a ``save`` not
        finished), the 409 with Retry-After naming the state; else None."""
        if not mixin_id.startswith(OS_TPL_SCHEME):
            return None
        image_id = mixin_id[len(OS_TPL_SCHEME) :]
        if not ids.is_image(image_id):
            return None  # no AMI can have this id
        with self.translating(f"reading {image_id}"):
            return await self.ec2.catalogue.pending_image(image_id)

    async def delete_template(self, tenant: Tenant, mixin_id: str) -> bool:
        """Deregister the AMI of an os_tpl the tenant saved (see `saved_images`); False
        for any other AMI, which stays."""
        image_id = mixin_id.removeprefix(OS_TPL_SCHEME)
        if not mixin_id.startswith(OS_TPL_SCHEME) or not ids.is_image(image_id):
            return False
        with self.translating(f"deleting {image_id}"):
            return await delete_saved(self.ec2, tenant, image_id)


def build(setup: BackendSetup) -> Ec2Backend:
    """The EC2 backend from ``[backend_settings]`` (see `Ec2Settings.from_dict`), its
    timeouts and retries checked to fit in the cloud deadline: the ``ec2`` entry point."""
    settings = Ec2Settings.from_dict(dict(setup.settings))
    settings.call_timeouts(setup.cloud_deadline)
    return Ec2Backend(model=setup.model, settings=settings, deadline=setup.cloud_deadline)
