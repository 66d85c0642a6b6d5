"""OpenNebula's clusters as availability zones (the kit's `Zones`).

A cluster with at least one host is a zone: a compute created with its
mixin is placed on the cluster's hosts (``SCHED_REQUIREMENTS`` on the
instantiation, with the template's own requirements kept), and a compute
shows the cluster of the host it was last placed on. Clusters are read with
the service account where there is one (users may not be allowed to list
them), else with the caller's session, at most once per ``template_ttl``.
"""

from __future__ import annotations

from typing import Any

from pyocci.backends.kit.zones import Zones
from pyocci.backends.opennebula import catalogue as catalogues
from pyocci.backends.opennebula.api import OneApi
from pyocci.backends.opennebula.records import ids_of, listed
from pyocci.backends.opennebula.tenancy import Tenancy

ZONE_SCHEME = "http://schemas.pyocci.org/opennebula/availability_zone#"


def cluster_zones(api: OneApi, tenancy: Tenancy, ttl: float) -> Zones[int]:
    """The clusters that have hosts, by name (their ids the values)."""

    async def read() -> dict[str, int]:
        if api.settings.username and api.settings.password:
            session = tenancy.service_session
        else:
            acting = catalogues.current.get()
            if acting is None:
                return {}
            session = acting.session
        pool = await api.call(session, "clusterpool.info")
        return {
            str(cluster.NAME): int(cluster.ID)
            for cluster in listed(pool, "CLUSTER")
            if ids_of(getattr(cluster, "HOSTS", None))
        }

    return Zones(ZONE_SCHEME, "OpenNebula cluster", read, ttl)


def placed_in(vm: Any) -> int | None:
    """The cluster of the host a VM was last placed on; None before it was placed."""
    records = getattr(getattr(vm, "HISTORY_RECORDS", None), "HISTORY", None) or []
    if not isinstance(records, list):
        records = [records]
    if not records:
        return None
    cluster = getattr(records[-1], "CID", None)
    return int(cluster) if cluster is not None and str(cluster).lstrip("-").isdigit() else None


def with_cluster(requirements: str | None, cluster_id: int) -> str:
    """Scheduling requirements that keep a template's own and add the cluster."""
    placed = f"CLUSTER_ID = {cluster_id}"
    return f"({requirements}) & {placed}" if requirements else placed
