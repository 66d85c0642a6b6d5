"""Where exported bytes go: an S3-compatible object store, an HTTPS PUT, or another
site's Glance (`pyocci.server.exports.glance`).

A `TargetWriter` takes the image chunk by chunk (`write`), then says where it
is (`finish`) or gives up (`abort`). A writer whose target can tell what it
received also has ``async verify(sha256_hex) -> bool``, called after `finish`:
True when the target confirmed those bytes, False when it cannot tell, and
ExportFailedError when it holds something else (the runner records which).
A writer keeps at most one chunk besides the one it is given, so an export's
memory does not grow with the image. A failure of the target is an
`ExportFailedError` whose message says what went wrong in terms the client
can act on (a missing bucket, a refused URL), never with a credential in it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from pyocci.server.exports.streaming import StreamingPut, summary
from pyocci.service.exports import ExportTarget, shown_url

if TYPE_CHECKING:
    from pyocci.server.exports.glance import GlanceSite

__all__ = ["ExportFailedError", "S3Settings", "TargetWriter", "open_target"]


def verification(ca_file: Path | None) -> ssl.SSLContext | bool:
    """How a target's TLS certificate is checked: against `ca_file`'s CAs beside the
    system's, or the system's alone."""
    if ca_file is None:
        return True
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=str(ca_file))
    return context


class ExportFailedError(Exception):
    """The export cannot go on; the message is the export's ``state.message``."""


class TargetWriter(Protocol):
    """One export's writes to its target."""

    async def write(self, chunk: bytes) -> None:
        """Send the next chunk of the image."""

    async def finish(self) -> str:
        """Complete the upload; the URL the image is at (without credentials)."""

    async def abort(self) -> None:
        """Give up: leave nothing half-written behind where the target allows."""


class S3Settings:
    """The object store s3:// targets are written to (the site's, from ``[export]``)."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        ca_file: Path | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._access_key_id = access_key_id
        self._secret_access_key = secret_access_key
        self.ca_file = ca_file

    def __repr__(self) -> str:
        return f"S3Settings({self.endpoint_url!r})"

    def client(self) -> Any:
        """A boto3 S3 client (path-style addressing: any S3-compatible store takes it)."""
        try:
            import boto3
            from botocore.config import Config
        except ImportError:  # pragma: no cover - the extra is installed with s3 targets
            raise ExportFailedError(
                "s3:// targets need boto3 on the server: pip install 'pyocci[s3]'"
            ) from None
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self._access_key_id,
            aws_secret_access_key=self._secret_access_key,
            verify=str(self.ca_file) if self.ca_file else None,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                # Checksums are sent by us, per part; botocore's own would be computed
                # again on every part.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )


def open_target(
    target: ExportTarget,
    size: int | None,
    *,
    s3: S3Settings | None,
    ca_file: Path | None,
    glance: Mapping[str, GlanceSite] | None = None,
    disk_format: str | None = None,
) -> TargetWriter:
    """The writer for a target; ExportFailedError when this site cannot write there.
    `glance`: the remote sites glance:// targets may name; `disk_format`: the image's."""
    if target.scheme == "glance":
        from pyocci.server.exports.glance import GlanceWriter

        site = (glance or {}).get(target.site)
        if site is None:
            raise ExportFailedError(f"this site knows no Glance site {target.site} any more")
        return GlanceWriter(site, target.name, disk_format=disk_format, size=size)
    if target.scheme == "s3":
        if s3 is None:
            raise ExportFailedError("this site has no object store for s3:// targets any more")
        return S3Writer(s3, target.bucket, target.key)
    return HttpsWriter(target.url, size, ca_file)


# --- S3 ---------------------------------------------------------------------------------------


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


