"""The export targets against real servers: S3 writes to moto's S3 server (one PUT for
one chunk, a multipart upload for more, each part's SHA-256 sent, leftovers of an
earlier run aborted), HTTPS PUTs to a loopback receiver; what each failure says."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from e2e.server import free_port
from motoserver import CREDENTIALS, REGION, MotoServer
from pki import Pki
from put_receiver import PutReceiver
from pyocci.server.exports.targets import (
    ExportFailedError,
    HttpsWriter,
    S3Settings,
    S3Writer,
)

pytestmark = pytest.mark.anyio

BUCKET = "targets"
PART = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(port=free_port(), log=tmp_path_factory.mktemp("moto") / "moto.log")
    server.start()
    try:
        _client(server).create_bucket(Bucket=BUCKET)
        yield server
    finally:
        server.stop()


def _client(server: MotoServer) -> Any:
    return boto3.client("s3", endpoint_url=server.url, region_name=REGION, **CREDENTIALS)


def _settings(server: MotoServer) -> S3Settings:
    return S3Settings(
        server.url,
        REGION,
        CREDENTIALS["aws_access_key_id"],
        CREDENTIALS["aws_secret_access_key"],
    )


def _chunks(count: int, size: int = PART) -> list[bytes]:
    return [bytes([n]) * size for n in range(count)]


async def _write_all(writer: Any, chunks: list[bytes]) -> str:
    for chunk in chunks:
        await writer.write(chunk)
    return await writer.finish()


def _stored(server: MotoServer, key: str) -> bytes:
    return _client(server).get_object(Bucket=BUCKET, Key=key)["Body"].read()


async def test_one_chunk_is_one_put(moto: MotoServer) -> None:
    writer = S3Writer(_settings(moto), BUCKET, "one.img")
    await writer.start()
    assert await _write_all(writer, [b"tiny image"]) == f"s3://{BUCKET}/one.img"
    assert _stored(moto, "one.img") == b"tiny image"


async def test_several_chunks_are_a_multipart_upload(moto: MotoServer) -> None:
    chunks = [*_chunks(2), b"tail"]
    writer = S3Writer(_settings(moto), BUCKET, "multi.img")
    await writer.start()
    await _write_all(writer, chunks)
    stored = _stored(moto, "multi.img")
    assert hashlib.sha256(stored).digest() == hashlib.sha256(b"".join(chunks)).digest()
    head = _client(moto).head_object(Bucket=BUCKET, Key="multi.img", PartNumber=1)
    assert head["PartsCount"] == 3


async def test_an_aborted_upload_and_an_earlier_runs_leftovers_are_removed(
    moto: MotoServer,
) -> None:
    client = _client(moto)
    left = client.create_multipart_upload(Bucket=BUCKET, Key="again.img")["UploadId"]
    writer = S3Writer(_settings(moto), BUCKET, "again.img")
    await writer.start()  # a restarted export: the dead run's upload goes
    for chunk in _chunks(3):
        await writer.write(chunk)  # two parts sent, one held
    await writer.abort()
    uploads = client.list_multipart_uploads(Bucket=BUCKET, Prefix="again.img")
    assert [u["UploadId"] for u in uploads.get("Uploads", [])] == []
    assert left  # the upload that was there before


async def test_a_missing_bucket_says_so(moto: MotoServer) -> None:
    writer = S3Writer(_settings(moto), "no-such-bucket", "k")
    with pytest.raises(ExportFailedError, match="the bucket no-such-bucket does not exist at"):
        await writer.start()


async def test_an_unreachable_store_is_named_without_credentials() -> None:
    settings = S3Settings(f"http://127.0.0.1:{free_port()}", REGION, "AKIDSECRET", "s3cr3t-key")
    writer = S3Writer(settings, BUCKET, "k")
    with pytest.raises(ExportFailedError) as raised:
        await writer.start()
    assert "could not list the uploads of s3://targets/k" in str(raised.value)
    assert "s3cr3t-key" not in str(raised.value) and "s3cr3t-key" not in repr(settings)


async def test_an_https_put_streams_the_bytes(receiver: PutReceiver, pki: Pki) -> None:
    chunks = _chunks(3, size=1024 * 1024)
    url = f"{receiver.url}/targets/streamed.img?X-Amz-Signature=abc"
    writer = HttpsWriter(url, sum(map(len, chunks)), pki.ca)
    assert await _write_all(writer, chunks) == f"{receiver.url}/targets/streamed.img"
    assert receiver.received("/targets/streamed.img") == {
        "size": 3 * 1024 * 1024,
        "sha256": hashlib.sha256(b"".join(chunks)).hexdigest(),
    }


async def test_an_https_refusal_is_the_status_and_the_body(receiver: PutReceiver, pki) -> None:
    writer = HttpsWriter(f"{receiver.url}/forbidden/x.img?sig=old", 4, pki.ca)
    with pytest.raises(ExportFailedError) as raised:
        await _write_all(writer, [b"data"])
    message = str(raised.value)
    assert message.startswith(f"{receiver.url}/forbidden/x.img answered 403 Forbidden")
    assert "Request has expired" in message and "sig=old" not in message


async def test_an_unknown_size_is_sent_chunked_and_a_receiver_may_refuse_it(
    receiver: PutReceiver, pki: Pki
) -> None:
    writer = HttpsWriter(f"{receiver.url}/targets/unsized.img", None, pki.ca)
    with pytest.raises(ExportFailedError, match="answered 411"):
        await _write_all(writer, [b"data"])


async def test_an_untrusted_certificate_is_refused(receiver: PutReceiver) -> None:
    writer = HttpsWriter(f"{receiver.url}/targets/x.img", 4, None)
    with pytest.raises(ExportFailedError, match=r"could not PUT to .*CERTIFICATE_VERIFY_FAILED"):
        await _write_all(writer, [b"data"])
