"""How fresh a request's reads must be: what was committed before the request began.

A client that was told a write is done may send its next request to another
process (another worker, another host behind a load balancer). Whatever that
process kept must not hide the write: its reads must show every commit made
before the request arrived. The server notes that moment at the start of each
request (`READS_SINCE`, a context variable: each request runs in a context of
its own), as early as it knows it: when the request's first bytes were read,
if the HTTP server says (`ARRIVED_EXTENSION`). A check of the database made
after that moment serves the request, whichever request made it: on SQLite,
one ``PRAGMA data_version`` serves every request that had arrived when it was
asked; on PostgreSQL, `pyocci.store.changes` makes one round trip for every
request that began before it was sent. Outside a request (None) each check
asks anew.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

#: The moment (``time.monotonic``) from which the current request's reads must show
#: every commit; None outside a request.
READS_SINCE: ContextVar[float | None] = ContextVar("pyocci_reads_since", default=None)


#: The scope extension an HTTP server may put the request's arrival in
#: (``time.monotonic()`` when its first bytes were read).
ARRIVED_EXTENSION = "pyocci.arrived"


def reads_since(arrived: float | None) -> None:
    """Note when the current request arrived (now, when the HTTP server did not say);
    called by the server as each request begins."""
    READS_SINCE.set(time.monotonic() if arrived is None else arrived)
