"""What can go wrong when talking to an OCCI endpoint, as exceptions a caller can tell apart.

`ServerError` and its subclasses carry the status and message the server
answered; the others say that no answer came (`ServerUnreachableError`,
`RequestTimeoutError`), that the answer made no sense (`ProtocolError`), that
the input was refused before anything was sent (`InvalidInputError`), or
that a wait ran out (`WaitTimeoutError`).
"""

from __future__ import annotations

from collections.abc import Sequence


class ClientError(Exception):
    """Base class of every error the client raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(ClientError):
    """Input that the discovered model rejects, caught before any request is sent.

    `problems` lists each one as a sentence saying what to fix.
    """

    def __init__(self, problems: Sequence[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class ServerUnreachableError(ClientError):
    """No HTTP answer: the connection was refused, the name did not resolve, TLS failed..."""

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"cannot reach {endpoint}: {reason}")
        self.endpoint = endpoint
        self.reason = reason


class RequestTimeoutError(ClientError):
    """The server accepted the connection but did not answer in time."""

    def __init__(self, endpoint: str, seconds: float | None) -> None:
        within = f" within {seconds:g} s" if seconds else ""
        super().__init__(f"{endpoint} did not answer{within}")
        self.endpoint = endpoint
        self.seconds = seconds


class ProtocolError(ClientError):
    """The server answered something that is not the OCCI document expected."""


class WaitTimeoutError(ClientError):
    """`OcciClient.wait_for` ran out of time before the entity reached the state."""

    def __init__(self, location: str, wanted: str, last: str | None, seconds: float) -> None:
        super().__init__(
            f"{location} did not become {wanted} within {seconds:g} s (it is {last or 'unknown'})"
        )
        self.location = location
        self.wanted = wanted
        self.last = last
        self.seconds = seconds


class EntityFailedError(ClientError):
    """An entity being waited for went into the ``error`` state."""

    def __init__(self, location: str, wanted: str, message: str | None) -> None:
        why = f": {message}" if message else ""
        super().__init__(f"{location} went into the error state instead of {wanted}{why}")
        self.location = location


class ServerError(ClientError):
    """The server answered with an error status; `status` and `message` are its own."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        method: str,
        url: str,
        challenge: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.url = url
        #: The ``WWW-Authenticate`` header of a 401, saying how to authenticate.
        self.challenge = challenge
        #: Seconds after which the same request should succeed (``Retry-After`` of a
        #: 409 for a state the cloud leaves by itself, a 429, a 503), if the server said.
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.method} {self.url}: {self.status} {self.message}"


class AuthenticationError(ServerError):
    """401: no credentials, or the wrong ones."""


class ForbiddenError(ServerError):
    """403: authenticated, but not allowed (or over quota)."""


class NotFoundError(ServerError):
    """404: nothing at that location."""


class ConflictError(ServerError):
    """409: the entity's state forbids this now, or it is in use. With `retry_after`,
    the state is one the cloud leaves by itself (a volume still being created)."""


_BY_STATUS: dict[int, type[ServerError]] = {
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
}


def server_error(
    status: int,
    message: str,
    *,
    method: str,
    url: str,
    challenge: str | None = None,
    retry_after: str | None = None,
) -> ServerError:
    """The most specific ServerError for a status; `retry_after` is the header's value
    (seconds; an HTTP date is not kept)."""
    cls = _BY_STATUS.get(status, ServerError)
    seconds = int(retry_after) if retry_after and retry_after.strip().isdigit() else None
    return cls(status, message, method=method, url=url, challenge=challenge, retry_after=seconds)
