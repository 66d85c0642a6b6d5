"""EC2 descriptions turned into OCCI entities, without any further EC2 call.

An instance comes with its links from the same DescribeInstances answer:
its EBS attachments (storagelinks), its interfaces and their public
addresses (networkinterfaces) and its security groups (securitygrouplinks).
That is what lets a listing make one call per page.

State mapping: running is active; stopped is inactive (suspended when it
was hibernated); pending and stopping are waiting (no action applies until
EC2 settles). Volumes available or in use are online, a volume being
created is offline.

What EC2 is deleting is gone: an instance shutting down or terminated, a
volume deleting or deleted, an interface detaching or detached are never
shown, so a delete EC2 has taken on reads as done at once. A volume
attachment is the exception: it shows ``inactive`` while EC2 detaches it
(``detaching``), for the volume cannot be deleted or attached elsewhere
until it is ``detached`` (EC2 answers VolumeInUse): a storagelink delete is
done once the link is gone.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from pyocci.backends.ec2 import ids, linkmeta
from pyocci.backends.ec2.catalogue import (
    OS_TPL_SCHEME,
    RESOURCE_TPL_SCHEME,
    InstanceType,
    Offer,
    type_term,
)
from pyocci.backends.ec2.tenancy import NAME_TAG, SUMMARY_TAG, tag_map
from pyocci.model.entity import (
    CORE_ID,
    CORE_SOURCE,
    CORE_SUMMARY,
    CORE_TARGET,
    CORE_TITLE,
    Link,
    Resource,
)
from pyocci.model.extensions import SECURITYGROUP, SECURITYGROUPLINK
from pyocci.model.infrastructure import (
    COMPUTE,
    IPNETWORK,
    IPNETWORKINTERFACE,
    NETWORK,
    NETWORKINTERFACE,
    STORAGE,
    STORAGELINK,
)

Locate = Callable[[str, str], str]
Description = Mapping[str, Any]

#: EC2 instance states that are gone (being terminated, or terminated): never shown.
GONE = frozenset({"shutting-down", "terminated"})
#: Every instance state shown, for the ``instance-state-name`` filter.
SHOWN_STATES = ("pending", "running", "stopping", "stopped")
#: Volume states that are gone: never shown.
GONE_VOLUMES = frozenset({"deleting", "deleted"})
#: Every volume state shown, for the ``status`` filter of DescribeVolumes.
SHOWN_VOLUME_STATES = ("creating", "available", "in-use", "error")
#: Interface attachment states that are gone: the link is not shown (deleting a
#: networkinterface waits for the detach itself, then deletes the interface).
GONE_ATTACHMENTS = frozenset({"detaching", "detached"})
#: Volume attachment states that are gone. ``detaching`` is shown (inactive): the
#: volume is still in use until EC2 has detached it.
GONE_VOLUME_ATTACHMENTS = frozenset({"detached"})
HIBERNATED = "Client.UserInitiatedHibernate"

_COMPUTE_STATES = {
    "running": "active",
    "stopped": "inactive",
    "pending": "waiting",
    "stopping": "waiting",
}
_ARCHITECTURES = {"x86_64": "x64", "i386": "x86"}
_VOLUME_STATES = {
    "available": "online",
    "in-use": "online",
    "creating": "offline",
    "error": "error",
}


def is_gone(instance: Description) -> bool:
    """Whether EC2 is terminating the instance, or has: it is not shown."""
    return instance["State"]["Name"] in GONE


def is_gone_volume(volume: Description) -> bool:
    """Whether EC2 is deleting the volume, or has: it is not shown."""
    return volume.get("State") in GONE_VOLUMES


def compute_state(instance: Description) -> str:
    """The occi.compute.state of an instance."""
    state = instance["State"]["Name"]
    if state == "stopped" and instance.get("StateReason", {}).get("Code") == HIBERNATED:
        return "suspended"
    return _COMPUTE_STATES.get(state, "error")


def ec2_states_for(occi_state: Any) -> list[str]:
    """The EC2 instance states shown as this occi.compute.state (for a pushed-down filter)."""
    return [ec2 for ec2, occi in _COMPUTE_STATES.items() if occi == occi_state] + (
        ["stopped"] if occi_state == "suspended" else []
    )


def _titled(attributes: dict[str, Any], tags: Mapping[str, str]) -> None:
    if tags.get(NAME_TAG):
        attributes[CORE_TITLE] = tags[NAME_TAG]
    if tags.get(SUMMARY_TAG):
        attributes[CORE_SUMMARY] = tags[SUMMARY_TAG]


def compute(instance: Description, offer: Offer[InstanceType], locate: Locate) -> Resource:
    """An instance as a compute, with its links."""
    instance_id = instance["InstanceId"]
    ec2_state = instance["State"]["Name"]
    attributes: dict[str, Any] = {
        CORE_ID: instance_id,
        "occi.compute.state": compute_state(instance),
        "occi.compute.state.message": f"EC2 state {ec2_state}",
    }
    tags = tag_map(instance.get("Tags"))
    _titled(attributes, tags)
    architecture = _ARCHITECTURES.get(instance.get("Architecture", ""))
    if architecture:
        attributes["occi.compute.architecture"] = architecture
    if instance.get("PrivateDnsName"):
        attributes["occi.compute.hostname"] = instance["PrivateDnsName"]
    instance_type = instance.get("InstanceType", "")
    sizes = offer.sizes.get(instance_type)
    options = instance.get("CpuOptions") or {}
    if options.get("CoreCount"):
        attributes["occi.compute.cores"] = options["CoreCount"] * options.get("ThreadsPerCore", 1)
    elif sizes is not None:
        attributes["occi.compute.cores"] = sizes.cores
    if sizes is not None:
        attributes["occi.compute.memory"] = sizes.memory
    mixins = []
    if instance.get("ImageId"):
        mixins.append(OS_TPL_SCHEME + instance["ImageId"])
    if instance_type:
        mixins.append(RESOURCE_TPL_SCHEME + type_term(instance_type))
    source = locate(COMPUTE.id, instance_id)
    links: list[Link] = [
        *storagelinks(instance, source, locate),
        *interfaces(instance, source, locate),
        *group_links(instance, source, locate),
    ]
    for link in links:
        linkmeta.restore(link, tags)
    resource = Resource(kind=COMPUTE.id, mixins=mixins, attributes=attributes, links=links)
    resource.location = source
    return resource


def _link(kind: str, link_id: str, source: str, target: str, locate: Locate) -> Link:
    link = Link(kind=kind, attributes={CORE_ID: link_id, CORE_SOURCE: source, CORE_TARGET: target})
    link.location = locate(kind, link_id)
    return link


def storagelinks(instance: Description, source: str, locate: Locate) -> list[Link]:
    """The instance's EBS attachments."""
    found = []
    for mapping in instance.get("BlockDeviceMappings", ()):
        ebs = mapping.get("Ebs")
        if not ebs or not ebs.get("VolumeId"):
            continue
        status = ebs.get("Status", "attached")
        if status in GONE_VOLUME_ATTACHMENTS:
            continue  # detached: EC2 drops the mapping soon after
        volume_id = ebs["VolumeId"]
        link = _link(
            STORAGELINK.id,
            ids.pair(instance["InstanceId"], volume_id),
            source,
            locate(STORAGE.id, volume_id),
            locate,
        )
        link.attributes["occi.storagelink.deviceid"] = mapping.get("DeviceName")
        link.attributes["occi.storagelink.state"] = "active" if status == "attached" else "inactive"
        link.attributes["occi.storagelink.state.message"] = f"EBS attachment {status}"
        found.append(link)
    return found


