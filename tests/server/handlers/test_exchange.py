"""What the handlers read of a request: its document's codec, whether it has a
document, its Category filters, its locations made absolute."""

from __future__ import annotations

import pytest

from pyocci.backends.api import Tenant
from pyocci.model import standard_model
from pyocci.model.category import Kind
from pyocci.rendering import codec_for
from pyocci.rendering.errors import ParseError
from pyocci.server.handlers.exchange import Exchange
from pyocci.server.origins import Origins
from pyocci.server.responses import OCCI_1_1, OCCI_1_2, Dialect, HttpError

INFRA = "http://schemas.ogf.org/occi/infrastructure#"


def exchange(
    fields: list[tuple[bytes, bytes]], body: bytes = b"", dialect: Dialect = OCCI_1_2
) -> Exchange:
    headers: dict[str, str] = {}
    for name, value in fields:
        headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    scope = {
        "type": "http",
        "scheme": "http",
        "path": "/compute/",
        "headers": [(b"host", b"occi.example.org"), *fields],
    }
    codec = codec_for("text/plain")
    assert codec is not None
    return Exchange(
        "POST",
        "/compute/",
        headers,
        {},
        body,
        Tenant("default"),
        standard_model(),
        codec,
        dialect,
        scope,
        Origins(),
    )


@pytest.mark.parametrize(
    ("content_type", "media_type"),
    [
        (None, "text/plain"),
        ("application/occi+json; charset=utf-8", "application/occi+json"),
        ("text/occi", "text/occi"),
        # rOCCI-cli's (invalid) list: its first type this server reads.
        ("text/plain,text/occi", "text/plain"),
        ("image/png, text/occi", "text/occi"),
    ],
)
def test_the_document_is_read_in_its_content_type(
    content_type: str | None, media_type: str
) -> None:
    fields = [(b"content-type", content_type.encode())] if content_type else []
    assert exchange(fields).reader().media_type == media_type


def test_a_content_type_the_server_does_not_read_is_a_415_naming_what_it_reads() -> None:
    with pytest.raises(HttpError) as refused:
        exchange([(b"content-type", b"image/png")]).reader()
    assert refused.value.status == 415
    assert "image/png" in refused.value.message
    assert "text/plain" in refused.value.message
    # An OCCI 1.1 server reads no JSON.
    with pytest.raises(HttpError) as refused:
        exchange([(b"content-type", b"application/occi+json")], dialect=OCCI_1_1).reader()
    assert refused.value.status == 415


@pytest.mark.parametrize(
    ("fields", "body", "has"),
    [
        ([], b"", False),
        ([], b"  OK\n", False),
        ([], b'{"kind": "x"}', True),
        ([(b"category", b"compute")], b"OK", True),
        ([(b"x-occi-attribute", b'occi.core.title="a"')], b"", True),
        ([(b"x-occi-location", b"/compute/1")], b"", True),
        ([(b"x-occi-category", b"compute")], b"", False),
    ],
)
def test_a_document_is_in_the_body_or_in_header_fields(
    fields: list[tuple[bytes, bytes]], body: bytes, has: bool
) -> None:
    assert exchange(fields, body).has_document() is has


def test_category_filters_are_read_from_either_field_name() -> None:
    assert exchange([]).category_filters() == []
    for name in (b"category", b"x-occi-category"):
        (named,) = exchange(
            [(name, f'compute; scheme="{INFRA}"; class="kind"'.encode())]
        ).category_filters()
        assert isinstance(named, Kind)
        assert named.id == INFRA + "compute"
    with pytest.raises(ParseError):
        exchange([(b"category", b'compute; scheme="')]).category_filters()


def test_category_filters_read_utf8_values() -> None:
    title = "Grüße"
    fields = [(b"category", f'web; scheme="http://example.org/{title}#"; class="mixin"'.encode())]
    (named,) = exchange(fields).category_filters()
    assert named.scheme == f"http://example.org/{title}#"


def test_locations_are_made_absolute_on_the_host_the_client_named() -> None:
    assert exchange([]).absolute("/compute/1") == "http://occi.example.org/compute/1"
    assert exchange([]).url_path() == "/compute/"
