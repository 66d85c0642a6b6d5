"""How fresh a request's reads must be: what was committed before the request began.

A client that was told a write is done may send its next request to another
process (another worker, another host behind a load balancer). Whatever that
process kept must not hide the write: its reads must show every commit made
before the request arrived. The server notes that moment at the start of each
request (`READS_SINCE`, a context variable: each request runs in a context of
its own); `pyocci.store.changes` asks PostgreSQL once per such moment whether
anything changed, and every check of the request after that shares the answer.
Outside a request (None) each check asks anew.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

#: The moment (``time.monotonic``) from which the current request's reads must show
#: every commit; None outside a request.
READS_SINCE: ContextVar[float | None] = ContextVar("pyocci_reads_since", default=None)


def reads_since_now() -> None:
    """Note that the current request began now (called by the server per request)."""
    READS_SINCE.set(time.monotonic())