def interfaces(instance: Description, source: str, locate: Locate) -> list[Link]:
    """The instance's network interfaces, and a link to the public network for each
    interface with a public address."""
    found = []
    ordered = sorted(
        instance.get("NetworkInterfaces", ()),
        key=lambda eni: eni.get("Attachment", {}).get("DeviceIndex", 0),
    )
    for eni in ordered:
        eni_id = eni["NetworkInterfaceId"]
        attachment = eni.get("Attachment", {})
        index = attachment.get("DeviceIndex", 0)
        status = attachment.get("Status", "attached")
        if status in GONE_ATTACHMENTS:
            continue  # being detached (and then deleted): gone as far as OCCI goes
        link = _link(
            NETWORKINTERFACE.id, eni_id, source, locate(NETWORK.id, eni["SubnetId"]), locate
        )
        link.mixins = [IPNETWORKINTERFACE.id]
        link.attributes.update(
            {
                "occi.networkinterface.interface": f"eth{index}",
                "occi.networkinterface.mac": eni.get("MacAddress"),
                "occi.networkinterface.address": eni.get("PrivateIpAddress"),
                "occi.networkinterface.allocation": "dynamic",
                "occi.networkinterface.state": "active" if status == "attached" else "inactive",
                "occi.networkinterface.state.message": f"ENI attachment {status}",
            }
        )
        found.append(link)
        public = (eni.get("Association") or {}).get("PublicIp")
        if public:
            found.append(_public_link(eni, index, public, source, locate))
    return found


def _public_link(eni: Description, index: int, address: str, source: str, locate: Locate) -> Link:
    link = _link(
        NETWORKINTERFACE.id,
        ids.public_link(eni["NetworkInterfaceId"]),
        source,
        locate(NETWORK.id, ids.PUBLIC),
        locate,
    )
    link.mixins = [IPNETWORKINTERFACE.id]
    link.attributes.update(
        {
            "occi.networkinterface.interface": f"eth{index}",
            "occi.networkinterface.mac": eni.get("MacAddress"),
            "occi.networkinterface.address": address,
            "occi.networkinterface.allocation": "static",
            "occi.networkinterface.state": "active",
            "occi.networkinterface.state.message": "public address associated",
        }
    )
    return link


