"""Errors as a person reads them: what failed, why, what to try; and the exit status.

Exit statuses (documented in the CLI guide):

====  ==========================================================
0     success
1     the server refused the request (any other 4xx or 5xx)
2     bad input, caught before sending: usage, unknown category,
      bad attribute, unreadable file, sites file or credentials
3     the server could not be reached, or did not answer in time
4     authentication or authorisation failed (401, 403)
5     nothing at that location (404)
6     conflict: the entity's state forbids it now, or it is in use (409)
7     --wait ran out of time, or the entity went into the error state
====  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from pyocci.cli.sites import SitesError
from pyocci.client import (
    AuthenticationError,
    ClientError,
    ConflictError,
    CredentialsError,
    EntityFailedError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    ProtocolError,
    RequestTimeoutError,
    ServerError,
    ServerUnreachableError,
    WaitTimeoutError,
)

OK, SERVER, INPUT, UNREACHABLE, AUTH, NOT_FOUND, CONFLICT, WAIT = range(8)


@dataclass(frozen=True)
class Failure:
    """A failure explained: one line of what and why, a hint, and the exit status."""

    message: str
    hint: str | None
    status: int

    def render(self, label: str | None = None) -> str:
        """The text to print on stderr."""
        where = f"{label}: " if label else ""
        text = f"occi: error: {where}{self.message}"
        if self.hint:
            text += f"\n  try: {self.hint}"
        return text


def explain(error: BaseException) -> Failure:
    """The Failure for an exception; unexpected ones say that they are a bug."""
    if isinstance(error, InvalidInputError):
        return Failure(error.message, None, INPUT)
    if isinstance(error, CredentialsError | SitesError | ValueError):
        return Failure(str(error), None, INPUT)
    if isinstance(error, ServerUnreachableError):
        return Failure(error.message, _unreachable_hint(error), UNREACHABLE)
    if isinstance(error, RequestTimeoutError):
        return Failure(error.message, "the server may be overloaded; raise --timeout", UNREACHABLE)
    if isinstance(error, AuthenticationError):
        return Failure(
            f"{error.status} authentication failed: {error.message}",
            _auth_hint(error.challenge),
            AUTH,
        )
    if isinstance(error, ForbiddenError):
        return Failure(
            f"{error.status} forbidden: {error.message}",
            "your account may lack the right, or a quota is reached",
            AUTH,
        )
    if isinstance(error, NotFoundError):
        return Failure(
            f"{error.status} not found: {error.url}: {error.message}",
            "check the location with `occi list KIND` (entities of other accounts answer 404 too)",
            NOT_FOUND,
        )
    if isinstance(error, ConflictError):
        hint = "`occi describe URL` shows the entity's state and the actions it allows now"
        if error.retry_after is not None:
            # A state the cloud leaves by itself: the same command will do.
            hint = f"the cloud is still at it: run the same command again in {error.retry_after} s"
        return Failure(f"{error.status} conflict: {error.message}", hint, CONFLICT)
    if isinstance(error, ServerError):
        hint = None
        if error.status >= 500:
            hint = "the server failed; its log says more, try again later"
        elif error.status == 413:
            hint = "send less at once"
        return Failure(f"{error.status} {error.message} ({error.method} {error.url})", hint, SERVER)
    if isinstance(error, WaitTimeoutError):
        return Failure(error.message, "wait longer with --wait-timeout SECONDS", WAIT)
    if isinstance(error, EntityFailedError):
        return Failure(error.message, "`occi describe URL` shows its state message", WAIT)
    if isinstance(error, ProtocolError):
        return Failure(
            error.message, "check the endpoint URL; --verbose shows the exchange", SERVER
        )
    if isinstance(error, ClientError):
        return Failure(error.message, None, SERVER)
    if isinstance(error, OSError):
        return Failure(
            f"{error.filename or ''}: {error.strerror or error}".lstrip(": "), None, INPUT
        )
    return Failure(
        f"unexpected {type(error).__name__}: {error}",
        "this is a bug in occi; please report it",
        SERVER,
    )


def _unreachable_hint(error: ServerUnreachableError) -> str:
    """What to try when no connection was made, by what went wrong."""
    reason = error.reason.lower()
    if "certificate_verify_failed" in reason or "certificate verify failed" in reason:
        return (
            "the server's certificate is not trusted: give its CA with --ca FILE|DIR "
            "(or --insecure to skip the check)"
        )
    if "wrong_version_number" in reason or "wrong version number" in reason:
        plain = error.endpoint.replace("https:", "http:", 1)
        return f"the server does not speak TLS there; try {plain}"
    if "name or service not known" in reason or "nodename nor servname" in reason:
        return "check the host name of the endpoint"
    return (
        f"is occi-server running at {error.endpoint}? Start it with `occi-server`, or "
        "point occi elsewhere with --endpoint URL or --site NAME"
    )


def _auth_hint(challenge: str | None) -> str:
    scheme = (challenge or "").split(" ", 1)[0].lower()
    if scheme == "basic":
        return (
            "give --auth basic --user NAME (the password is asked for, "
            "or give --password or $OCCI_PASSWORD)"
        )
    if scheme == "bearer":
        return "give --auth token --token TOKEN, or --auth oidc --oidc-account ACCOUNT"
    if scheme == "keystone":
        return (
            "give --auth keystone --user NAME --project PROJECT (or --token); for an OIDC "
            "access token, --identity-provider NAME with --token or --oidc-account"
        )
    return "give credentials with --auth METHOD (none, basic, token, x509, oidc, keystone)"
