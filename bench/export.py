"""Image export to S3: occi-server's throughput against boto3 copying the same bytes, and
the server's memory while it exports an image of 1 GiB.

Run: ``python bench/export.py [--quick]`` (needs the test extras: boto3, moto).

One run starts moto's S3 server (``tests/motoserver.py``) and an occi-server
(sim backend, SQLite) whose images hold ``--size`` MiB and whose s3://
targets are that moto. Each round uploads the same bytes twice, one after
the other:

- **boto3**, the baseline: this process generates the sim image's bytes
  (``pyocci.backends.sim.image_data``, chunk by chunk) and sends them with
  boto3 as occi-server does: a multipart upload, one part per 8 MiB chunk,
  each with its SHA-256, the whole hashed too;
- **export**: ``POST /export/`` to occi-server, then polling (every 0.05 s)
  until the export is ``active``; the time from the POST to that answer.

Each figure is the median MB/s over the rounds, and the export's ratio to
the baseline measured in the same run (target: 0.8 or more). Then one
export of 64 MiB and one of ``--rss-size`` MiB (1 GiB; 128 MiB with
``--quick``), each on a fresh server, while this process samples the
server's resident memory every 0.1 s: the peak during the large export may
exceed the peak during the small one by two chunks at most (target: flat,
memory independent of the image's size).
The machine is shared: read the ratio, not the MB/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import httpx

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent / "tests"))

from motoserver import CREDENTIALS, REGION, MotoServer  # noqa: E402
from pyocci.backends.sim.image_data import image_chunks  # noqa: E402
from serving import free_port, wait_for  # noqa: E402

MIB = 1024 * 1024
CHUNK = 8 * MIB
BUCKET = "bench"
IMAGE = "http://schemas.pyocci.org/sim/os_tpl#debian-12"
EXPORT = "http://schemas.pyocci.org/occi/infrastructure#export"
JSON = {"Content-Type": "application/occi+json", "Accept": "application/occi+json"}


def _client(moto: MotoServer) -> Any:
    return boto3.client("s3", endpoint_url=moto.url, region_name=REGION, **CREDENTIALS)


async def _boto3_copy(client: Any, key: str, size: int) -> float:
    """Seconds to send the image's bytes with boto3 as the export does."""
    began = time.perf_counter()
    whole = hashlib.sha256()
    upload = await asyncio.to_thread(client.create_multipart_upload, Bucket=BUCKET, Key=key)
    parts = []
    async for chunk in image_chunks(IMAGE, size, CHUNK):
        whole.update(chunk)
        checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
        number = len(parts) + 1
        sent = await asyncio.to_thread(
            client.upload_part,
            Bucket=BUCKET,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=chunk,
            ChecksumSHA256=checksum,
        )
        parts.append({"ETag": sent["ETag"], "PartNumber": number, "ChecksumSHA256": checksum})
    await asyncio.to_thread(
        client.complete_multipart_upload,
        Bucket=BUCKET,
        Key=key,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )
    head = await asyncio.to_thread(client.head_object, Bucket=BUCKET, Key=key)
    assert head["ContentLength"] == size
    return time.perf_counter() - began


