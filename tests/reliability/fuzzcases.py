"""Seeded HTTP requests for the fuzzer, as the exact bytes sent: valid, odd and broken.

`generate(seed, index, corpus)` depends on nothing else, so request ``index``
of a run with ``seed`` can be made again on its own to replay a failure. A
request is built as a `Draft` (method, target, header lines, body, framing),
one or two parts of it are fuzzed, and it is written out with `Draft.wire`.

What is fuzzed: the method (valid, odd case, invalid), the target
(collections, entities, the query interface, percent-encoded junk, ``../``,
very long, invalid UTF-8, NUL), the headers (duplicated, huge, without a
colon, odd Accept / Content-Type / Category / X-OCCI-Attribute / User-Agent
values), the body (third-party OCCI documents from the shared vectors,
mutated; invalid UTF-8; NUL; deep JSON) and the framing (Content-Length too
short or too long, chunked bodies valid and broken).
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
CORE = "http://schemas.ogf.org/occi/core#"
COMPUTE_ACTION = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
#: A fixed Host: the bytes of a request do not depend on the server's port.
HOST = b"localhost"

#: The shared third-party vectors: the repository's parent directory + shared/vectors.
VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"


@dataclass(frozen=True)
class Case:
    """One request of a fuzz run, as sent."""

    seed: int
    index: int
    #: What was fuzzed ("valid", "method", "path+headers", ...).
    shape: str
    #: The method as sent (a HEAD answer has no body to wait for).
    method: bytes
    #: Exactly the bytes written to the socket.
    data: bytes
    #: Whether the server has everything it needs to answer (else it may wait for more).
    complete: bool
    #: Whether the connection can carry another request after the answer (False when
    #: bytes past the request would be read as a next one).
    reuse: bool


@dataclass(frozen=True)
class Corpus:
    """OCCI documents to send and mutate: JSON, text/plain (one header line each) and
    uri-lists, each sorted by file name so that a seed picks the same one every run."""

    json: tuple[bytes, ...]
    text: tuple[bytes, ...]
    uri_lists: tuple[bytes, ...]

    def __len__(self) -> int:
        return len(self.json) + len(self.text) + len(self.uri_lists)


def load_corpus(directory: Path = VECTORS) -> Corpus | None:
    """The documents of the shared vectors (see their ``index.json``), with the valid
    documents of `VALID_DOCUMENTS`; None when the vectors are missing."""
    index = directory / "index.json"
    if not index.is_file():
        return None
    json_docs, text_docs, uri_lists = [], [], []
    for entry in sorted(json.loads(index.read_text()), key=lambda e: e["file"]):
        path = directory / entry["file"]
        if not path.is_file():
            continue
        data = path.read_bytes()
        kind = entry["format"]
        if path.suffix == ".http":
            # A captured response: its body is a document.
            data = data.partition(b"\r\n\r\n" if b"\r\n\r\n" in data else b"\n\n")[2]
        if path.suffix == ".uri":
            uri_lists.append(data)
        elif kind.startswith("json"):
            json_docs.append(data)
        elif kind == "text":
            text_docs.append(data)
    json_docs += [d for d in VALID_DOCUMENTS if d.startswith(b"{")]
    text_docs += [d for d in VALID_DOCUMENTS if not d.startswith(b"{")]
    return Corpus(tuple(json_docs), tuple(text_docs), tuple(uri_lists))


# --- building blocks ---------------------------------------------------------------------------


def _kind(term: str, scheme: str = INFRA) -> str:
    return f'{term}; scheme="{scheme}"; class="kind"'


#: Entities the valid requests create with PUT and then read, change, link and delete,
#: so that entity paths exist while the run goes on.
FIXED_IDS = {
    "compute": [f"fz-c{n}" for n in range(40)],
    "storage": [f"fz-s{n}" for n in range(20)],
    "network": [f"fz-n{n}" for n in range(10)],
}
KIND_OF_COLLECTION = {"compute": "compute", "storage": "storage", "network": "network"}

VALID_DOCUMENTS = (
    f'Category: {_kind("compute")}\nX-OCCI-Attribute: occi.core.title="fuzz"\n'.encode(),
    (
        f"Category: {_kind('compute')}\n"
        'Category: small; scheme="http://schemas.ogf.org/occi/infrastructure/compute/'
        'resource_tpl#"; class="mixin"\n'
        "X-OCCI-Attribute: occi.compute.cores=2\nX-OCCI-Attribute: occi.compute.memory=1.5\n"
    ).encode(),
    f"Category: {_kind('storage')}\nX-OCCI-Attribute: occi.storage.size=2\n".encode(),
    f"Category: {_kind('network')}\n".encode(),
    json.dumps({"kind": INFRA + "compute", "attributes": {"occi.core.title": "fuzz"}}).encode(),
    json.dumps(
        {
            "kind": INFRA + "storage",
            "attributes": {"occi.storage.size": 1.5, "occi.core.title": "s"},
        }
    ).encode(),
    json.dumps({"resources": [{"kind": INFRA + "network"}, {"kind": INFRA + "compute"}]}).encode(),
)

COLLECTIONS = (
    "/compute/",
    "/storage/",
    "/network/",
    "/networkinterface/",
    "/storagelink/",
    "/link/",
    "/resource/",
    "/entity/",
    "/ipreservation/",
    "/securitygroup/",
    "/mixin/os_tpl/",
    "/mixin/os_tpl/ubuntu-24_04/",
    "/mixin/resource_tpl/small/",
    "/mixin/availability_zone/default/",
    "/mixin/ipnetwork/",
    "/mixin/user_data/",
)
QUERY_INTERFACE = ("/-/", "/.well-known/org/ogf/occi/-/")
METHODS = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE")
OTHER_METHODS = (b"OPTIONS", b"PATCH", b"TRACE", b"CONNECT", b"PROPFIND", b"BREW")
ODD_METHODS = (
    b"get",
    b"pOsT",
    b"Delete",
    b"G\x00T",
    b"GE T",
    b"\xc3\x84GET",
    b"POST\t",
    b"",
    b"X" * 4000,
    b"GET,POST",
    b"M-SEARCH",
    b"{}",
)
MEDIA_TYPES = (
    "text/plain",
    "text/occi",
    "application/occi+json",
    "application/json",
    "text/uri-list",
    "text/occi+plain",
)
ACCEPTS = (
    *MEDIA_TYPES,
    "*/*",
    "text/*",
    "application/*",
    "image/png",
    "text/plain;q=0",
    "text/plain;q=abc",
    "application/occi+json;q=0.5, text/plain;q=0.9",
    ";;;",
    "*/*;q=1.5",
    "text/plain; charset=utf-16",
    "text/occi, text/plain",
    'text/plain; foo="a,b", application/json',
    ", , ,",
    "text/html",
    "/",
    "text/plain;q=" + "9" * 400,
    ", ".join(f"type{n}/sub{n};q=0.{n % 10}" for n in range(300)),
)
CONTENT_TYPES = (
    *MEDIA_TYPES,
    "text/plain; charset=latin-1",
    "text/plain; charset=utf-16",
    "application/json; charset=utf-16",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "text/plain,text/occi",
    "text/occi;",
    "application/occi+json; version=9",
    "",
    "*/*",
    "text/",
    "application/octet-stream",
)
USER_AGENTS = (
    "pyocci-fuzz OCCI/1.2",
    "pyocci-fuzz OCCI/1.1",
    "rOCCI-cli/4.3.0 rOCCI-core/4.3.0 OCCI/1.1",
    "rOCCI OCCI/1.2",
    "jOCCI",
    "curl/8.5.0",
    "OCCI/1.3",
    "OCCI/9.0",
    "OCCI/1.",
    "OCCI/99999999999999999999.1",
    "OCCI/1.2 OCCI/1.1",
    "",
    "\xff\xfe\x00",
    "A" * 10000,
)
CATEGORIES = (
    _kind("compute"),
    _kind("storage"),
    _kind("network"),
    _kind("storagelink"),
    _kind("resource", CORE),
    _kind("link", CORE),
    'ubuntu-24_04; scheme="http://schemas.pyocci.org/sim/os_tpl#"; class="mixin"',
    'small; scheme="http://schemas.ogf.org/occi/infrastructure/compute/resource_tpl#"; '
    'class="mixin"',
    f'start; scheme="{COMPUTE_ACTION}"; class="action"',
    'fuzztag; scheme="http://example.org/fuzz#"; class="mixin"; location="/fuzz/tag/"',
    'fuzztag; scheme="http://example.org/fuzz#"; class="mixin"; location="/-/"',
    'fuzztag2; scheme="http://example.org/fuzz#"; class="mixin"; location="/compute/"',
    "compute",
    "compute; scheme=",
    'compute; scheme="http://x#"; class="kind"; rel="' + CORE + 'resource"',
    'compute; scheme="' + INFRA,
    'compute; scheme="' + "a" * 10000 + '#"; class="kind"',
    ", ".join(_kind("compute") for _ in range(500)),
    "",
    ";",
    '; scheme="x"',
    'compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; class="mixin"',
    'x; scheme="http://example.org/fuzz#"; class="kind"',
    'é; scheme="http://example.org/fuzz#"; class="mixin"; location="/é/"',
)
ATTRIBUTES = (
    'occi.core.title="fuzz"',
    "occi.compute.cores=2",
    "occi.compute.cores=" + "9" * 30,
    "occi.compute.cores=" + "9" * 5000,
    "occi.compute.cores=-1",
    "occi.compute.cores=2.5",
    'occi.compute.cores="two"',
    "occi.compute.memory=1e400",
    "occi.compute.memory=nan",
    "occi.compute.memory=-inf",
    "occi.storage.size=0",
    'occi.core.id="../x"',
    'occi.core.id="fz-c1"',
    'occi.core.id="€"',
    'occi.core.title="\\"',
    'occi.core.title="unterminated',
    "=",
    "a=b=c",
    'occi.core.source="/compute/fz-c1"',
    'occi.core.target="/storage/fz-s1"',
    'occi.compute.hostname="' + "h" * 5000 + '"',
    'occi.core.title="\xe9"',
    'occi.core.title="\\u0000"',
    'occi.compute.state="active"',
    "occi.compute.architecture=true",
    'occi.compute.architecture="x86"',
    'occi.network.address="10.0.0.0/99"',
    'occi.network.vlan="4096"',
    'occi.networkinterface.mac="zz"',
    "occi.core.summary=" + "[" * 200,
    ", ".join(f'fuzz.attr{n}="{n}"' for n in range(2000)),
)
LOCATIONS = (
    "/compute/fz-c1",
    "http://other.example.org/compute/x",
    "",
    ",,,",
    "/../../etc/passwd",
    "javascript:alert(1)",
    "/compute/",
    "/storage/fz-s1, /compute/fz-c2",
    "http://localhost/compute/fz-c3",
    "%ZZ",
)
#: Pieces of an entity id or a path segment: ordinary, percent-encoded junk, traversal.
SEGMENTS = (
    "fz-c1",
    "fz-c39",
    "0e2ae9dc-9fb3-4102-9cc6-f478b3799b11",
    "%00",
    "%ZZ",
    "%",
    "%C3%28",
    "%FF%FE",
    "%E2%82%AC",
    "%C3%A9",
    "%F0%9F%98%80",
    "%ED%A0%80",
    "%C0%AF",
    "..",
    ".",
    "%2e%2e",
    "%2F",
    "a%2Fb",
    "~",
    "x" * 5000,
    ";",
    "@",
    "'",
    "%22",
    "%3Cscript%3E",
    "%0D%0AX-Injected:%201",
    "%20",
    "-",
)
QUERIES = (
    "",
    "?action=start",
    "?action=stop",
    "?action=",
    "?action=%00",
    "?action=nothing",
    "?action=" + COMPUTE_ACTION + "start",
    "?page=1&number=10",
    "?page=0&number=0",
    "?page=-1&number=x",
    "?page=99999999999999999999&number=1",
    "?page=1&number=99999999",
    "?page=1000000000&number=1000",
    "?page=1&page=2&number=1",
    "?page=%EF%BC%91&number=1",
    "?category=" + INFRA + "compute",
    "?category=%E2%82%AC",
    "?category=nohash",
    "?category=" + ",".join(["a#b"] * 300),
    "?a=%ZZ",
    "?" * 50,
    "?&&&=",
    "?x=" + "y" * 20000,
    "?%00=%00",
    "?action=start&action=stop",
)


def _target(rng: random.Random) -> str:
    """A request target: a collection, the query interface, an entity, or odd ones."""
    roll = rng.random()
    if roll < 0.3:
        path = rng.choice(COLLECTIONS)
    elif roll < 0.4:
        path = rng.choice(QUERY_INTERFACE)
    elif roll < 0.7:
        collection = rng.choice(list(FIXED_IDS))
        path = f"/{collection}/{rng.choice(FIXED_IDS[collection])}"
    else:
        path = rng.choice(COLLECTIONS) + rng.choice(SEGMENTS)
    return path + (rng.choice(QUERIES) if rng.random() < 0.2 else "")


def _odd_target(rng: random.Random) -> bytes:
    """A request target built to be strange: traversal, junk escapes, raw bytes, length."""
    pieces = [rng.choice(SEGMENTS) for _ in range(rng.randint(1, 4))]
    choice = rng.randrange(12)
    if choice == 0:
        return ("/" + "/".join(pieces)).encode()
    if choice == 1:
        return ("/compute/" + "/".join(pieces) + "/").encode()
    if choice == 2:
        return ("/compute/../" * rng.randint(1, 30) + rng.choice(["-/", "compute/"])).encode()
    if choice == 3:
        return b"/" + b"a" * rng.choice([256, 4096, 16384, 60000])
    if choice == 4:
        return b"/compute/" + rng.choice([b"\x00", b"\xff", b"\xc3\x28", b"\xe2\x82\xac", b"\x7f"])
    if choice == 5:
        return b"*"
    if choice == 6:
        return b"http://localhost/compute/" + rng.choice(SEGMENTS).encode()
    if choice == 7:
        return b""
    if choice == 8:
        return b"//" + rng.choice(COLLECTIONS).encode()
    if choice == 9:
        return rng.choice(COLLECTIONS).encode() + rng.choice(QUERIES).encode()
    if choice == 10:
        return b"/-/" + rng.choice(QUERIES).encode()
    return b"compute/"


def basic_authorization(user: str, password: str) -> str:
    """The Authorization header value of HTTP basic for a user and password."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _odd_authorization(rng: random.Random, credentials: tuple[str, str]) -> bytes:
    user, password = credentials
    return rng.choice(
        [
            basic_authorization(user, password + "x").encode(),
            basic_authorization("nobody", "nothing").encode(),
            b"Basic !!!",
            b"Basic " + base64.b64encode(b"no-colon"),
            b"Basic " + base64.b64encode(b"\xff\xfe:\xc3\x28"),
            b"Basic " + base64.b64encode(b"\x00:\x00"),
            b"Basic " + base64.b64encode(user.encode() + b":" + b"p" * 20000),
            b"Basic",
            b"Bearer abc",
            b"Digest username=x",
            b"",
            b"Basic " + b"A" * 70000,
        ]
    )


