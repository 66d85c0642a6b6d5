"""Usage records of a period, computed from computes' intervals: what counts as wall and
suspended time, what a period cuts off, and how a record reports sizes and status."""

from __future__ import annotations

from pyocci.service.usage_records import FIELDS, Site, records
from pyocci.store.usage import ComputeUsage, Interval, Observation

SITE = Site(name="EXAMPLE-SITE", cloud_compute_service="occi.example.org", cloud_type="sim")
ACTIVE = Observation("active", cores=2, memory=4.0, disk=20.0, image="os#debian")
STOPPED = Observation("inactive", cores=2, memory=4.0, disk=20.0, image="os#debian")
SUSPENDED = Observation("suspended", cores=2, memory=4.0, disk=20.0, image="os#debian")
WAITING = Observation("waiting", cores=2, memory=4.0, disk=20.0, image="os#debian")
LARGE = Observation("active", cores=8, memory=16.5, disk=80.4, image="os#ubuntu")


def _life(*intervals: Interval, deleted_at: float | None = None) -> ComputeUsage:
    return ComputeUsage(
        tenant_id="t1",
        entity_id="vm-1",
        tenant_name="Team",
        machine_name=None,
        created_at=intervals[0].started_at,
        deleted_at=deleted_at,
        intervals=intervals,
    )


def test_fields_are_apels_in_its_order() -> None:
    assert list(FIELDS) == [
        "VMUUID",
        "SiteName",
        "CloudComputeService",
        "MachineName",
        "LocalUserId",
        "LocalGroupId",
        "GlobalUserName",
        "FQAN",
        "Status",
        "StartTime",
        "EndTime",
        "SuspendDuration",
        "WallDuration",
        "CpuDuration",
        "CpuCount",
        "NetworkType",
        "NetworkInbound",
        "NetworkOutbound",
        "PublicIPCount",
        "Memory",
        "Disk",
        "BenchmarkType",
        "Benchmark",
        "StorageRecordId",
        "ImageId",
        "CloudType",
    ]


def test_a_whole_life_inside_the_period() -> None:
    life = _life(
        Interval(ACTIVE, 1000.0, 1100.0),
        Interval(STOPPED, 1100.0, 1150.0),
        Interval(SUSPENDED, 1150.0, 1170.0),
        Interval(LARGE, 1170.0, 1200.0),
        deleted_at=1200.0,
    )
    [record] = records([life], 0.0, 5000.0, SITE)
    assert record.VMUUID == "vm-1"
    assert (record.SiteName, record.CloudComputeService, record.CloudType) == (
        "EXAMPLE-SITE",
        "occi.example.org",
        "sim",
    )
    assert (record.MachineName, record.LocalUserId, record.LocalGroupId) == ("vm-1", "Team", "t1")
    assert record.Status == "completed"
    assert (record.StartTime, record.EndTime) == (1000, 1200)
    assert record.WallDuration == 130  # 100 active + 30 active after the resize
    assert record.SuspendDuration == 20
    assert record.CpuDuration == 100 * 2 + 30 * 8
    # Sizes as they were last: MB of memory, whole GB of disk (rounded up).
    assert (record.CpuCount, record.Memory, record.Disk) == (8, 16896, 81)
    assert record.ImageId == "os#ubuntu"
    for unknown in ("GlobalUserName", "FQAN", "NetworkInbound", "PublicIPCount", "Benchmark"):
        assert getattr(record, unknown) is None


def test_a_period_counts_only_its_part_of_a_life() -> None:
    life = _life(Interval(ACTIVE, 1000.0, 2000.0), Interval(SUSPENDED, 2000.0, None))
    [before] = records([life], 1500.0, 1800.0, SITE)
    assert (before.WallDuration, before.SuspendDuration, before.Status) == (300, 0, "started")
    assert before.StartTime == 1000  # the life's start, not the period's
    assert before.EndTime is None
    [across] = records([life], 1900.0, 2500.0, SITE)
    assert (across.WallDuration, across.SuspendDuration, across.Status) == (100, 500, "suspended")


def test_a_compute_deleted_after_the_period_is_not_completed_in_it() -> None:
    life = _life(Interval(ACTIVE, 1000.0, 3000.0), deleted_at=3000.0)
    [record] = records([life], 1000.0, 2000.0, SITE)
    assert (record.Status, record.EndTime, record.WallDuration) == ("started", None, 1000)
    [later] = records([life], 2000.0, 4000.0, SITE)
    assert (later.Status, later.EndTime, later.WallDuration) == ("completed", 3000, 1000)


def test_waiting_is_running_and_stopped_is_neither() -> None:
    life = _life(Interval(WAITING, 0.0, 10.0), Interval(STOPPED, 10.0, None))
    [record] = records([life], 0.0, 100.0, SITE)
    assert (record.WallDuration, record.SuspendDuration, record.CpuDuration) == (10, 0, 20)
    assert record.Status == "stopped"


def test_changes_after_the_period_do_not_show_in_it() -> None:
    life = _life(Interval(ACTIVE, 0.0, 50.0), Interval(LARGE, 50.0, None))
    [record] = records([life], 0.0, 40.0, SITE)
    assert (record.CpuCount, record.ImageId, record.WallDuration) == (2, "os#debian", 40)
