"""What a backend raises when the cloud says no. The server maps each to a status code."""

from __future__ import annotations

from pyocci.model.errors import OcciError


class BackendError(OcciError):
    """Base class of the errors backends raise on purpose. `cloud_code` is the cloud's
    own name for the refusal (EC2's ``InvalidSubnetID.NotFound``), when it gave one, for
    backends that act on it."""

    def __init__(self, message: str, *, cloud_code: str | None = None) -> None:
        super().__init__(message)
        self.cloud_code = cloud_code


class NotSupportedError(BackendError):
    """The backend cannot do this (an action, a kind, a method): 501."""


class EntityNotFoundError(BackendError):
    """No such entity for this tenant: 404 (also for other tenants' entities)."""


class ConflictError(BackendError):
    """The entity's state forbids the operation now (stop a stopped VM): 409."""


class BusyError(ConflictError):
    """The entity (or template) is in a state the cloud leaves by itself, such as a volume
    still being created or an image still being saved: 409 with Retry-After. The same
    request succeeds once the cloud is done; the message names the state."""

    def __init__(
        self, message: str, *, retry_after: int = 5, cloud_code: str | None = None
    ) -> None:
        super().__init__(message, cloud_code=cloud_code)
        self.retry_after = retry_after


class QuotaExceededError(BackendError):
    """The tenant's quota would be exceeded: 403, with the quota named in the message."""


class InvalidRequestError(BackendError):
    """The cloud refused the request as malformed (unknown image, bad size): 400."""


class BackendUnavailableError(BackendError):
    """The cloud cannot be reached or is throttling: 503 with Retry-After."""

    def __init__(
        self, message: str, *, retry_after: int = 5, cloud_code: str | None = None
    ) -> None:
        super().__init__(message, cloud_code=cloud_code)
        self.retry_after = retry_after
