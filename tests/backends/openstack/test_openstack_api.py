"""OpenStack errors become backend errors that keep OpenStack's message."""

from __future__ import annotations

import json
import socket

import anyio
import openstack.exceptions as sdk_exceptions
import pytest
import requests

from pyocci.backends.api import Tenant
from pyocci.backends.errors import (
    BackendUnavailableError,
    ConflictError,
    EntityNotFoundError,
    InvalidRequestError,
    QuotaExceededError,
)
from pyocci.backends.openstack import OpenStackBackend, OpenStackSettings
from pyocci.backends.openstack.api import translate
from pyocci.model import standard_model
from reliability.cloudfaults import silent_endpoint

pytestmark = pytest.mark.anyio


def http_error(status: int, message: str) -> sdk_exceptions.SDKException:
    """The exception openstacksdk raises for a Nova error answer with this status."""
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = "application/json"
    response._content = json.dumps({"fault": {"code": status, "message": message}}).encode()
    response.url = "http://nova.example.org/v2.1/servers"
    try:
        sdk_exceptions.raise_from_response(response)
    except sdk_exceptions.SDKException as error:
        return error
    raise AssertionError(f"openstacksdk did not raise for {status}")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidRequestError),
        (403, QuotaExceededError),
        (404, EntityNotFoundError),
        (409, ConflictError),
        (413, QuotaExceededError),  # Cinder's answer to an exceeded quota
        (401, QuotaExceededError),  # a token the cloud refuses: 403, authenticate again
        (500, BackendUnavailableError),
        (503, BackendUnavailableError),
    ],
)
def test_http_statuses_map_to_backend_errors(status: int, expected: type) -> None:
    translated = translate(http_error(status, "Quota exceeded for cores"), retry_after=9)
    assert isinstance(translated, expected)
    assert "Quota exceeded for cores" in str(translated)


def test_failures_tell_clients_when_to_retry() -> None:
    translated = translate(http_error(502, "bad gateway"), retry_after=9)
    assert isinstance(translated, BackendUnavailableError)
    assert translated.retry_after == 9


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_cloud_out_of_reach_is_unavailable_with_retry_after() -> None:
    nowhere = f"http://127.0.0.1:{_closed_port()}"
    settings = OpenStackSettings(
        token="admin:admin",
        compute_endpoint=f"{nowhere}/v2.1",
        image_endpoint=f"{nowhere}/image",
        retry_after=11,
    )
    backend = OpenStackBackend(model=standard_model(), settings=settings)
    await backend.open()
    try:
        with pytest.raises(BackendUnavailableError, match="OpenStack") as raised:
            await backend.provider_mixins(Tenant("alice"))
        assert raised.value.retry_after == 11
    finally:
        await backend.close()


async def test_a_cloud_missing_from_clouds_yaml_is_named(tmp_path, monkeypatch) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  other:\n    auth:\n      auth_url: http://127.0.0.1:1/v3\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    settings = OpenStackSettings.from_dict({"cloud": "no-such-cloud"})
    backend = OpenStackBackend(model=standard_model(), settings=settings)
    await backend.open()
    with pytest.raises(BackendUnavailableError, match=r"configuration is wrong.*no-such-cloud"):
        await backend.provider_mixins(Tenant("alice"))
    await backend.close()


async def test_a_silent_cloud_is_unavailable_after_the_deadline_not_never() -> None:
    # Every HTTP request waits at most the deadline (openstacksdk's api_timeout).
    with silent_endpoint() as silent:
        settings = OpenStackSettings(
            token="admin:admin", compute_endpoint=f"{silent}/v2.1", image_endpoint=silent
        )
        backend = OpenStackBackend(model=standard_model(), settings=settings, deadline=1)
        await backend.open()
        try:
            with anyio.fail_after(20), pytest.raises(BackendUnavailableError, match="OpenStack"):
                await backend.provider_mixins(Tenant("alice"))
        finally:
            await backend.close()