def _export(http: httpx.Client, key: str) -> float:
    """Seconds from asking occi-server for an export to seeing it active."""
    began = time.perf_counter()
    made = http.post(
        "/export/",
        json={
            "kind": EXPORT,
            "attributes": {
                "org.pyocci.export.source": IMAGE,
                "org.pyocci.export.target": f"s3://{BUCKET}/{key}",
            },
        },
    )
    made.raise_for_status()
    location = httpx.URL(made.headers["location"]).path
    while True:
        attributes = http.get(location).json()["attributes"]
        state = attributes["org.pyocci.export.state"]
        if state == "active":
            return time.perf_counter() - began
        if state in ("error", "cancelled"):
            raise RuntimeError(f"the export ended {state}: {attributes}")
        time.sleep(0.05)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class RssSampler:
    """Samples a process's resident memory every 0.1 s in a thread; the highest kept."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mib(self.pid))
            self._stop.wait(0.1)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _start_server(workdir: Path, moto: MotoServer, size: int) -> subprocess.Popen[bytes]:
    config = workdir / "server.toml"
    config.write_text(
        f"access_log = false\n\n[backend_settings]\nimage_bytes = {size}\n\n"
        f"[export]\nchunk_bytes = {CHUNK}\n"
        f'max_per_tenant = 4\ns3_endpoint_url = "{moto.url}"\n'
        f's3_access_key_id = "{CREDENTIALS["aws_access_key_id"]}"\n'
        f's3_secret_access_key = "{CREDENTIALS["aws_secret_access_key"]}"\n'
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    env["XDG_DATA_HOME"] = str(workdir / "data")
    arguments = [sys.executable, "-m", "pyocci.server.cli", "--host", "127.0.0.1"]
    arguments += ["--port", str(port), "--config", str(config)]
    arguments += ["--database-url", f"sqlite:///{workdir / 'occi.db'}"]
    log = workdir / "server.log"
    with log.open("wb") as output:
        child = subprocess.Popen(arguments, stdout=output, stderr=subprocess.STDOUT, env=env)
    child.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    wait_for(child.url + "/-/", child, log)  # type: ignore[attr-defined]
    return child


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _throughput(moto: MotoServer, workdir: Path, size: int, rounds: int) -> None:
    client = _client(moto)
    server = _start_server(workdir, moto, size)
    times: dict[str, list[float]] = {"boto3": [], "export": []}
    try:
        with httpx.Client(base_url=server.url, headers=JSON, timeout=60) as http:  # type: ignore[attr-defined]
            for number in range(rounds):
                times["boto3"].append(asyncio.run(_boto3_copy(client, f"boto3-{number}", size)))
                client.delete_object(Bucket=BUCKET, Key=f"boto3-{number}")
                times["export"].append(_export(http, f"export-{number}"))
                client.delete_object(Bucket=BUCKET, Key=f"export-{number}")
    finally:
        _stop(server)
    baseline = size / MIB / statistics.median(times["boto3"])
    print(f"throughput, {size // MIB} MiB to moto S3, median of {rounds}")
    print(f"{'copy':<10}{'MB/s':>10}{'ratio':>8}   target")
    for name, measured in times.items():
        speed = size / MIB / statistics.median(measured)
        target = (
            ""
            if name == "boto3"
            else ">= 0.80 " + ("met" if speed / baseline >= 0.8 else "NOT met")
        )
        print(f"{name:<10}{speed:>10.1f}{speed / baseline:>8.2f}   {target}")


def _peak_during_export(moto: MotoServer, workdir: Path, size: int) -> tuple[float, float, float]:
    """A fresh server's RSS before an export of `size` bytes and its peak during it, in
    MiB, and the export's MB/s."""
    workdir.mkdir()
    server = _start_server(workdir, moto, size)
    try:
        with httpx.Client(base_url=server.url, headers=JSON, timeout=60) as http:  # type: ignore[attr-defined]
            http.get("/export/").raise_for_status()  # everything a request loads, loaded
            before = _rss_mib(server.pid)
            with RssSampler(server.pid) as sampler:
                seconds = _export(http, "rss")
        _client(moto).delete_object(Bucket=BUCKET, Key="rss")
    finally:
        _stop(server)
    return before, sampler.peak, size / MIB / seconds


def _memory(moto: MotoServer, workdir: Path, small: int, large: int) -> None:
    """The server's peak memory exporting a small image and a large one: flat when the
    large one's peak is no higher than the small one's but for a chunk or two."""
    print("\nmemory: occi-server's RSS, one export per fresh server")
    print(f"{'image':<10}{'MB/s':>8}{'before MiB':>12}{'peak MiB':>10}{'growth MiB':>12}")
    peaks = []
    for size in (small, large):
        before, peak, speed = _peak_during_export(moto, workdir / f"rss-{size}", size)
        peaks.append(peak)
        label = f"{size // MIB} MiB"
        print(f"{label:<10}{speed:>8.1f}{before:>12.1f}{peak:>10.1f}{peak - before:>12.1f}")
    rise = peaks[1] - peaks[0]
    verdict = "met" if rise < 2 * CHUNK / MIB else "NOT met"
    print(
        f"peak at {large // MIB} MiB minus peak at {small // MIB} MiB: {rise:.1f} MiB   "
        f"target: flat (under 2 chunks, {2 * CHUNK // MIB} MiB) {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small images, one round")
    parser.add_argument("--size", type=int, help="MiB per throughput round (default 256)")
    parser.add_argument("--rss-size", type=int, help="MiB of the memory run (default 1024)")
    args = parser.parse_args()
    size = (args.size or (32 if args.quick else 256)) * MIB
    rss_size = (args.rss_size or (128 if args.quick else 1024)) * MIB
    rounds = 1 if args.quick else 3
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        moto = MotoServer(port=free_port(), log=workdir / "moto.log")
        moto.start()
        try:
            _client(moto).create_bucket(Bucket=BUCKET)
            (workdir / "throughput").mkdir()
            _throughput(moto, workdir / "throughput", size, rounds)
            _memory(moto, workdir, 64 * MIB, rss_size)
        finally:
            moto.stop()


if __name__ == "__main__":
    main()
