"""Tenants on OpenNebula: one group per tenant, acted in through a user of it.

With ``credentials = "service"`` the service account keeps, per tenant, a
group and a user both named ``tenant_prefix`` + the tenant's id (made on
first use when ``create_tenants`` is on). The user's password is derived
from the service account's, so nothing needs storing: the backend logs in
as that user, and oned itself confines every call to the tenant's group.
With ``credentials = "caller"`` the caller's own credentials are the
session, and the caller's primary group is the tenant's.

Either way the backend acts with a session string whose primary group is the
tenant's: pool listings ask oned for that group's objects (filter -4), and
an object read by id is the tenant's only if it is in that group.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from pyone.acl import OneAcl

from pyocci.backends.api import Tenant
from pyocci.backends.errors import (
    BackendUnavailableError,
    ConflictError,
    EntityNotFoundError,
    QuotaExceededError,
)
from pyocci.backends.opennebula.api import OneApi

#: Sessions known, the least recently used dropped first.
SESSIONS_KEPT = 1024
#: What a tenant's group may create (what ``onegroup create`` grants a new group).
GROUP_RIGHTS = "VM+NET+IMAGE+TEMPLATE+DOCUMENT+SECGROUP+VMGROUP+BACKUPJOB/* CREATE"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]")


@dataclass(frozen=True, slots=True)
class Acting:
    """How the backend acts for a tenant: the session string, and the tenant's group."""

    session: str
    user_id: int
    group_id: int


def account_name(prefix: str, tenant_id: str) -> str:
    """The group's and the user's name of a tenant: the prefix and the id, characters
    OpenNebula names may not hold replaced, with a digest when anything was."""
    safe = _UNSAFE.sub("_", tenant_id)[:100]
    if safe != tenant_id:
        safe += "-" + hashlib.sha256(tenant_id.encode()).hexdigest()[:8]
    return prefix + safe


class Tenancy:
    """The session each tenant's calls are made with."""

    def __init__(self, api: OneApi) -> None:
        self.api = api
        self.settings = api.settings
        self._known: OrderedDict[str, Acting] = OrderedDict()
        #: Each tenant's derived session string, by tenant id: an HMAC per request costs
        #: more than the rest of the tenant's lookup.
        self._derived: OrderedDict[str, str] = OrderedDict()

    @property
    def service_session(self) -> str:
        """The service account's session string."""
        return f"{self.settings.username}:{self.settings.password}"

    def _password(self, tenant_id: str) -> str:
        secret = (self.settings.password or "").encode()
        return hmac.new(secret, tenant_id.encode(), hashlib.sha256).hexdigest()

    def _session_of(self, tenant: Tenant) -> str:
        if self.settings.credentials == "caller":
            if not tenant.token:
                raise QuotaExceededError(
                    "this server passes callers' OpenNebula credentials through; "
                    "authenticate with your OpenNebula user and password (or login token)"
                )
            return tenant.token
        session = self._derived.get(tenant.id)
        if session is None:
            name = account_name(self.settings.tenant_prefix, tenant.id)
            session = self._derived[tenant.id] = f"{name}:{self._password(tenant.id)}"
            while len(self._derived) > SESSIONS_KEPT:
                self._derived.popitem(last=False)
        return session

    async def acting(self, tenant: Tenant) -> Acting:
        """How to act for the tenant; its group and user made first when they are not
        there yet (service account, ``create_tenants``)."""
        session = self._session_of(tenant)
        known = self._known.get(session)
        if known is not None:
            self._known.move_to_end(session)
            return known
        try:
            user = await self.api.call(session, "user.info", -1, False)
        except QuotaExceededError:
            if self.settings.credentials == "caller" or not self.settings.create_tenants:
                raise
            await self._create(tenant)
            user = await self.api.call(session, "user.info", -1, False)
        acting = Acting(session=session, user_id=int(user.ID), group_id=int(user.GID))
        self._remember(session, acting)
        return acting

    async def caller(self, user_name: str, secret: str) -> Tenant | None:
        """The tenant of a caller whose own credentials these are (``credentials =
        "caller"``): the user's primary group, by id (names change); None when oned
        refuses them. What oned said of the user is kept, so the request's first call
        does not ask again."""
        session = f"{user_name}:{secret}"
        try:
            user = await self.api.call(session, "user.info", -1, False)
        except QuotaExceededError:
            return None
        self._remember(
            session, Acting(session=session, user_id=int(user.ID), group_id=int(user.GID))
        )
        return Tenant(id=f"group-{int(user.GID)}", name=str(user.GNAME), token=session)

    def _remember(self, session: str, acting: Acting) -> None:
        self._known[session] = acting
        self._known.move_to_end(session)
        while len(self._known) > SESSIONS_KEPT:
            self._known.popitem(last=False)

    async def _create(self, tenant: Tenant) -> None:
        """The tenant's group (with the rights a group gets) and its user."""
        service = self.service_session
        name = account_name(self.settings.tenant_prefix, tenant.id)
        group_id = await self._group(name)
        try:
            password = self._password(tenant.id)
            await self.api.call(service, "user.allocate", name, password, "core", [group_id])
        except ConflictError as error:
            # The name is taken, by a user whose password is not the one derived here.
            raise BackendUnavailableError(
                f"the OpenNebula user {name!r} exists but does not accept this server's "
                f"credentials ({error}); remove it, or choose another tenant_prefix",
                retry_after=self.settings.retry_after,
            ) from None

    async def _group(self, name: str) -> int:
        service = self.service_session
        try:
            group_id = int(await self.api.call(service, "group.allocate", name))
        except ConflictError:
            # Taken: the group was made before (by another server process, say).
            groups = await self.api.call(service, "grouppool.info")
            found = [int(g.ID) for g in groups.GROUP if name == g.NAME]
            if not found:
                raise
            return found[0]
        rule = OneAcl().parse_rule(f"@{group_id} {GROUP_RIGHTS}")
        await self.api.call(service, "acl.addrule", *rule)
        return group_id


async def read_owned(api: OneApi, acting: Acting, method: str, entity_id: str, what: str) -> Any:
    """The record ``<method>`` (``vm.info``...) gives of the tenant's object with this
    id; not found for objects of other groups (which oned may also refuse to show)."""
    object_id = one_id(entity_id, what)
    try:
        record = await api.call(acting.session, method, object_id, False)
    except QuotaExceededError:
        # Not this tenant's to see: as if it were not there.
        raise EntityNotFoundError(f"no {what} with id {entity_id!r}") from None
    if int(getattr(record, "GID", -1)) != acting.group_id:
        raise EntityNotFoundError(f"no {what} with id {entity_id!r}")
    return record


def one_id(entity_id: str, what: str) -> int:
    """An OpenNebula object id from an OCCI id; not found for anything else."""
    if not entity_id.isdigit():
        raise EntityNotFoundError(f"no {what} with id {entity_id!r}")
    return int(entity_id)