def group_links(instance: Description, source: str, locate: Locate) -> list[Link]:
    """The instance's security groups."""
    found = []
    groups = list(instance.get("SecurityGroups", ()))
    if not groups:
        # Some EC2 implementations report the groups on the interfaces only.
        seen: dict[str, Description] = {}
        for eni in instance.get("NetworkInterfaces", ()):
            for group in eni.get("Groups", ()):
                seen.setdefault(group["GroupId"], group)
        groups = list(seen.values())
    for group in groups:
        link = _link(
            SECURITYGROUPLINK.id,
            ids.pair(instance["InstanceId"], group["GroupId"]),
            source,
            locate(SECURITYGROUP.id, group["GroupId"]),
            locate,
        )
        link.attributes["occi.securitygrouplink.state"] = "active"
        found.append(link)
    return found


def storage(volume: Description, locate: Locate) -> Resource:
    """An EBS volume as a storage."""
    state = volume.get("State", "available")
    attributes: dict[str, Any] = {
        CORE_ID: volume["VolumeId"],
        "occi.storage.size": float(volume["Size"]),
        "occi.storage.state": _VOLUME_STATES.get(state, "error"),
        "occi.storage.state.message": f"EBS volume {state}",
    }
    _titled(attributes, tag_map(volume.get("Tags")))
    resource = Resource(kind=STORAGE.id, attributes=attributes)
    resource.location = locate(STORAGE.id, volume["VolumeId"])
    return resource


def gateway_of(cidr: str) -> str:
    """EC2's gateway: the first host address of a subnet (its VPC router)."""
    return str(ipaddress.ip_network(cidr, strict=False).network_address + 1)


def network(subnet: Description, locate: Locate) -> Resource:
    """A subnet as an ipnetwork."""
    cidr = subnet["CidrBlock"]
    state = subnet.get("State", "available")
    attributes: dict[str, Any] = {
        CORE_ID: subnet["SubnetId"],
        "occi.network.state": "active" if state == "available" else "inactive",
        "occi.network.state.message": f"EC2 subnet {state} in {subnet.get('VpcId')}",
        "occi.network.address": cidr,
        "occi.network.gateway": gateway_of(cidr),
        "occi.network.allocation": "dynamic",
    }
    _titled(attributes, tag_map(subnet.get("Tags")))
    resource = Resource(kind=NETWORK.id, mixins=[IPNETWORK.id], attributes=attributes)
    resource.location = locate(NETWORK.id, subnet["SubnetId"])
    return resource


def public_network(locate: Locate) -> Resource:
    """The internet, reached through elastic IP addresses: ``/network/public``."""
    resource = Resource(
        kind=NETWORK.id,
        attributes={
            CORE_ID: ids.PUBLIC,
            CORE_TITLE: "Public internet",
            CORE_SUMMARY: (
                "Link a compute here to give it an elastic IP address; "
                "delete the link to release the address"
            ),
            "occi.network.state": "active",
            "occi.network.label": ids.PUBLIC,
        },
    )
    resource.location = locate(NETWORK.id, ids.PUBLIC)
    return resource


def security_group(group: Description, locate: Locate) -> Resource:
    """A security group with its rules in the OOI/rOCCI rule form."""
    rules = [
        *_rules("inbound", group.get("IpPermissions", ())),
        *_rules("outbound", group.get("IpPermissionsEgress", ())),
    ]
    tags = tag_map(group.get("Tags"))
    attributes: dict[str, Any] = {
        CORE_ID: group["GroupId"],
        CORE_TITLE: group.get("GroupName"),
        "occi.securitygroup.rules": rules,
        "occi.securitygroup.state": "active",
    }
    if group.get("Description"):
        attributes[CORE_SUMMARY] = group["Description"]
    _titled(attributes, tags)
    resource = Resource(kind=SECURITYGROUP.id, attributes=attributes)
    resource.location = locate(SECURITYGROUP.id, group["GroupId"])
    return resource


def _rules(direction: str, permissions: Any) -> list[dict[str, str]]:
    rules = []
    for permission in permissions:
        protocol = str(permission.get("IpProtocol", "-1"))
        protocol = {"-1": "any", "6": "tcp", "17": "udp", "1": "icmp"}.get(protocol, protocol)
        port = None
        if protocol in ("tcp", "udp") and permission.get("FromPort") is not None:
            low, high = permission["FromPort"], permission.get("ToPort", permission["FromPort"])
            port = str(low) if low == high else f"{low}-{high}"
        ranges = [(r["CidrIp"], "IPv4") for r in permission.get("IpRanges", ())]
        ranges += [(r["CidrIpv6"], "IPv6") for r in permission.get("Ipv6Ranges", ())]
        for cidr, version in ranges:
            rule = {"type": direction, "protocol": protocol, "range": cidr, "ipversion": version}
            if port is not None:
                rule["port"] = port
            rules.append(rule)
    return rules
