"""Usage records of a period: what each compute used between two instants.

One `UsageRecord` per compute alive at some instant of ``[since, until)``,
computed from its intervals (`pyocci.store.usage`), with the fields of an
APEL cloud usage record (message format v0.4). Durations count the period
only: a compute created before it, or deleted after it, contributes the
part inside. Sizes and the image are the compute's at the end of its part of
the period.

- ``WallDuration``: seconds running (``active``, or ``waiting`` on its way
  to a state) in the period; ``SuspendDuration``: seconds ``suspended``.
  Time stopped (``inactive``) or in ``error`` counts in neither.
- ``CpuDuration``: seconds running times the cores during those seconds
  (the server sees no guest's CPU time, so every core counts as busy).
- ``Status``: ``completed`` once deleted, else by the state at the end:
  ``started`` (active, waiting), ``suspended``, ``stopped`` (inactive,
  error).
- ``Memory`` in MB (MiB, from ``occi.compute.memory`` in GiB), ``Disk`` in
  GB (``occi.compute.ephemeral_storage.size``), times in seconds since the
  epoch (UTC), durations in whole seconds.

What no OCCI change shows (network traffic, public addresses, benchmarks,
the user's global identity and VO) is left empty (None).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from pyocci.store.usage import ComputeUsage, Interval

#: States whose time is wall time.
RUNNING = frozenset({"active", "waiting"})
#: States whose time is suspended time.
SUSPENDED = frozenset({"suspended"})

MIB_PER_GIB = 1024


@dataclass(frozen=True, slots=True)
class Site:
    """Who reports: the site and its cloud service, as the accounting repository knows
    them, and the cloud's middleware."""

    name: str | None
    cloud_compute_service: str | None
    cloud_type: str


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """The usage of one compute in a period: the fields of an APEL cloud record, in the
    message's order (names as APEL spells them, by `fields`)."""

    VMUUID: str
    SiteName: str | None
    CloudComputeService: str | None
    MachineName: str | None
    LocalUserId: str | None
    LocalGroupId: str | None
    GlobalUserName: str | None
    FQAN: str | None
    Status: str
    StartTime: int
    EndTime: int | None
    SuspendDuration: int
    WallDuration: int
    CpuDuration: int
    CpuCount: int | None
    NetworkType: str | None
    NetworkInbound: int | None
    NetworkOutbound: int | None
    PublicIPCount: int | None
    Memory: int | None
    Disk: int | None
    BenchmarkType: str | None
    Benchmark: float | None
    StorageRecordId: str | None
    ImageId: str | None
    CloudType: str


#: The field names of a record, in the order APEL's message lists them.
FIELDS = tuple(UsageRecord.__dataclass_fields__)


def records(
    usages: Iterable[ComputeUsage], since: float, until: float, site: Site
) -> list[UsageRecord]:
    """The record of each compute's usage in ``[since, until)``, in the given order."""
    return [_record(usage, since, until, site) for usage in usages]


def _overlap(interval: Interval, since: float, until: float) -> float:
    end = until if interval.ended_at is None else min(interval.ended_at, until)
    return max(0.0, end - max(interval.started_at, since))


def _record(usage: ComputeUsage, since: float, until: float, site: Site) -> UsageRecord:
    wall = suspended = cpu = 0.0
    last: Interval | None = None
    for interval in usage.intervals:
        if interval.started_at >= until:
            break
        last = interval
        seconds = _overlap(interval, since, until)
        state = interval.observation.state
        if state in RUNNING:
            wall += seconds
            cpu += seconds * (interval.observation.cores or 0)
        elif state in SUSPENDED:
            suspended += seconds
    ended = usage.deleted_at is not None and usage.deleted_at <= until
    observation = last.observation if last is not None else None
    if ended:
        status = "completed"
    elif observation is None:
        status = "stopped"
    elif observation.state in RUNNING:
        status = "started"
    elif observation.state in SUSPENDED:
        status = "suspended"
    else:
        status = "stopped"
    memory = observation.memory if observation else None
    disk = observation.disk if observation else None
    return UsageRecord(
        VMUUID=usage.entity_id,
        SiteName=site.name,
        CloudComputeService=site.cloud_compute_service,
        MachineName=usage.machine_name or usage.entity_id,
        LocalUserId=usage.tenant_name or usage.tenant_id,
        LocalGroupId=usage.tenant_id,
        GlobalUserName=None,
        FQAN=None,
        Status=status,
        StartTime=math.floor(usage.created_at),
        EndTime=math.floor(usage.deleted_at) if ended and usage.deleted_at is not None else None,
        SuspendDuration=round(suspended),
        WallDuration=round(wall),
        CpuDuration=round(cpu),
        CpuCount=observation.cores if observation else None,
        NetworkType=None,
        NetworkInbound=None,
        NetworkOutbound=None,
        PublicIPCount=None,
        Memory=None if memory is None else round(memory * MIB_PER_GIB),
        Disk=None if disk is None else math.ceil(disk),
        BenchmarkType=None,
        Benchmark=None,
        StorageRecordId=None,
        ImageId=observation.image if observation else None,
        CloudType=site.cloud_type,
    )