# --- the request draft -------------------------------------------------------------------------


@dataclass
class Draft:
    """A request before it is written out; `wire` gives its bytes."""

    method: bytes
    target: bytes
    headers: list[bytes] = field(default_factory=list)
    body: bytes = b""
    #: "length" (Content-Length of the body), "none" (no framing header) or "chunked".
    framing: str = "length"
    version: bytes = b"HTTP/1.1"
    complete: bool = True
    reuse: bool = True

    def header(self, name: str, value: str | bytes) -> None:
        raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
        self.headers.append(name.encode() + b": " + raw)

    def drop(self, name: str) -> None:
        prefix = name.lower().encode() + b":"
        self.headers = [h for h in self.headers if not h.lower().startswith(prefix)]

    def wire(self) -> bytes:
        head = [self.method + b" " + self.target + b" " + self.version, b"Host: " + HOST]
        head += self.headers
        if self.framing == "length" and (self.body or self.method in (b"POST", b"PUT")):
            head.append(b"Content-Length: " + str(len(self.body)).encode())
        body = self.body
        if self.framing == "chunked":
            head.append(b"Transfer-Encoding: chunked")
            body = _chunked(body, 4096) + b"0\r\n\r\n"
        return b"\r\n".join(head) + b"\r\n\r\n" + body


