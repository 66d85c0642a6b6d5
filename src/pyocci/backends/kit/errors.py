"""Cloud errors as backend errors: what every cloud's translation shares.

A cloud's SDK says what went wrong in its own way (an HTTP status, an error
code, an exception class); each backend maps that to the errors of
`pyocci.backends.errors`, and the server maps those to status codes. Two
things are the same for every cloud and live here: what an HTTP status
means (`by_status`), and an answer that lacks what every answer of its kind
has (`malformed_answers`), which is the cloud's failure, not the client's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pyocci.backends.errors import (
    BackendError,
    BackendUnavailableError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    QuotaExceededError,
)

log = logging.getLogger("pyocci.backends")


def by_status(status: int, message: str, *, retry_after: int) -> BackendError:
    """The backend error for a cloud API's HTTP status: 404 not found, 409 conflict, 403
    and 413 a quota or permission the account lacks, other 4xx the request, 5xx (and
    anything else) the cloud being unavailable."""
    if status == 404:
        return EntityNotFoundError(message)
    if status == 409:
        return ConflictError(message)
    if status in (403, 413):
        return QuotaExceededError(message)
    if 400 <= status < 500:
        return InvalidRequestError(message)
    return BackendUnavailableError(message, retry_after=retry_after)


@contextmanager
def malformed_answers(cloud: str, doing: str, *, retry_after: int) -> Iterator[None]:
    """Turn a missing field or item in a cloud's answer (KeyError, IndexError) while
    `doing` something into a 503 that says so; the traceback goes to the log."""
    try:
        yield
    except (KeyError, IndexError) as error:
        missing = f"the field {error.args[0]!r}" if isinstance(error, KeyError) else "an item"
        log.exception("%s's answer while %s lacks %s", cloud, doing, missing)
        raise BackendUnavailableError(
            f"{cloud}'s answer while {doing} lacks {missing}, which every {cloud} answer of "
            f"the kind has; the {cloud} endpoint is not working, or is not {cloud}",
            retry_after=retry_after,
        ) from None
