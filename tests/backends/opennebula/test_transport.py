"""The XML-RPC transport to oned: values read as the standard library reads them, faults,
and answers that are not XML-RPC, against the standard library's own XML-RPC server."""

from __future__ import annotations

import datetime
import threading
import xmlrpc.client
import xmlrpc.server
from collections.abc import Iterator
from typing import Any

import pytest

from opennebula_cloud import free_port
from pyocci.backends.opennebula.transport import OneTransport, response_values

#: What oned answers a pool call: success, one string of escaped XML, an error code.
POOL_ANSWER = [True, '<VM_POOL><VM><NAME>a &amp; "b" <c></NAME></VM></VM_POOL>', 0]


def _fail(message: str) -> None:
    raise xmlrpc.client.Fault(0x0400, message)


@pytest.fixture(scope="module")
def rpc_url() -> Iterator[str]:
    """A real XML-RPC server (the standard library's) on loopback."""
    server = xmlrpc.server.SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)
    server.register_function(lambda *values: list(values), "echo")
    server.register_function(lambda: POOL_ANSWER, "pool")
    server.register_function(_fail, "fail")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/RPC2"
    finally:
        server.shutdown()
        server.server_close()


def proxy(url: str) -> Any:
    return xmlrpc.client.ServerProxy(
        url, transport=OneTransport(timeout=5, https=False), allow_none=True
    )


def test_values_come_back_as_the_standard_library_reads_them(rpc_url: str) -> None:
    values = [
        1,
        -(2**31),
        True,
        False,
        2.5,
        "<VM><ID>3</ID></VM> & more",
        "",
        None,
        [1, ["nested", {"key": "value"}]],
        {"ID": 7, "NAME": "x"},
        xmlrpc.client.Binary(b"\x00\x01 bytes"),
        xmlrpc.client.DateTime(datetime.datetime(2024, 5, 6, 7, 8, 9)),
    ]
    ours = proxy(rpc_url).echo(*values)
    theirs = xmlrpc.client.ServerProxy(rpc_url, allow_none=True).echo(*values)
    assert ours == theirs
    assert ours[5] == "<VM><ID>3</ID></VM> & more"


def test_a_page_of_escaped_xml_is_one_string(rpc_url: str) -> None:
    assert proxy(rpc_url).pool() == POOL_ANSWER


def test_a_fault_is_raised_with_its_code_and_message(rpc_url: str) -> None:
    with pytest.raises(xmlrpc.client.Fault) as raised:
        proxy(rpc_url).fail("no such VM")
    assert raised.value.faultCode == 0x0400
    assert "no such VM" in raised.value.faultString


def test_a_status_other_than_200_is_a_protocol_error(rpc_url: str) -> None:
    # The standard library's server answers 404 for any path but its own.
    with pytest.raises(xmlrpc.client.ProtocolError) as raised:
        proxy(rpc_url.replace("/RPC2", "/elsewhere")).echo(1)
    assert raised.value.errcode == 404


def test_a_refused_connection_is_an_os_error() -> None:
    with pytest.raises(OSError):
        proxy(f"http://127.0.0.1:{free_port()}/RPC2").echo(1)


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (b"<html><body>a proxy's page</body></html>", "<html>"),
        (b"not xml at all", "not XML"),
        (b"<methodResponse></methodResponse>", "without parameters"),
        (
            b"<methodResponse><params><param><value><boolean>2</boolean></value></param>"
            b"</params></methodResponse>",
            "bad boolean",
        ),
        (
            b"<methodResponse><params><param><value><blob>1</blob></value></param>"
            b"</params></methodResponse>",
            "unknown XML-RPC type",
        ),
    ],
)
def test_an_answer_that_is_not_xml_rpc_says_why(answer: bytes, says: str) -> None:
    with pytest.raises(xmlrpc.client.ResponseError, match=says):
        response_values(answer)


def test_an_entity_is_not_expanded() -> None:
    answer = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
        b"<methodResponse><params><param><value><string>&e;</string></value></param>"
        b"</params></methodResponse>"
    )
    assert response_values(answer) == ("",)
