"""Where new resources go: the VPC, the default subnet and security groups.

Given in the settings, or else found in the account: the default VPC, its
default subnet in the first availability zone, and the VPC's ``default``
security group. They are looked up on first use (not at server start), so
a server started while EC2 is unreachable serves once EC2 is back, and
kept; but when EC2 says an id is unknown to an operation that used them
(`Placement.using`), they are looked up again and the operation is made
once more with the fresh ones, so a subnet or group deleted behind the
server's back costs no restart.

The default subnet and groups are the provider's: every tenant sees them
(new computes are attached to them) and none may delete them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from pyocci.backends.ec2.api import Ec2Api
from pyocci.backends.ec2.errors import is_missing
from pyocci.backends.ec2.settings import Ec2Settings
from pyocci.backends.errors import BackendError, BackendUnavailableError, EntityNotFoundError

T = TypeVar("T")


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
    """Finds the `Place` once and remembers it until EC2 says part of it is gone."""

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

    async def using(self, operation: Callable[[Place], Awaitable[T]]) -> T:
        """`operation(place)`; if EC2 answers that an id is unknown and the place, looked
        up again, has changed, `operation` once more with the fresh place.

        Only operations that change nothing in EC2 before they fail on an id belong
        here (a launch, a create): they are made twice.
        """
        place = await self.place()
        try:
            return await operation(place)
        except BackendError as error:
            if error.cloud_code is None or not is_missing(error.cloud_code):
                raise
            fresh = await self.refresh(place)
            if fresh == place:
                raise  # the unknown id was not the place's
        return await operation(fresh)

    async def refresh(self, stale: Place) -> Place:
        """The place looked up again, unless another request did since `stale` was read."""
        async with self._lock:
            if self._place is None or self._place == stale:
                self._place = await self._find()
            return self._place

    async def _find(self) -> Place:
        settings = self._settings
        if settings.subnet_id is not None:
            subnet = await self._configured_subnet(settings.subnet_id)
            vpc_id = settings.vpc_id or subnet["VpcId"]
        else:
            vpc_id = settings.vpc_id or await self._default_vpc()
            subnet = await self._default_subnet(vpc_id)
        groups = settings.security_group_ids or (await self._default_group(vpc_id),)
        return Place(vpc_id, subnet["SubnetId"], subnet["AvailabilityZone"], tuple(groups))

    async def _configured_subnet(self, subnet_id: str) -> dict[str, Any]:
        try:
            response = await self._api.call("describe_subnets", SubnetIds=[subnet_id])
        except EntityNotFoundError:
            response = {}
        subnets = response.get("Subnets") or ()
        if not subnets:
            raise BackendUnavailableError(
                f"the subnet_id {subnet_id} of [backend_settings] does not exist in EC2 (any "
                "more); set an existing one, or leave it out for the VPC's default subnet",
                retry_after=self._settings.retry_after,
            )
        return dict(subnets[0])

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
        groups = response.get("SecurityGroups") or ()
        if not groups:
            raise BackendUnavailableError(
                f"the VPC {vpc_id} has no default security group; set security_group_ids "
                "in [backend_settings]",
                retry_after=self._settings.retry_after,
            )
        return str(groups[0]["GroupId"])
