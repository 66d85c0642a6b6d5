"""The EC2 API as the backend calls it, when EC2 fails: refused, hung, answering what EC2
never would; and botocore's attempts, counted as the settings count them.

The broken and hung endpoints are loopback stand-ins for an EC2 endpoint
(`reliability.cloudfaults`); what is under test is the backend's answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from ec2_helpers import ALL_KINDS, COMPUTE

from pyocci.backends.api import Query, Tenant
from pyocci.backends.bounded import DeadlineBackend
from pyocci.backends.deadline import CloudDeadlineError
from pyocci.backends.ec2 import Ec2Backend, Ec2Settings
from pyocci.backends.errors import BackendUnavailableError, NotSupportedError
from pyocci.model import standard_model
from reliability.cloudfaults import BROKEN_ANSWERS, BrokenEndpoint, ec2_settings, silent_endpoint

pytestmark = pytest.mark.anyio

#: The id of the one (incomplete) instance a broken endpoint describes.
INSTANCE = "i-0123456789abcdef0"
#: How long a test may wait for the backend's answer: long past every timeout in play,
#: so that only a wait without end fails it.
BOUND = 20


@pytest.fixture(scope="module")
def broken() -> Iterator[BrokenEndpoint]:
    with BrokenEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
async def on_broken(broken: BrokenEndpoint) -> AsyncIterator[Ec2Backend]:
    backend = Ec2Backend(
        model=standard_model(), settings=Ec2Settings.from_dict(ec2_settings(broken.url))
    )
    await backend.open()
    yield backend
    broken.answer = None
    await backend.close()


async def read_everything(backend: Ec2Backend, tenant: Tenant) -> None:
    """What a client's reads ask of EC2: the templates, a listing, one compute."""
    await backend.provider_mixins(tenant)
    [entity async for entity in backend.list_entities(tenant, Query(kinds=ALL_KINDS))]
    await backend.get_entity(tenant, COMPUTE, INSTANCE)


@pytest.mark.parametrize("answer", list(BROKEN_ANSWERS))
async def test_an_answer_that_is_not_ec2s_is_unavailable_not_an_error_of_the_servers(
    on_broken: Ec2Backend, broken: BrokenEndpoint, answer: str
) -> None:
    broken.answer = answer
    with anyio.fail_after(BOUND), pytest.raises(BackendUnavailableError) as raised:
        await read_everything(on_broken, Tenant("alice"))
    assert raised.value.retry_after == 2
    assert "EC2" in str(raised.value)


async def test_a_valid_empty_answer_is_read_as_empty(on_broken: Ec2Backend) -> None:
    # The same endpoint answering as EC2 does when there is nothing: no error at all.
    assert await on_broken.provider_mixins(Tenant("alice")) == []
    listed = [e async for e in on_broken.list_entities(Tenant("alice"), Query(kinds=(COMPUTE,)))]
    assert listed == []


@pytest.mark.parametrize("attempts", [1, 3])
async def test_max_attempts_is_the_number_of_requests_made(
    broken: BrokenEndpoint, attempts: int
) -> None:
    settings = Ec2Settings.from_dict(ec2_settings(broken.url, max_attempts=attempts))
    backend = Ec2Backend(model=standard_model(), settings=settings)
    await backend.open()
    broken.answer = "html error page"  # a 502: botocore retries it
    before = broken.requests
    try:
        with anyio.fail_after(BOUND), pytest.raises(BackendUnavailableError, match="502"):
            await backend.provider_mixins(Tenant("alice"))
    finally:
        broken.answer = None
        await backend.close()
    # One call (DescribeImages), `attempts` requests: not one more.
    assert broken.requests - before == attempts


async def test_a_closed_port_is_unavailable() -> None:
    with silent_endpoint() as url:
        closed = url  # the listener goes away with the block: its port is closed after
    backend = Ec2Backend(
        model=standard_model(), settings=Ec2Settings.from_dict(ec2_settings(closed))
    )
    await backend.open()
    try:
        with anyio.fail_after(BOUND), pytest.raises(BackendUnavailableError, match="reached"):
            await backend.provider_mixins(Tenant("alice"))
    finally:
        await backend.close()


async def test_a_hung_endpoint_is_given_up_on_at_the_deadline_not_at_botocores_timeout() -> None:
    # botocore would wait 60 s for an answer; the deadline gives up after 1 s of
    # silence, leaving the call to end in its thread.
    settings: dict[str, Any] = ec2_settings("", read_timeout=60)
    with silent_endpoint() as url:
        settings["endpoint_url"] = url
        ec2 = Ec2Backend(
            model=standard_model(), settings=Ec2Settings.from_dict(settings), deadline=120
        )
        backend = DeadlineBackend(ec2, seconds=1)
        await backend.open()
        try:
            with anyio.fail_after(BOUND), pytest.raises(CloudDeadlineError) as raised:
                await backend.get_entity(Tenant("alice"), COMPUTE, INSTANCE)
        finally:
            await backend.close()
    assert raised.value.retry_after == 2  # the ec2 settings' retry_after
    assert "did not answer within 1 s while reading the entity" in str(raised.value)


async def test_images_are_not_exported_and_the_reason_names_exportimage() -> None:
    backend = Ec2Backend(
        model=standard_model(), settings=Ec2Settings.from_dict(ec2_settings("http://127.0.0.1:9"))
    )
    assert backend.export_refusal is not None and "ExportImage" in backend.export_refusal
    with pytest.raises(NotSupportedError, match=r"moto, .* does not implement it"):
        await backend.read_image(Tenant("alice"), "any#image", 1 << 20)
