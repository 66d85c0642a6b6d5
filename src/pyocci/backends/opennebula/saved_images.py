"""VM templates a tenant saved, deleted at its request with the images they were made of.

A ``save`` makes an image of the VM's disk and a VM template of that image,
both in the tenant's group: that template is the new os_tpl. The tenant may
delete a template of its group (``template.delete``), and then the images of
its disks that are its group's too (``image.delete``); the site's templates
(another group's, ``oneadmin``'s) are not the tenant's to delete. A template
whose image oned is still writing, or whose image VMs still use, is a
conflict the message explains, and nothing is deleted.
"""

from __future__ import annotations

import logging

from pyocci.backends.errors import ConflictError, EntityNotFoundError, QuotaExceededError
from pyocci.backends.opennebula.api import OneApi
from pyocci.backends.opennebula.catalogue import PENDING_IMAGE_STATES, template_images
from pyocci.backends.opennebula.tenancy import Acting

__all__ = ["delete_saved"]

log = logging.getLogger("pyocci.backends.opennebula")


async def delete_saved(api: OneApi, acting: Acting, template_id: int) -> bool:
    """Delete a VM template of the tenant's group and its group's images; False (nothing
    done) for any other template. ConflictError while an image is written or used."""
    try:
        template = await api.call(acting.session, "template.info", template_id, False, False)
    except QuotaExceededError:
        return False  # oned will not even show it to the tenant: not the tenant's
    if int(getattr(template, "GID", -1)) != acting.group_id:
        return False
    images = []
    for image_id in template_images(template):
        try:
            image = await api.call(acting.session, "image.info", image_id, False)
        except (EntityNotFoundError, QuotaExceededError):
            continue  # gone already, or another's: the template goes, the image stays
        if int(getattr(image, "GID", -1)) != acting.group_id:
            continue
        if int(image.STATE) in PENDING_IMAGE_STATES:
            raise ConflictError(
                f"the image {image_id} of this template is still being written by "
                "OpenNebula (a save in progress); delete the template once it is ready"
            )
        used = int(getattr(image, "RUNNING_VMS", 0) or 0)
        if used:
            raise ConflictError(
                f"the image {image_id} of this template is used by {used} VM(s); delete "
                "the computes started from it first"
            )
        images.append(image_id)
    await api.call(acting.session, "template.delete", template_id, False)
    for image_id in images:
        await api.call(acting.session, "image.delete", image_id, False)
    return True
