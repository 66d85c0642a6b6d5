"""Both ASGI servers occi-server can run on serve the same protocol, proxies included."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

COMPUTE = (
    'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="kind"\n'
    'Category: debian-12; scheme="http://schemas.pyocci.org/sim/os_tpl#"; class="mixin"\n'
)


@pytest.mark.parametrize("server_name", ["uvicorn", "granian"])
def test_created_locations_follow_a_tls_proxy_on_this_host(start_server, server_name):
    with start_server(environ={"PYOCCI_SERVER": server_name}) as server, server.client() as http:
        plain = http.post("/compute/", content=COMPUTE, headers={"Content-Type": "text/plain"})
        proxied = http.post(
            "/compute/",
            content=COMPUTE,
            headers={
                "Content-Type": "text/plain",
                # What a TLS-terminating proxy in front of the server sends.
                "X-Forwarded-For": "203.0.113.9",
                "X-Forwarded-Proto": "https",
            },
        )
        discovery = http.get("/-/")
    assert plain.status_code == proxied.status_code == 201
    assert plain.headers["location"].startswith(server.url + "/compute/")
    assert proxied.headers["location"].startswith("https://")
    assert discovery.headers["server"].startswith("pyocci/")
    assert "OCCI/1.2" in discovery.headers["server"]
