"""Which EC2 resources belong to which OCCI tenant.

With ``tenancy = "tag"`` every resource the backend creates carries the
tenant tag, and every describe call filters on it, so one AWS account
serves several tenants that never see each other's resources. With
``tenancy = "account"`` there is one pool: every tenant sees the whole
region, including what was made outside OCCI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyocci.backends.api import Tenant
from pyocci.backends.ec2.settings import Ec2Settings

NAME_TAG = "Name"
SUMMARY_TAG = "occi:summary"


def tag_map(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """EC2's ``[{Key, Value}]`` as a dictionary."""
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in tags or ()}


class Tenancy:
    """Tags to put on new resources and filters to read only a tenant's own."""

    def __init__(self, settings: Ec2Settings) -> None:
        self.by_tag = settings.tenancy == "tag"
        self.key = settings.tenant_tag

    def filters(self, tenant: Tenant) -> list[dict[str, Any]]:
        """EC2 filters that keep the tenant's resources only."""
        if not self.by_tag:
            return []
        return [{"Name": f"tag:{self.key}", "Values": [tenant.id]}]

    def owns(self, tenant: Tenant, tags: Iterable[Mapping[str, Any]] | None) -> bool:
        """Whether a resource with these tags belongs to the tenant."""
        return not self.by_tag or tag_map(tags).get(self.key) == tenant.id

    def tags(
        self, tenant: Tenant, title: str | None = None, summary: str | None = None
    ) -> list[dict[str, str]]:
        """The tags of a new resource: the tenant's, and its title and summary if any."""
        tags = [{"Key": self.key, "Value": tenant.id}] if self.by_tag else []
        if title:
            tags.append({"Key": NAME_TAG, "Value": title})
        if summary:
            tags.append({"Key": SUMMARY_TAG, "Value": summary})
        return tags

    def specification(self, resource_type: str, tags: list[dict[str, str]]) -> list[dict[str, Any]]:
        """``TagSpecifications`` for a create call (nothing when there are no tags)."""
        return [{"ResourceType": resource_type, "Tags": tags}] if tags else []
