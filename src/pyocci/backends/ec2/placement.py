"""Where new resources go: the VPC, the default subnet and security groups.

Given in the settings, or else found in the account: the default VPC, its
default subnet in the first availability zone, and the VPC's ``default``
security group. They are looked up on first use (not at server start), so
a server started while EC2 is unreachable serves once EC2 is back.

The default subnet and groups are the provider's: every tenant sees them
(new computes are attached to them) and none may delete them.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from pyocci.backends.ec2.api import Ec2Api
from pyocci.backends.ec2.settings import Ec2Settings
from pyocci.backends.errors import BackendUnavailableError


@dataclass(frozen=True, slots=True)
class Place:
    """The VPC, subnet (and its zone) and security groups new resources get."""

    vpc_id: str
    subnet_id: str
    zone: str
    group_ids: tuple[str, ...]

    def is_shared(self, ec2_id: str) -> bool:
        """Whether this subnet or group is the provider's, seen by every tenant."""
        return ec2_id == self.subnet_id or ec2_id in self.group_ids


class Placement:
    """Finds the `Place` once and remembers it."""

    def __init__(self, api: Ec2Api, settings: Ec2Settings) -> None:
        self._api = api
        self._settings = settings
        self._place: Place | None = None
        self._lock = anyio.Lock()

    async def place(self) -> Place:
        """The place, found on the first call."""
        if self._place is not None:
            return self._place
        async with self._lock:
            if self._place is None:
                self._place = await self._find()
        return self._place

    async def _find(self) -> Place:
        settings = self._settings
        if settings.subnet_id is not None:
            response = await self._api.call("describe_subnets", SubnetIds=[settings.subnet_id])
            subnet = response["Subnets"][0]
            vpc_id = settings.vpc_id or subnet["VpcId"]
        else:
            vpc_id = settings.vpc_id or await self._default_vpc()
            subnet = await self._default_subnet(vpc_id)
        groups = settings.security_group_ids or (await self._default_group(vpc_id),)
        return Place(vpc_id, subnet["SubnetId"], subnet["AvailabilityZone"], tuple(groups))

    async def _default_vpc(self) -> str:
        response = await self._api.call(
            "describe_vpcs", Filters=[{"Name": "is-default", "Values": ["true"]}]
        )
        vpcs = response.get("Vpcs", ())
        if not vpcs:
            raise BackendUnavailableError(
                "this EC2 region has no default VPC; set vpc_id and subnet_id in "
                "[backend_settings]",
                retry_after=self._settings.retry_after,
            )
        return str(vpcs[0]["VpcId"])

    async def _default_subnet(self, vpc_id: str) -> dict:
        response = await self._api.call(
            "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
        )
        subnets = sorted(
            response.get("Subnets", ()),
            key=lambda s: (not s.get("DefaultForAz", False), s["AvailabilityZone"], s["SubnetId"]),
        )
        if not subnets:
            raise BackendUnavailableError(
                f"the VPC {vpc_id} has no subnet; set subnet_id in [backend_settings]",
                retry_after=self._settings.retry_after,
            )
        return subnets[0]

    async def _default_group(self, vpc_id: str) -> str:
        response = await self._api.call(
            "describe_security_groups",
            Filters=[
                {"Name": "vpc-id", "Values": [vpc_id]},
                {"Name": "group-name", "Values": ["default"]},
            ],
        )
        return str(response["SecurityGroups"][0]["GroupId"])
