"""EC2's answers translated into the backend errors the server maps to status codes.

The EC2 message is kept in every translated error, after a short note of
which EC2 code it was, so a client can see what EC2 said. Lookups and
creations differ in one respect: an unknown id in a lookup is the entity
that is missing (404), while in a creation it is a bad reference in the
request (400) — the caller says which with `missing`.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from pyocci.backends.errors import (
    BackendError,
    BackendUnavailableError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    NotSupportedError,
    QuotaExceededError,
)

#: EC2 is overloaded or throttling this account: try again shortly.
THROTTLING = frozenset(
    {
        "RequestLimitExceeded",
        "Throttling",
        "ThrottlingException",
        "ServiceUnavailable",
        "Unavailable",
        "InternalError",
        "InsufficientInstanceCapacity",
        "InsufficientAddressCapacity",
        "RequestExpired",
    }
)

#: The state of the resource forbids the operation now.
CONFLICTS = frozenset(
    {
        "IncorrectInstanceState",
        "IncorrectState",
        "InvalidState",
        "VolumeInUse",
        "InvalidVolume.ZoneMismatch",
        "DependencyViolation",
        "InvalidIPAddress.InUse",
        "Resource.AlreadyAssociated",
        "InvalidGroup.Duplicate",
        "InvalidKeyPair.Duplicate",
        "InvalidSubnet.Conflict",
        "InvalidPermission.Duplicate",
        "OperationNotPermitted",
        "IncorrectModificationState",
    }
)

#: EC2 (or this EC2-compatible cloud) cannot do it at all.
UNSUPPORTED = frozenset(
    {"UnsupportedOperation", "UnsupportedHibernationConfiguration", "NotImplemented"}
)

#: The account's limits: the quota is named by the code and the message.
QUOTAS = frozenset(
    {
        "InstanceLimitExceeded",
        "VcpuLimitExceeded",
        "VolumeLimitExceeded",
        "AddressLimitExceeded",
        "MaxIOPSLimitExceeded",
        "SnapshotLimitExceeded",
        "VpcLimitExceeded",
        "SecurityGroupLimitExceeded",
        "RulesPerSecurityGroupLimitExceeded",
        "NetworkInterfaceLimitExceeded",
        "AttachmentLimitExceeded",
        "UnauthorizedOperation",
    }
)

#: The server's own credentials were refused: the operator must fix them.
CREDENTIALS = frozenset({"AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch"})


def is_missing(code: str) -> bool:
    """Whether an EC2 code says an id does not exist (or cannot, being malformed)."""
    return code.endswith(".NotFound") or code.endswith(".Malformed")


def invalid_answer(operation: str, detail: str, retry_after: int) -> BackendUnavailableError:
    """The error for an answer to `operation` that is not one EC2 gives: the endpoint (or
    something between it and the server) is broken, which is no fault of the client's."""
    action = "".join(word.title() for word in operation.split("_"))
    return BackendUnavailableError(
        f"the EC2 endpoint answered {action} with something that is not an EC2 answer "
        f"({detail}); the endpoint, or a proxy in front of it, is not working",
        retry_after=retry_after,
    )


def translate(
    error: Exception,
    *,
    missing: type[BackendError] = EntityNotFoundError,
    retry_after: int = 5,
) -> BackendError:
    """The backend error for an exception raised by a boto3 call.

    `missing` is what an unknown id becomes (404 in lookups, 400 when the
    id came from the request as a reference).
    """
    if isinstance(error, ClientError):
        return _from_client_error(error, missing, retry_after)
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return BackendUnavailableError(
            f"EC2 credentials are not configured on the server ({error})", retry_after=retry_after
        )
    if isinstance(error, BotoConnectionError):
        return BackendUnavailableError(
            f"EC2 cannot be reached now: {error}", retry_after=retry_after
        )
    if isinstance(error, BotoCoreError):
        return BackendUnavailableError(f"EC2 call failed: {error}", retry_after=retry_after)
    raise TypeError(f"not an EC2 error: {error!r}")


def _from_client_error(
    error: ClientError, missing: type[BackendError], retry_after: int
) -> BackendError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = f"EC2 {code}: {details.get('Message') or code}"
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
    if code in THROTTLING:
        # Throttling wants a short pause; an outage a longer one.
        wait = 1 if "Limit" in code or code.startswith("Throttl") else retry_after
        return BackendUnavailableError(message, retry_after=wait, cloud_code=code)
    if code in CREDENTIALS:
        return BackendUnavailableError(
            f"the server's EC2 credentials were refused ({message})",
            retry_after=retry_after,
            cloud_code=code,
        )
    if code in UNSUPPORTED:
        return NotSupportedError(message, cloud_code=code)
    if code in QUOTAS or code.endswith("LimitExceeded"):
        return QuotaExceededError(message, cloud_code=code)
    if code in CONFLICTS or code.endswith(".InUse"):
        return ConflictError(message, cloud_code=code)
    if is_missing(code):
        return missing(message, cloud_code=code)
    if isinstance(status, int) and status >= 500:
        return BackendUnavailableError(message, retry_after=retry_after, cloud_code=code)
    return InvalidRequestError(message, cloud_code=code)
