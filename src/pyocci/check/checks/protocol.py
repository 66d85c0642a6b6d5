"""GFD.223 "Headers and Status Codes": what every answer carries, and versions."""

from __future__ import annotations

import re
import uuid

from pyocci.check import spec
from pyocci.check.outcome import Failed, Warned
from pyocci.check.registry import check
from pyocci.check.run import Run
from pyocci.check.wire import Answer

#: GFD.223 "Versioning": ``OCCI/X.Y`` in the Server header.
OCCI_VERSION = re.compile(r"\bOCCI/(\d+)\.(\d+)\b")


def _sample(run: Run) -> list[Answer]:
    """Answers of several kinds: the query interface in each rendering, a 404."""
    answers = [
        run.wire.request("GET", "-/", accept=media_type)
        for media_type in (spec.TEXT_PLAIN, spec.TEXT_OCCI, spec.OCCI_JSON)
    ]
    answers.append(
        run.wire.request("GET", f"/occi-check-nothing-{uuid.uuid4().hex}", accept=spec.TEXT_PLAIN)
    )
    return answers


@check(
    "protocol.server-version",
    "Every answer names its OCCI version in Server",
    "GFD.223 Versioning; Response Headers",
)
def server_version(run: Run) -> str:
    versions = set()
    for answer in _sample(run):
        server = answer.headers.get("server", "")
        found = OCCI_VERSION.findall(server)
        if not found:
            raise Failed(f"{answer.method} {answer.url} -> {answer.status}: Server is {server!r}")
        versions.update(f"OCCI/{major}.{minor}" for major, minor in found)
    return "Server names " + ", ".join(sorted(versions))


@check(
    "protocol.content-type",
    "Every answer with a body says its media type",
    "GFD.223 Response Headers",
)
def content_type(run: Run) -> None:
    for answer in _sample(run):
        if answer.content and not answer.media_type:
            raise Failed(f"{answer.method} {answer.url} -> {answer.status} has no Content-Type")


@check(
    "protocol.accept",
    "Answers say which media types the server takes (Accept)",
    "GFD.223 Response Headers (SHOULD)",
)
def accept_header(run: Run) -> str:
    answer = run.wire.request("GET", "-/", accept=spec.TEXT_PLAIN)
    offered = answer.headers.get("accept")
    if not offered:
        raise Warned("GET /-/ answers without an Accept header")
    return offered


@check(
    "protocol.version-too-high",
    "A client asking for a higher OCCI version gets 501",
    "GFD.223 Versioning",
)
def version_too_high(run: Run) -> None:
    answer = run.wire.request("GET", "-/", accept=spec.TEXT_PLAIN, version=spec.VERSION_TOO_HIGH)
    if answer.status != 501:
        raise Failed(f"User-Agent claiming {spec.VERSION_TOO_HIGH}: {answer.describe()}, not 501")


@check(
    "protocol.not-acceptable",
    "A media type the server cannot render is 406",
    "GFD.223 Status Codes; RFC 9110 15.5.7",
)
def not_acceptable(run: Run) -> None:
    answer = run.wire.request("GET", "-/", accept="application/x-occi-check-unknown")
    if answer.status == 406:
        return
    if answer.status < 300:
        # RFC 9110 lets a server disregard Accept; OCCI clients count on 406 to fall back.
        raise Warned(f"Accept: application/x-occi-check-unknown: {answer.describe()}, not 406")
    raise Failed(f"Accept: application/x-occi-check-unknown: {answer.describe()}, not 406")
