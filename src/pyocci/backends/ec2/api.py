"""The boto3 EC2 client, called off the event loop with its errors translated.

Every call goes through `Ec2Api.call`, so no EC2 exception reaches the
service untranslated and no blocking SDK call runs on the event loop.
Retries are few and timeouts short on purpose: every attempt of a call,
and botocore's pauses between them, fit within the server's cloud deadline
(`Ec2Settings.call_timeouts`), so when EC2 is unreachable or hangs the
client hears 503 with Retry-After within that deadline, and a call given up
on ends by itself by then too. An answer that is not EC2's (an empty body,
an HTML page from a proxy, garbage) is a 503 as well, never an error of the
server's own.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
import botocore.utils
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from pyocci.backends.deadline import DEFAULT_DEADLINE
from pyocci.backends.ec2.errors import invalid_answer, translate
from pyocci.backends.ec2.settings import Ec2Settings
from pyocci.backends.errors import BackendError, EntityNotFoundError

RunBlocking = Callable[..., Awaitable[Any]]


def make_client(settings: Ec2Settings, deadline: float = DEFAULT_DEADLINE) -> Any:
    """A boto3 EC2 client for the configured region, endpoint and credentials, whose calls
    end within `deadline` seconds, retries included."""
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
    timeouts = settings.call_timeouts(deadline)
    config = Config(
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        # botocore's `max_attempts` counts retries (2 makes 3 attempts); `total_max_attempts`
        # counts attempts, as `max_attempts` of the settings does.
        retries={"total_max_attempts": settings.max_attempts, "mode": "standard"},
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

    def __init__(
        self, settings: Ec2Settings, run_blocking: RunBlocking, deadline: float = DEFAULT_DEADLINE
    ) -> None:
        self.settings = settings
        self.deadline = deadline
        self._run_blocking = run_blocking
        self._client: Any = None

    def open(self) -> None:
        """Build the client (reads credentials and endpoint data, so not per call)."""
        self._client = make_client(self.settings, self.deadline)

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

        EC2 errors become backend errors; an unknown id becomes `missing`; an answer
        that is not EC2's becomes `BackendUnavailableError`.
        """
        method = getattr(self.client, operation)
        retry_after = self.settings.retry_after
        try:
            response: dict[str, Any] = await self._run_blocking(method, **parameters)
        except (ClientError, BotoCoreError) as error:
            raise translate(error, missing=missing, retry_after=retry_after) from None
        except ResponseParserError as error:
            # Not well-formed XML (an empty body, garbage).
            raise invalid_answer(operation, _parse_problem(error), retry_after) from None
        if not _request_id(response):
            # Well-formed but not EC2's (an HTML page of a proxy): every EC2 answer
            # carries the id of its request, and botocore found none.
            raise invalid_answer(operation, "the answer has no request id", retry_after)
        return response


def _parse_problem(error: ResponseParserError) -> str:
    """What botocore found wrong with an answer, without the answer itself (which it
    quotes whole, and which may be a page of anything)."""
    first_line = str(error).splitlines()[0] if str(error) else ""
    found = re.search(r"\(([^()]*)\)", first_line)
    return f"not well-formed XML: {found.group(1)}" if found else "not well-formed XML"


def _request_id(response: dict[str, Any]) -> str | None:
    """The id EC2 gave the request, from the answer's body or its headers."""
    metadata = response.get("ResponseMetadata") or {}
    headers = metadata.get("HTTPHeaders") or {}
    return metadata.get("RequestId") or headers.get("x-amzn-requestid")
