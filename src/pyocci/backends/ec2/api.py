"""The boto3 EC2 client, called off the event loop with its errors translated.

Every call goes through `Ec2Api.call`, so no EC2 exception reaches the
service untranslated and no blocking SDK call runs on the event loop.
Retries are few and timeouts short on purpose: when EC2 is unreachable
the client hears 503 with Retry-After within seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
import botocore.utils
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from pyocci.backends.ec2.errors import translate
from pyocci.backends.ec2.settings import Ec2Settings
from pyocci.backends.errors import BackendError, EntityNotFoundError

RunBlocking = Callable[..., Awaitable[Any]]


def make_client(settings: Ec2Settings) -> Any:
    """A boto3 EC2 client for the configured region, endpoint and credentials."""
    core = botocore.session.get_session()
    # botocore parses every timestamp of a response with dateutil (~80 µs each, a
    # tenth of a 100-instance listing); the standard library reads EC2's ISO 8601
    # in well under a microsecond.
    parsers = core.get_component("response_parser_factory")
    parsers.set_parser_defaults(timestamp_parser=parse_timestamp)
    session = boto3.session.Session(
        botocore_session=core,
        profile_name=settings.profile,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        aws_session_token=settings.session_token,
        region_name=settings.region,
    )
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
        # The thread pool runs up to this many calls at once; one connection each.
        max_pool_connections=32,
    )
    return session.client("ec2", endpoint_url=settings.endpoint_url, config=config)


def parse_timestamp(value: Any) -> datetime:
    """A timestamp of an EC2 response: ISO 8601 by the standard library, anything else
    (epoch seconds, odd spellings) as botocore reads it; always timezone-aware."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return botocore.utils.parse_timestamp(value)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return botocore.utils.parse_timestamp(value)


class Ec2Api:
    """One EC2 client shared by every request; calls run in the backend's thread pool."""

    def __init__(self, settings: Ec2Settings, run_blocking: RunBlocking) -> None:
        self.settings = settings
        self._run_blocking = run_blocking
        self._client: Any = None

    def open(self) -> None:
        """Build the client (reads credentials and endpoint data, so not per call)."""
        self._client = make_client(self.settings)

    @property
    def client(self) -> Any:
        """The boto3 client (after `open`)."""
        if self._client is None:
            self.open()
        return self._client

    async def call(
        self,
        operation: str,
        *,
        missing: type[BackendError] = EntityNotFoundError,
        **parameters: Any,
    ) -> dict[str, Any]:
        """Call an EC2 operation (boto3's snake_case name) and return its response.

        EC2 errors become backend errors; an unknown id becomes `missing`.
        """
        method = getattr(self.client, operation)
        try:
            return await self._run_blocking(method, **parameters)
        except (ClientError, BotoCoreError) as error:
            raise translate(error, missing=missing, retry_after=self.settings.retry_after) from None