def _chunked(body: bytes, size: int) -> bytes:
    out = b""
    for start in range(0, len(body), size):
        chunk = body[start : start + size]
        out += f"{len(chunk):x}".encode() + b"\r\n" + chunk + b"\r\n"
    return out


# --- valid requests ----------------------------------------------------------------------------


def _user_agent(rng: random.Random) -> str:
    return rng.choice(USER_AGENTS[:6])


def _valid(rng: random.Random, corpus: Corpus) -> Draft:
    """A request a well-behaved client sends; it keeps entities coming and going."""
    choice = rng.random()
    accept = rng.choice(MEDIA_TYPES)
    if choice < 0.15:
        draft = Draft(rng.choice([b"GET", b"HEAD"]), rng.choice(QUERY_INTERFACE).encode())
    elif choice < 0.35:
        target = rng.choice(COLLECTIONS) + rng.choice(["", "", "?page=1&number=5"])
        draft = Draft(b"GET", target.encode())
    elif choice < 0.5:
        collection = rng.choice(list(FIXED_IDS))
        draft = Draft(b"GET", f"/{collection}/{rng.choice(FIXED_IDS[collection])}".encode())
    elif choice < 0.65:
        draft = _create(rng, corpus)
    elif choice < 0.78:
        draft = _put_fixed(rng)
    elif choice < 0.85:
        draft = _link(rng)
    elif choice < 0.9:
        draft = _action(rng)
    elif choice < 0.95:
        draft = _mixin_request(rng)
    elif choice < 0.99:
        collection = rng.choice(list(FIXED_IDS))
        draft = Draft(b"DELETE", f"/{collection}/{rng.choice(FIXED_IDS[collection])}".encode())
    else:
        # Empties a collection now and then: the number of entities stays bounded.
        draft = Draft(b"DELETE", rng.choice(["/compute/", "/storage/", "/network/"]).encode())
    draft.header("Accept", accept)
    draft.header("User-Agent", _user_agent(rng))
    return draft