class S3Writer:
    """A multipart upload, one part per chunk, each part sent with its SHA-256 (which
    the store checks on receipt); a single PUT when the image is one chunk. boto3 is
    blocking: every call runs in a thread."""

    def __init__(self, settings: S3Settings, bucket: str, key: str) -> None:
        self.settings = settings
        self.bucket = bucket
        self.key = key
        self._client: Any = None
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        # The last chunk given, not sent yet: only `finish` knows whether it is the only one.
        self._held: bytes | None = None
        self._sent = 0
        # What the store said of the finished object (its checksum), and whether it was
        # sent in one PUT (its checksum is the whole object's) or in parts.
        self._head: dict[str, Any] = {}
        self._single = False

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    async def _call(self, what: str, method: str, **arguments: Any) -> Any:
        if self._client is None:
            self._client = await asyncio.to_thread(self.settings.client)
        try:
            return await asyncio.to_thread(getattr(self._client, method), **arguments)
        except Exception as error:
            raise ExportFailedError(self._explain(what, error)) from None

    def _explain(self, what: str, error: Exception) -> str:
        response = getattr(error, "response", None)
        code = message = ""
        if isinstance(response, dict):
            code = str(response.get("Error", {}).get("Code", ""))
            message = str(response.get("Error", {}).get("Message", ""))
        if code == "NoSuchBucket":
            return f"the bucket {self.bucket} does not exist at {self.settings.endpoint_url}"
        if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            return f"the object store refused to {what} {self.url}: {code}"
        if code:
            return f"could not {what} {self.url}: {code} {message}".rstrip()
        # Connection errors and the like: their text names the endpoint, no secrets.
        return f"could not {what} {self.url}: {type(error).__name__}: {error}"

    async def start(self) -> None:
        """Abort what an earlier run of this export left (a server restart), then begin."""
        listed = await self._call(
            "list the uploads of", "list_multipart_uploads", Bucket=self.bucket, Prefix=self.key
        )
        for upload in listed.get("Uploads", []):
            if upload.get("Key") == self.key:
                await self._call(
                    "abort an earlier upload of",
                    "abort_multipart_upload",
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=upload["UploadId"],
                )

    async def write(self, chunk: bytes) -> None:
        """Hold the chunk; send the one held before it as the next part."""
        if self._held is not None:
            await self._send_part(self._held)
        self._held = chunk

    async def _send_part(self, chunk: bytes) -> None:
        if self._upload_id is None:
            created = await self._call(
                "start uploading",
                "create_multipart_upload",
                Bucket=self.bucket,
                Key=self.key,
                ChecksumAlgorithm="SHA256",
            )
            self._upload_id = created["UploadId"]
        number = len(self._parts) + 1
        checksum = _sha256_b64(chunk)
        sent = await self._call(
            "upload a part of",
            "upload_part",
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=chunk,
            ChecksumSHA256=checksum,
        )
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number, "ChecksumSHA256": checksum})
        self._sent += len(chunk)

    async def finish(self) -> str:
        """Send what is held, complete the upload, and check the object's size."""
        held, self._held = self._held or b"", None
        if self._upload_id is None:
            await self._call(
                "upload",
                "put_object",
                Bucket=self.bucket,
                Key=self.key,
                Body=held,
                # Both: the store checks the one sent, and keeps the algorithm's for HEAD.
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=_sha256_b64(held),
            )
            self._sent += len(held)
            self._single = True
        else:
            if held:
                await self._send_part(held)
            await self._call(
                "complete the upload of",
                "complete_multipart_upload",
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
            self._upload_id = None
        head = await self._call(
            "read back", "head_object", Bucket=self.bucket, Key=self.key, ChecksumMode="ENABLED"
        )
        if head.get("ContentLength") != self._sent:
            raise ExportFailedError(
                f"{self.url} holds {head.get('ContentLength')} bytes; {self._sent} were sent"
            )
        self._head = head
        return self.url

    async def verify(self, sha256_hex: str) -> bool:
        """Whether the finished object's checksum, as the store reports it, is that of
        the bytes sent: the SHA-256 of the whole (`sha256_hex`) for one PUT; for a
        multipart upload S3's composite, the SHA-256 of the parts' SHA-256s, which
        the store computed from the parts it checked on receipt. False when the store
        reports none; ExportFailedError when it reports another."""
        reported = self._head.get("ChecksumSHA256")
        if not reported:
            return False
        if self._single:
            expected = base64.b64encode(bytes.fromhex(sha256_hex)).decode("ascii")
        else:
            parts = b"".join(base64.b64decode(part["ChecksumSHA256"]) for part in self._parts)
            expected = _sha256_b64(parts)
        # S3 appends the number of parts to a composite ("...-3"); some stores do not.
        if str(reported).split("-")[0] != expected:
            raise ExportFailedError(
                f"{self.url} reports the SHA-256 {reported}; the bytes sent have {expected}"
            )
        return True

    async def abort(self) -> None:
        """Abort the multipart upload, if one was begun (its parts are deleted)."""
        self._held = None
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            # What cannot be aborted now expires by the store's own lifecycle rules.
            with contextlib.suppress(ExportFailedError):
                await self._call(
                    "abort the upload of",
                    "abort_multipart_upload",
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=upload_id,
                )


# --- HTTPS ---------------------------------------------------------------------------------------

_END = b""


class HttpsWriter:
    """One PUT whose body is streamed as the chunks come (with Content-Length when the
    size is known: a pre-signed S3 URL refuses chunked bodies)."""

    def __init__(self, url: str, size: int | None, ca_file: Path | None) -> None:
        self.url = url
        self.size = size
        self.ca_file = ca_file
        self._stream = StreamingPut(self._put, self._send_failure)
        self._response: httpx.Response | None = None

    async def _put(self, body: AsyncIterator[bytes]) -> httpx.Response:
        headers = {"Content-Type": "application/octet-stream"}
        if self.size is not None:
            headers["Content-Length"] = str(self.size)
        timeout = httpx.Timeout(60.0, connect=15.0)
        async with httpx.AsyncClient(verify=verification(self.ca_file), timeout=timeout) as client:
            return await client.put(self.url, content=body, headers=headers)

    def _send_failure(self, error: httpx.HTTPError) -> ExportFailedError:
        return ExportFailedError(
            f"could not PUT to {shown_url(self.url)}: {type(error).__name__}: "
            f"{_without_url(str(error), self.url)}"
        )

    async def write(self, chunk: bytes) -> None:
        """Hand the chunk to the PUT's body (waits while the previous one is being sent)."""
        if not await self._hand(chunk):
            raise ExportFailedError(f"{shown_url(self.url)} answered before the image was sent")

    async def finish(self) -> str:
        """End the body and read the answer: 2xx is done, anything else says why not."""
        await self._hand(None)
        response = await self._stream.answer()
        self._check(response)
        self._response = response
        return shown_url(self.url)

    async def verify(self, sha256_hex: str) -> bool:
        """Whether the receiver's answer names the SHA-256 of what it received and it is
        `sha256_hex`: ``Repr-Digest`` or ``Content-Digest`` (RFC 9530), ``Digest``
        (RFC 3230) or ``x-amz-checksum-sha256`` (S3's). False when it names none (a
        pre-signed URL's answer mostly does not); ExportFailedError when it differs."""
        if self._response is None:
            return False
        reported = _reported_sha256(self._response.headers)
        if reported is None:
            return False
        if reported != bytes.fromhex(sha256_hex):
            raise ExportFailedError(
                f"{shown_url(self.url)} received bytes whose SHA-256 is {reported.hex()}; "
                f"the bytes sent have {sha256_hex}"
            )
        return True

    async def _hand(self, item: bytes | None) -> bool:
        """Queue the next piece of the body; False when the PUT ended without taking it
        (an answer before the end of the body), after raising what that answer says."""
        early = await self._stream.hand(item)
        if early is None:
            return True
        # The PUT was answered early: say why (an error status raises here).
        self._check(early)
        return False

    def _check(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        raise ExportFailedError(f"{shown_url(self.url)} answered {summary(response)}")

    async def abort(self) -> None:
        """Drop the PUT (the target never gets a whole body)."""
        await self._stream.cancel()


def _reported_sha256(headers: httpx.Headers) -> bytes | None:
    """The SHA-256 a receiver's answer names, in any of the headers that carry one."""
    for name in ("repr-digest", "content-digest"):
        # RFC 9530: a dictionary of algorithm=:base64:, e.g. sha-256=:X48E...=:
        for member in headers.get(name, "").split(","):
            algorithm, _, value = member.strip().partition("=")
            if algorithm.lower() == "sha-256" and value.startswith(":") and value.endswith(":"):
                return _b64(value[1:-1])
    for member in headers.get("digest", "").split(","):
        algorithm, _, value = member.strip().partition("=")
        if algorithm.lower() == "sha-256":
            return _b64(value)
    amazon = headers.get("x-amz-checksum-sha256")
    return _b64(amazon) if amazon else None


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return None


def _without_url(text: str, url: str) -> str:
    # httpx's messages can quote the URL, signature and all.
    return text.replace(url, shown_url(url))
