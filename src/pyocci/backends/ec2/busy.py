"""States EC2 leaves by itself, told apart from those only the client can change.

EC2 refuses many calls while a thing is on its way somewhere: a volume
still ``creating``, an attachment still ``attaching`` or ``detaching``, an
instance still ``pending`` or ``stopping``, an AMI still ``pending``. The
same call succeeds once EC2 is done, so the client is told to try again
(`BusyError`: 409 with Retry-After, naming the state). A state only the
client can change (a volume attached: detach it first) stays a plain 409.

Each function reads one EC2 description and returns the `BusyError` to
answer, or None when nothing there is on its way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyocci.backends.errors import BusyError

Description = Mapping[str, Any]

#: Instance states EC2 leaves by itself, and what EC2 is doing meanwhile.
#: (``shutting-down`` is not here: such an instance is gone as far as OCCI goes.)
INSTANCE_STATES = {"pending": "starting", "stopping": "stopping"}
#: Volume states EC2 leaves by itself (``deleting`` volumes are gone).
VOLUME_STATES = {"creating": "creating"}
#: Attachment states EC2 leaves by itself.
ATTACHMENT_STATES = {"attaching": "attaching", "detaching": "detaching"}
#: AMI states EC2 leaves by itself.
IMAGE_STATES = {"pending": "making"}


def _busy(doing: str, state: str, retry_after: int, code: str | None) -> BusyError:
    return BusyError(
        f"EC2 is still {doing} ({state}); try again in {retry_after} s",
        retry_after=retry_after,
        cloud_code=code,
    )


def instance(described: Description, retry_after: int, code: str | None = None) -> BusyError | None:
    """Why an instance cannot take a call now but will soon (``pending``, ``stopping``)."""
    state = str((described.get("State") or {}).get("Name", ""))
    doing = INSTANCE_STATES.get(state)
    if doing is None:
        return None
    instance_id = described.get("InstanceId", "the instance")
    return _busy(f"{doing} the instance {instance_id}", f"state {state}", retry_after, code)


def volume(described: Description, retry_after: int, code: str | None = None) -> BusyError | None:
    """Why a volume cannot take a call now but will soon: it is still being created, or
    one of its attachments is still being made or undone."""
    volume_id = described.get("VolumeId", "the volume")
    state = str(described.get("State", ""))
    doing = VOLUME_STATES.get(state)
    if doing is not None:
        return _busy(f"{doing} the volume {volume_id}", f"state {state}", retry_after, code)
    for attachment in described.get("Attachments") or ():
        status = str(attachment.get("State", ""))
        doing = ATTACHMENT_STATES.get(status)
        if doing is not None:
            preposition = "to" if status == "attaching" else "from"
            instance_id = attachment.get("InstanceId", "its instance")
            return _busy(
                f"{doing} the volume {volume_id} {preposition} {instance_id}",
                f"attachment {status}",
                retry_after,
                code,
            )
    return None


def terminating(
    volume_id: str, instances: Mapping[str, str], retry_after: int, code: str | None = None
) -> BusyError:
    """Why a volume still attached to instances EC2 is terminating (their computes are
    deleted) cannot be deleted yet: EC2 detaches it once they are terminated."""
    states = ", ".join(f"{instance_id} {state}" for instance_id, state in instances.items())
    return _busy(
        f"detaching the volume {volume_id} from the instances it is terminating",
        f"instance state {states}",
        retry_after,
        code,
    )


def image(described: Description, retry_after: int) -> BusyError | None:
    """Why an AMI cannot start a compute now but will soon (``pending``: EC2 is still
    copying the disk of the instance it was made from)."""
    state = str(described.get("State", ""))
    doing = IMAGE_STATES.get(state)
    if doing is None:
        return None
    image_id = described.get("ImageId", "the AMI")
    return _busy(
        f"{doing} the AMI {image_id}, which starts computes once it is available",
        f"state {state}",
        retry_after,
        None,
    )