def _document(rng: random.Random, kind: str, attributes: dict[str, Any]) -> tuple[str, bytes]:
    """A (content type, body) of one entity, in a rendering the server reads."""
    rendering = rng.choice(["text/plain", "text/occi", "application/occi+json"])
    if rendering == "application/occi+json":
        return rendering, json.dumps({"kind": INFRA + kind, "attributes": attributes}).encode()
    lines = [f"Category: {_kind(kind)}"]
    lines += [f"X-OCCI-Attribute: {name}={json.dumps(v)}" for name, v in attributes.items()]
    return rendering, ("\n".join(lines) + "\n").encode()


def _with_document(draft: Draft, content_type: str, body: bytes) -> Draft:
    if content_type == "text/occi":
        # text/occi carries the document in the headers.
        draft.headers += [line for line in body.splitlines() if line.strip()]
        draft.header("Content-Type", content_type)
        return draft
    draft.header("Content-Type", content_type)
    draft.body = body
    return draft


def _create(rng: random.Random, corpus: Corpus) -> Draft:
    kind = rng.choice(["compute", "compute", "storage", "network"])
    attributes: dict[str, Any] = {"occi.core.title": f"fuzz {rng.randrange(1000)}"}
    if kind == "storage":
        attributes["occi.storage.size"] = rng.choice([1, 2.5, 10])
    if kind == "compute" and rng.random() < 0.5:
        attributes["occi.compute.cores"] = rng.randint(1, 4)
    content_type, body = _document(rng, kind, attributes)
    return _with_document(Draft(b"POST", f"/{kind}/".encode()), content_type, body)


