"""pyone's XML-RPC client, called off the event loop with oned's errors translated.

Every call goes through `OneApi.call`: no pyone exception reaches the
service untranslated, no blocking call runs on the event loop (they run
through the backend's `run_blocking`), and each ends within the configured
`timeout`. oned's answer codes become backend errors with oned's message
kept: authentication and authorization 403, no such object 404, an action
the object's state forbids (or a name in use) 409, a malformed request 400;
oned unreachable, failing inside, or answering what is not oned's XML-RPC,
is a 503 with Retry-After. The calls travel on the backend's own transport
(`transport`), and VM reads are read by `vm_records` rather than pyone's
bindings: both for speed, pyone still making the requests.
"""

from __future__ import annotations

import http.client
import xmlrpc.client
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pyone
from pyone import server_xrpc

from pyocci.backends.errors import (
    BackendError,
    BackendUnavailableError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    QuotaExceededError,
)
from pyocci.backends.opennebula import vm_records
from pyocci.backends.opennebula.records import listed
from pyocci.backends.opennebula.settings import OpenNebulaSettings
from pyocci.backends.opennebula.transport import OneTransport

RunBlocking = Callable[..., Awaitable[Any]]
#: A pool call's filter for the objects of the session's (effective) group.
GROUP_FILTER = -4
#: A pool call's filter for every object the session may use (its group's, and those
#: shared with it).
USABLE_FILTER = -2
#: Clients kept, one per session string, the least recently used dropped first.
CLIENTS_KEPT = 256
#: The calls whose answers the backend reads itself, faster than pyone's bindings (see
#: `vm_records`): the VM reads of every compute read and listing.
READERS: dict[str, Callable[[str], Any]] = {
    "vm.info": vm_records.read,
    "vmpool.infoextended": vm_records.read,
}


def invoke(client: Any, method: str, arguments: tuple[Any, ...]) -> Any:
    """``one.<method>(*arguments)`` with a pyone client (blocking): the answer bound by
    pyone, or read by `READERS` for the methods listed there; oned's refusals raised as
    pyone raises them."""
    reader = READERS.get(method)
    if reader is None:
        target = client
        for part in method.split("."):
            target = getattr(target, part)
        return target(*arguments)
    # pyone's own request and error handling, the answer read here.
    answer = client._do_request("one." + method, client._cast_parms(arguments))
    if answer[0] and isinstance(answer[1], str) and answer[1].startswith("<"):
        return reader(answer[1])
    return client._OneServerXRPC__response(answer)


#: What oned answers INTERNAL (as for a failure of its own) when it refuses a request for
#: the object's state: a name in use (``NAME is already taken by ...``), an image a VM
#: uses that cannot be disabled (``Image cannot be in state USED``).
_INTERNAL_REFUSALS = ("already taken", "cannot be in state")


def translate(error: Exception, *, retry_after: int) -> BackendError:
    """The backend error for what pyone raised, oned's message kept."""
    message = f"OpenNebula: {error}"
    if isinstance(error, pyone.OneNoExistsException):
        return EntityNotFoundError(message)
    if isinstance(error, pyone.OneAuthenticationException | pyone.OneAuthorizationException):
        return QuotaExceededError(message)
    if isinstance(error, pyone.OneActionException):
        return ConflictError(message)
    if isinstance(error, pyone.OneApiException):
        return InvalidRequestError(message)
    if any(refusal in str(error) for refusal in _INTERNAL_REFUSALS):
        return ConflictError(message)
    return BackendUnavailableError(message, retry_after=retry_after)


class OneApi:
    """oned's XML-RPC API, one client per session string."""

    def __init__(self, settings: OpenNebulaSettings, run_blocking: RunBlocking) -> None:
        self.settings = settings
        self._run_blocking = run_blocking
        self._clients: OrderedDict[str, Any] = OrderedDict()

    def client(self, session: str) -> Any:
        """The pyone client acting with this session string."""
        client = self._clients.get(session)
        if client is None:
            client = server_xrpc.OneServerXRPC(self.settings.endpoint, session)
            # The transport is private to pyone's client; replacing it keeps the
            # timeout to this client's own requests.
            client._ServerProxy__transport = OneTransport(
                self.settings.timeout, self.settings.endpoint.startswith("https")
            )
            self._clients[session] = client
            while len(self._clients) > CLIENTS_KEPT:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(session)
        return client

    async def call(self, session: str, method: str, *arguments: Any) -> Any:
        """Call ``one.<method>`` (``vm.info``, ``vmpool.info``...) with this session;
        what oned refuses, or a failure to reach it, as a backend error."""
        client = self.client(session)

        def calling() -> Any:
            return invoke(client, method, arguments)

        retry_after = self.settings.retry_after
        try:
            return await self._run_blocking(calling)
        except pyone.OneException as error:
            raise translate(error, retry_after=retry_after) from None
        except OSError as error:
            raise BackendUnavailableError(
                f"OpenNebula's oned at {self.settings.endpoint} cannot be reached "
                f"({type(error).__name__}); try again later",
                retry_after=retry_after,
            ) from None
        except (xmlrpc.client.Error, http.client.HTTPException, ValueError) as error:
            # A proxy's error page, or an answer that is not oned's XML-RPC.
            raise BackendUnavailableError(
                f"the answer of {self.settings.endpoint} to {method} is not OpenNebula's "
                f"({type(error).__name__}: {str(error)[:200]})",
                retry_after=retry_after,
            ) from None

    async def pool(
        self,
        session: str,
        method: str,
        tag: str,
        *after: Any,
        offset: int = 0,
        size: int | None = None,
        owners: int = GROUP_FILTER,
    ) -> AsyncIterator[Any]:
        """The records (``tag``: ``VM``, ``IMAGE``...) of the session's group in a pool
        (``vmpool.infoextended``...), from `offset` on, one call per page of `size`
        (`page_size` by default); `after` are the call's arguments after the range.
        `owners` is the pool's filter: the group's by default, ``-2`` for every object
        the session may use."""
        # oned reads an end id below -1 as a page size (-1 would mean no limit at all).
        size = max(size or self.settings.page_size, 2)
        while True:
            answer = await self.call(session, method, owners, offset, -size, *after)
            records = listed(answer, tag)
            for record in records:
                yield record
            if len(records) < size:
                return
            offset += len(records)
