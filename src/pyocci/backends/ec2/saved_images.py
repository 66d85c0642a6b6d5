"""AMIs a tenant saved: marked by the save, deleted at that tenant's request.

A ``save`` tags its AMI with the tenant (`SAVED_TAG`), beside the tenancy's
own tags. Only an AMI carrying the tenant's mark is deleted through OCCI:
the account's other AMIs (the site's templates, other tenants' saves) stay,
whatever the account itself may do. Deleting deregisters the AMI, then
deletes the EBS snapshots it was made of, which EC2 keeps (and bills)
otherwise.
"""

from __future__ import annotations

import contextlib
import logging

from pyocci.backends.api import Tenant
from pyocci.backends.ec2.catalogue import PENDING
from pyocci.backends.ec2.context import Ec2
from pyocci.backends.ec2.tenancy import tag_map
from pyocci.backends.errors import ConflictError, EntityNotFoundError, InvalidRequestError

__all__ = ["SAVED_TAG", "delete_saved", "saved_tags"]

log = logging.getLogger("pyocci.backends.ec2")

#: The AMI tag naming the tenant whose save made it.
SAVED_TAG = "occi:saved-by"


def saved_tags(ec2: Ec2, tenant: Tenant) -> list[dict[str, str]]:
    """The tags of an AMI the tenant saves: the tenancy's and the save's mark."""
    return [*ec2.tenancy.tags(tenant), {"Key": SAVED_TAG, "Value": tenant.id}]


async def delete_saved(ec2: Ec2, tenant: Tenant, image_id: str) -> bool:
    """Deregister an AMI the tenant saved, and its snapshots; False (nothing done) for any
    other AMI. ConflictError while EC2 is still making it."""
    described = await ec2.api.call("describe_images", ImageIds=[image_id])
    images = described.get("Images", [])
    if not images:
        raise EntityNotFoundError(f"EC2 has no AMI {image_id}")
    image = images[0]
    tags = image.get("Tags")
    if tag_map(tags).get(SAVED_TAG) != tenant.id or not ec2.tenancy.owns(tenant, tags):
        return False
    if image.get("State") == PENDING:
        raise ConflictError(
            f"the AMI {image_id} is still being made (EC2 state pending); delete it once it "
            "is available"
        )
    await ec2.api.call("deregister_image", ImageId=image_id)
    for mapping in image.get("BlockDeviceMappings", []):
        snapshot = (mapping.get("Ebs") or {}).get("SnapshotId")
        if snapshot:
            # A snapshot another AMI was copied from stays; the AMI is gone all the same.
            with contextlib.suppress(ConflictError, InvalidRequestError, EntityNotFoundError):
                await ec2.api.call("delete_snapshot", SnapshotId=snapshot)
                continue
            log.warning("the snapshot %s of the deleted AMI %s stays", snapshot, image_id)
    ec2.catalogue.remove_image(image_id)
    return True