def _put_fixed(rng: random.Random) -> Draft:
    collection = rng.choice(list(FIXED_IDS))
    kind = KIND_OF_COLLECTION[collection]
    attributes: dict[str, Any] = {}
    if kind == "storage":
        attributes["occi.storage.size"] = 1
    content_type, body = _document(rng, kind, attributes)
    target = f"/{collection}/{rng.choice(FIXED_IDS[collection])}".encode()
    method = rng.choice([b"PUT", b"PUT", b"POST"])  # POST on an entity updates it
    return _with_document(Draft(method, target), content_type, body)


def _link(rng: random.Random) -> Draft:
    source = f"/compute/{rng.choice(FIXED_IDS['compute'])}"
    if rng.random() < 0.5:
        kind, target = "storagelink", f"/storage/{rng.choice(FIXED_IDS['storage'])}"
    else:
        kind, target = "networkinterface", f"/network/{rng.choice(FIXED_IDS['network'])}"
    attributes = {"occi.core.source": source, "occi.core.target": target}
    content_type, body = _document(rng, kind, attributes)
    return _with_document(Draft(b"POST", f"/{kind}/".encode()), content_type, body)


def _action(rng: random.Random) -> Draft:
    action = rng.choice(["start", "stop", "restart", "suspend", "save"])
    if rng.random() < 0.8:
        target = f"/compute/{rng.choice(FIXED_IDS['compute'])}?action={action}"
    else:
        target = f"/compute/?action={action}"
    draft = Draft(b"POST", target.encode())
    body = f'Category: {action}; scheme="{COMPUTE_ACTION}"; class="action"\n'.encode()
    return _with_document(draft, "text/plain", body)


def _mixin_request(rng: random.Random) -> Draft:
    choice = rng.randrange(4)
    if choice == 0:
        term = f"fuzz{rng.randrange(5)}"
        body = f'Category: {term}; scheme="http://example.org/fuzz#"; class="mixin"; '
        body += f'location="/fuzz/{term}/"\n'
        return _with_document(Draft(b"POST", b"/-/"), "text/plain", body.encode())
    if choice == 1:
        term = f"fuzz{rng.randrange(5)}"
        body = f'Category: {term}; scheme="http://example.org/fuzz#"; class="mixin"\n'
        return _with_document(Draft(b"DELETE", b"/-/"), "text/plain", body.encode())
    target = f"/fuzz/fuzz{rng.randrange(5)}/".encode()
    location = f"/compute/{rng.choice(FIXED_IDS['compute'])}"
    method = b"POST" if choice == 2 else rng.choice([b"PUT", b"DELETE", b"GET"])
    body = f"X-OCCI-Location: {location}\n".encode()
    return _with_document(Draft(method, target), "text/plain", body)


# --- mutations ---------------------------------------------------------------------------------

