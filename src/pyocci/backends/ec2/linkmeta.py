"""What a client says about a link that EC2 has no field for, kept as tags of the instance.

A storagelink's mount point, and any link's title and summary, are OCCI's
own. They are tags of the link's source instance, ``occi:<link id>:<attribute>``
(``occi:i-0abc_vol-0def:occi.storagelink.mountpoint``), so they come back
with the instance in the same DescribeInstances answer (a listing stays one
call per page), live like everything else, and go when the instance goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyocci.backends.ec2.api import Ec2Api
from pyocci.model.entity import CORE_SUMMARY, CORE_TITLE, Link

#: The link attributes kept as tags.
KEPT = (CORE_TITLE, CORE_SUMMARY, "occi.storagelink.mountpoint")


def tag_key(link_id: str, attribute: str) -> str:
    """The instance tag that holds one attribute of one link."""
    return f"occi:{link_id}:{attribute}"


def restore(link: Link, tags: Mapping[str, str]) -> None:
    """Put a link's kept attributes back from its instance's tags."""
    for attribute in KEPT:
        value = tags.get(tag_key(link.id or "", attribute))
        if value:
            link.attributes[attribute] = value


async def keep(api: Ec2Api, instance_id: str, link_id: str, attributes: Mapping[str, Any]) -> None:
    """Tag the instance with the kept attributes a client gave the link (None removes)."""
    present = {
        tag_key(link_id, name): str(attributes[name])
        for name in KEPT
        if attributes.get(name) not in (None, "")
    }
    absent = [
        {"Key": tag_key(link_id, name)}
        for name in KEPT
        if name in attributes and attributes.get(name) in (None, "")
    ]
    if present:
        tags = [{"Key": key, "Value": value} for key, value in present.items()]
        await api.call("create_tags", Resources=[instance_id], Tags=tags)
    if absent:
        await api.call("delete_tags", Resources=[instance_id], Tags=absent)


async def forget(api: Ec2Api, instance_id: str, link_id: str) -> None:
    """Remove a deleted link's tags from its instance."""
    tags = [{"Key": tag_key(link_id, name)} for name in KEPT]
    await api.call("delete_tags", Resources=[instance_id], Tags=tags)
