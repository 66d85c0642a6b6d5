"""oned's failures as OCCI statuses: unreachable or not oned is 503 with Retry-After."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from one_helpers import COMPUTE, listed

from opennebula_cloud import free_port
from pyocci.backends.api import Query, Tenant
from pyocci.backends.errors import BackendUnavailableError, EntityNotFoundError, NotSupportedError
from pyocci.backends.opennebula import OpenNebulaBackend, OpenNebulaSettings
from pyocci.model import standard_model

pytestmark = pytest.mark.anyio

SERVICE = {"username": "occi", "password": "secret", "retry_after": 7, "timeout": 5}


def backend_at(endpoint: str) -> OpenNebulaBackend:
    settings = OpenNebulaSettings.from_dict({**SERVICE, "endpoint": endpoint})
    return OpenNebulaBackend(model=standard_model(), settings=settings)


async def test_an_unreachable_oned_is_503_with_retry_after() -> None:
    backend = backend_at(f"http://127.0.0.1:{free_port()}/RPC2")
    with pytest.raises(BackendUnavailableError, match="cannot be reached") as raised:
        await backend.provider_mixins(Tenant("alice"))
    assert raised.value.retry_after == 7
    with pytest.raises(BackendUnavailableError):
        await listed(backend, Tenant("alice"), Query(kinds=(COMPUTE,)))


class _NotOned(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html><body>a proxy's page</body></html>")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def not_oned() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotOned)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/RPC2"
    finally:
        server.shutdown()
        server.server_close()


async def test_an_answer_that_is_not_oneds_is_503(not_oned: str) -> None:
    backend = backend_at(not_oned)
    with pytest.raises(BackendUnavailableError, match="is not OpenNebula's") as raised:
        await backend.provider_mixins(Tenant("alice"))
    assert raised.value.retry_after == 7


async def test_a_vm_oned_does_not_have_is_not_found(backend, tenant) -> None:
    with pytest.raises(EntityNotFoundError):
        await backend.get_entity(tenant, COMPUTE, "987654")


async def test_images_are_not_exported_and_the_reason_names_the_dummy_datastore() -> None:
    backend = backend_at(f"http://127.0.0.1:{free_port()}/RPC2")
    with pytest.raises(NotSupportedError, match="dummy datastore driver"):
        await backend.read_image(Tenant("alice"), "any#image", 1 << 20)