#: Bytes that parsers trip on, inserted into documents and values.
INTERESTING = (
    b'"',
    b";",
    b"=",
    b",",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\x00",
    b"\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\r\n",
    b"\n",
    b"%",
    b"#",
    b" ",
    b"\xf0\x9f\x98\x80",
    b"\xe2\x82\xac",
    b"\xe9",
    b"\\u0000",
    b"\\ud800",
    b"9" * 400,
    b"1e999",
    b"-0",
    b"NaN",
    b"null",
    b"Category: ",
    b"X-OCCI-Attribute: ",
    b"Link: <",
    b"\t",
)


def mutate_bytes(rng: random.Random, data: bytes, rounds: int | None = None) -> bytes:
    """`data` with a few byte-level changes: flips, insertions, deletions, repeats."""
    out = bytearray(data)
    for _ in range(rounds or rng.randint(1, 4)):
        position = rng.randint(0, len(out))
        operation = rng.randrange(7)
        if operation == 0 and out:
            index = min(position, len(out) - 1)
            out[index] ^= 1 << rng.randrange(8)
        elif operation == 1:
            out[position:position] = rng.choice(INTERESTING)
        elif operation == 2:
            del out[position : position + rng.randint(1, 64)]
        elif operation == 3:
            piece = bytes(out[position : position + rng.randint(1, 64)])
            out[position:position] = piece * rng.randint(1, 50)
        elif operation == 4:
            del out[position:]
        elif operation == 5:
            out[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            lines = bytes(out).split(b"\n")
            line = rng.choice(lines)
            lines.insert(rng.randrange(len(lines) + 1), line)
            out = bytearray(b"\n".join(lines))
    return bytes(out)


#: Stands for a deeply nested value in a tree, spliced in as text after `json.dumps`
#: (which cannot write what is deeper than the recursion limit).
_DEEP = "\x01deep\x01"


def _json_replacement(rng: random.Random) -> Any:
    """A JSON value to put in place of a node of a document."""
    choice = rng.randrange(14)
    if choice == 0:
        return _DEEP
    return [
        None,
        True,
        -1,
        2**70,
        1.5e308,
        "",
        "\ud800",
        "\x00",
        "€" * 100,
        [],
        {},
        {"kind": INFRA + "compute"},
        "x" * 70000,
    ][choice - 1]


def _deep(rng: random.Random) -> str:
    depth = rng.choice([50, 500, 5000, 50000])
    if rng.random() < 0.5:
        return "[" * depth + '"x"' + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def _walk(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _walk(item, (*path, index))
    return paths


def mutate_json(rng: random.Random, document: bytes) -> bytes:
    """A JSON document with one node replaced, a key added, or a raw-text attack."""
    choice = rng.randrange(10)
    if choice == 0:
        depth = rng.choice([1000, 10000, 100000])
        return b"[" * depth + b"]" * depth * rng.randint(0, 1)
    if choice == 1:
        return b'{"kind": ' + b"1" * rng.choice([4301, 20000]) + b"}"
    if choice == 2:
        return rng.choice([b"NaN", b"-Infinity", b'{"kind": NaN}', b"1e999", b'"\\ud800"'])
    if choice == 3:
        return json.dumps({"x": 1}).encode() * 3
    try:
        value = json.loads(document)
    except ValueError:
        return mutate_bytes(rng, document)
    paths = _walk(value)
    path = rng.choice(paths)
    replacement = _json_replacement(rng)
    if not path:
        value = replacement
    else:
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        if choice < 7 or not isinstance(parent, dict):
            parent[path[-1]] = replacement
        else:
            parent[rng.choice(["\x00", "€", "", "kind", "attributes", "id"])] = replacement
    text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
    text = text.replace(json.dumps(_DEEP), _deep(rng))
    return text.encode("utf-8", "surrogatepass")


# --- the fuzzed parts of a request -----------------------------------------------------------


def _fuzz_method(rng: random.Random, draft: Draft) -> None:
    roll = rng.random()
    if roll < 0.4:
        draft.method = rng.choice(METHODS)
    elif roll < 0.7:
        draft.method = rng.choice(OTHER_METHODS)
    else:
        draft.method = rng.choice(ODD_METHODS)
    if draft.method in (b"CONNECT",) or draft.method not in METHODS + OTHER_METHODS:
        # The server may read what follows differently (a tunnel, a broken request line).
        draft.reuse = False
        draft.complete = draft.method not in (b"CONNECT",)


def _fuzz_target(rng: random.Random, draft: Draft) -> None:
    if rng.random() < 0.4:
        draft.target = _target(rng).encode()
    else:
        draft.target = _odd_target(rng)
    if any(b in draft.target for b in (b" ", b"\x00", b"\r", b"\n")) or not draft.target:
        draft.reuse = False


def _fuzz_headers(rng: random.Random, draft: Draft) -> None:
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(12)
        if choice == 0:
            draft.drop("Accept")
            draft.header("Accept", rng.choice(ACCEPTS))
        elif choice == 1:
            draft.drop("Content-Type")
            draft.header("Content-Type", rng.choice(CONTENT_TYPES))
        elif choice == 2:
            for _ in range(rng.randint(1, 3)):
                draft.header(rng.choice(["Category", "category", "X-OCCI-Category"]), "")
                draft.headers[-1] += rng.choice(CATEGORIES).encode("utf-8")
        elif choice == 3:
            for _ in range(rng.randint(1, 5)):
                draft.header("X-OCCI-Attribute", rng.choice(ATTRIBUTES).encode("utf-8"))
        elif choice == 4:
            draft.header("X-OCCI-Location", rng.choice(LOCATIONS))
        elif choice == 5:
            draft.drop("User-Agent")
            draft.header("User-Agent", rng.choice(USER_AGENTS).encode("latin-1"))
        elif choice == 6:
            # Duplicated: every header line again, or many copies of one.
            if draft.headers and rng.random() < 0.5:
                draft.headers += list(draft.headers)
            else:
                draft.headers += [b"X-Dup: 1"] * rng.choice([10, 99, 101, 500])
        elif choice == 7:
            size = rng.choice([8000, 65000, 70000, 300000])
            draft.header(rng.choice(["X-Big", "Category", "Accept"]), b"a" * size)
        elif choice == 8:
            # A line without a colon, a name with a space, folding, a raw control byte.
            draft.headers.append(
                rng.choice([b"NoColonHere", b"Bad Name: x", b" folded", b"X-Ctl: a\x00b", b":x"])
            )
            draft.reuse = False
        elif choice == 9:
            draft.header("Expect", rng.choice(["100-continue", "nonsense"]))
        elif choice == 10:
            draft.header("Connection", rng.choice(["close", "keep-alive", "upgrade", "x"]))
            if b"close" in draft.headers[-1] or b"upgrade" in draft.headers[-1]:
                draft.reuse = False
        else:
            draft.headers.append(
                mutate_bytes(rng, rng.choice(draft.headers or [b"X-Empty: x"]), rounds=1)
            )
            draft.reuse = False
            draft.complete = False  # the mutation may have touched the framing


def _fuzz_body(rng: random.Random, draft: Draft, corpus: Corpus) -> None:
    """A third-party document (mutated, mostly) as the body, in a fitting or odd media type."""
    pool = rng.choice(
        [p for p in (corpus.json, corpus.text, corpus.uri_lists) if p] or [VALID_DOCUMENTS]
    )
    document = rng.choice(pool)
    is_json = pool is corpus.json
    roll = rng.random()
    if roll < 0.2:
        body = document
    elif roll < 0.45 and is_json:
        body = mutate_json(rng, document)
    else:
        body = mutate_bytes(rng, document)
    if rng.random() < 0.85:
        if is_json:
            content_type = rng.choice(["application/occi+json", "application/json"])
        elif pool is corpus.uri_lists:
            content_type = "text/uri-list"
        else:
            content_type = rng.choice(["text/plain", "text/occi", "text/occi+plain"])
    else:
        content_type = rng.choice(CONTENT_TYPES)
    if draft.method not in (b"POST", b"PUT", b"DELETE"):
        draft.method = rng.choice([b"POST", b"PUT"])
    if content_type == "text/occi" and rng.random() < 0.7:
        lines = [line for line in body.splitlines() if line.strip()]
        if any(b":" not in line or b"\x00" in line or b"\r" in line for line in lines):
            draft.reuse = False
        draft.drop("Content-Type")
        draft.headers += lines[:150]
        draft.header("Content-Type", content_type)
        draft.body = b""
        return
    draft.drop("Content-Type")
    draft.header("Content-Type", content_type)
    draft.body = body


def _fuzz_framing(rng: random.Random, draft: Draft) -> None:
    if not draft.body:
        draft.body = rng.choice(VALID_DOCUMENTS)
        if draft.method not in (b"POST", b"PUT"):
            draft.method = b"POST"
    choice = rng.randrange(10)
    length = len(draft.body)
    draft.reuse = False
    if choice == 0:  # too short: the rest reads as the next request
        draft.framing = "none"
        draft.header("Content-Length", str(rng.randrange(length)))
    elif choice == 1:  # too long: the server waits for bytes that never come
        draft.framing = "none"
        draft.header("Content-Length", str(length + rng.randint(1, 5000)))
        draft.complete = False
    elif choice == 2:  # no length at all on a POST
        draft.framing = "none"
    elif choice == 3:
        draft.framing = "chunked"
        draft.reuse = True
    elif choice == 4:  # chunked, the terminating chunk missing
        draft.framing = "none"
        draft.header("Transfer-Encoding", "chunked")
        draft.body = _chunked(draft.body, rng.choice([1, 7, 4096]))
        draft.complete = False
    elif choice == 5:  # chunked with a broken size line or chunk
        draft.framing = "none"
        draft.header("Transfer-Encoding", "chunked")
        broken = rng.choice(
            [
                b"zz\r\n" + draft.body + b"\r\n0\r\n\r\n",
                f"{length + 10:x}\r\n".encode() + draft.body + b"\r\n0\r\n\r\n",
                f"{length:x}\r\n".encode() + draft.body + b"XX0\r\n\r\n",
                b"-1\r\n" + draft.body + b"\r\n0\r\n\r\n",
                b"ffffffffffffffffffff\r\n" + draft.body + b"\r\n0\r\n\r\n",
                f"{length:x};ext=1\r\n".encode() + draft.body + b"\r\n0\r\nTrailer: x\r\n\r\n",
            ]
        )
        draft.body = broken
        draft.complete = False  # a parser may wait for more after a broken size
    elif choice == 6:  # both Content-Length and chunked
        draft.framing = "chunked"
        draft.header("Content-Length", str(length))
        draft.complete = False
    elif choice == 7:  # two different lengths
        draft.framing = "none"
        draft.header("Content-Length", str(length))
        draft.header("Content-Length", str(length + 1))
        draft.complete = False
    elif choice == 8:  # odd numbers
        draft.framing = "none"
        draft.header(
            "Content-Length", rng.choice(["-1", "+5", "abc", "1e3", "99999999999999999999", " "])
        )
        draft.complete = False
    else:  # a body far over the limit
        draft.framing = "length"
        draft.body = draft.body * (1 + (1100 * 1024) // max(length, 1))


def _fuzz_bytes(rng: random.Random, draft: Draft) -> bytes:
    """The whole request with a few byte-level changes (anywhere: line, headers, body)."""
    return mutate_bytes(rng, draft.wire(), rounds=rng.randint(1, 3))


def _with_credentials(
    rng: random.Random, draft: Draft, credentials: tuple[str, str] | None
) -> None:
    if credentials is None:
        return
    roll = rng.random()
    if roll < 0.9:
        draft.header("Authorization", basic_authorization(*credentials))
    elif roll < 0.97:
        draft.header("Authorization", _odd_authorization(rng, credentials))
    # else: no credentials at all


_Mutation = Callable[[random.Random, Draft], None]
_SHAPES: Sequence[tuple[str, float]] = (
    ("valid", 0.22),
    ("method", 0.07),
    ("path", 0.13),
    ("headers", 0.15),
    ("body", 0.22),
    ("json", 0.07),
    ("framing", 0.09),
    ("bytes", 0.05),
)


def generate(
    seed: int, index: int, corpus: Corpus, credentials: tuple[str, str] | None = None
) -> Case:
    """Request `index` of the run with `seed`: the same bytes for the same arguments."""
    rng = random.Random(f"pyocci-fuzz:{seed}:{index}")
    names = [name for name, _ in _SHAPES]
    shape = rng.choices(names, weights=[w for _, w in _SHAPES])[0]
    draft = _valid(rng, corpus)
    _with_credentials(rng, draft, credentials)
    shapes = [shape]
    if shape != "valid" and rng.random() < 0.25:
        shapes.append(rng.choice([n for n in names if n not in ("valid", "bytes", shape)]))
        # The framing is set for the final body, and byte flips come last of all.
        shapes.sort(key=names.index)
    data: bytes | None = None
    for part in shapes:
        if part == "method":
            _fuzz_method(rng, draft)
        elif part == "path":
            _fuzz_target(rng, draft)
        elif part == "headers":
            _fuzz_headers(rng, draft)
        elif part == "body":
            _fuzz_body(rng, draft, corpus)
        elif part == "json":
            pool = corpus.json or tuple(d for d in VALID_DOCUMENTS if d.startswith(b"{"))
            draft.method = draft.method if draft.method in (b"POST", b"PUT") else b"POST"
            draft.drop("Content-Type")
            draft.header("Content-Type", rng.choice(["application/occi+json", "application/json"]))
            draft.body = mutate_json(rng, rng.choice(pool))
        elif part == "framing":
            _fuzz_framing(rng, draft)
        elif part == "bytes":
            data = _fuzz_bytes(rng, draft)
            draft = replace(draft, complete=False, reuse=False)
    return Case(
        seed=seed,
        index=index,
        shape="+".join(shapes),
        method=draft.method,
        data=data if data is not None else draft.wire(),
        complete=draft.complete,
        reuse=draft.reuse,
    )
