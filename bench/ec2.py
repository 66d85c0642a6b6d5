"""Latency of the ec2 backend: OCCI through ``occi-server`` against boto3 straight to EC2.

Run: ``python bench/ec2.py [--quick] [--rounds N]`` (needs ``pip install -e '.[test]'``
for boto3 and moto).

One run starts a moto EC2 server (AMI, instance type and key pair
validation on, default AMIs off, three AMIs registered) and an
``occi-server`` with the ec2 backend in front of it, each its own process
on a free loopback port. It then measures, alternating the two clients
call by call so both see the same moto:

- create: ``POST /compute/`` (JSON) against ``RunInstances``;
- get: ``GET /compute/<id>`` (JSON) against ``DescribeInstances`` of that id;
- list 100: ``GET /compute/?page=1&number=100`` (JSON) against
  ``DescribeInstances`` with ``MaxResults=100``, with 100+ instances in
  the account;
- stop: ``POST /compute/<id>?action=stop`` against ``StopInstances``.

It prints the median and p90 of each in milliseconds and the ratio OCCI /
boto3 of the medians, with the target (OCCI adds at most 15% to get and
list). Two more rows split the cost: get and list 100 through the ec2
backend's Python API in this process (no HTTP, no rendering) against the
same boto3 calls, that is what the EC2 layer alone adds.

Both clients speak HTTP with urllib3 (boto3's own HTTP library, over one
kept-alive connection each), so that what the HTTP client library costs is
the same on both sides and the ratio shows what the OCCI server adds.

Timings are wall-clock on this machine, moto included: the ratio, not the
absolute figure, is what carries over to AWS, where EC2's own latency is
larger and the ratio closer to 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import boto3
import urllib3

from pyocci.backends.api import Query, Tenant
from pyocci.backends.ec2 import Ec2Backend, Ec2Settings
from pyocci.model import standard_model
from serving import free_port, occi_server, process

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
MOTO_ENVIRONMENT = {
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    "MOTO_ENABLE_AMI_VALIDATION": "true",
    "MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION": "true",
    "MOTO_ENABLE_KEYPAIR_VALIDATION": "true",
}
OCCI_JSON = "application/occi+json"
COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"
STOP = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"
OS_TPL = "http://schemas.pyocci.org/ec2/os_tpl#"
RESOURCE_TPL = "http://schemas.pyocci.org/ec2/resource_tpl#"
TARGETS = {"get": 1.15, "list 100": 1.15}


def occi_config(endpoint: str, image: str) -> str:
    """occi-server's configuration: the ec2 backend on moto."""
    return "\n".join(
        [
            'backend = "ec2"',
            'log_level = "warning"',
            "[backend_settings]",
            f'region = "{REGION}"',
            f'endpoint_url = "{endpoint}"',
            f'access_key_id = "{CREDENTIALS["aws_access_key_id"]}"',
            f'secret_access_key = "{CREDENTIALS["aws_secret_access_key"]}"',
            'instance_types = ["t3.micro", "t3.small"]',
            f'default_image = "{image}"',
        ]
    )


class OcciHttp:
    """The OCCI side's HTTP client: urllib3, as botocore uses, one connection kept alive."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._pool = urllib3.PoolManager(maxsize=1)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> urllib3.BaseHTTPResponse:
        return self._pool.request(
            method, self.base_url + path, headers=headers, json=json, timeout=60, retries=False
        )

    def get(self, path: str, **options: Any) -> urllib3.BaseHTTPResponse:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> urllib3.BaseHTTPResponse:
        return self.request("POST", path, **options)

    def close(self) -> None:
        self._pool.clear()


@dataclass
class Row:
    """One operation measured both ways."""

    operation: str
    occi: list[float]
    direct: list[float]

    @staticmethod
    def _p(values: list[float], fraction: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    def cells(self) -> list[str]:
        """The table cells of this row."""
        occi, direct = statistics.median(self.occi), statistics.median(self.direct)
        ratio = occi / direct
        target = TARGETS.get(self.operation)
        met = "-" if target is None else ("yes" if ratio <= target else "no")
        return [
            self.operation,
            str(len(self.occi)),
            f"{occi * 1000:.2f}",
            f"{self._p(self.occi, 0.9):.2f}",
            f"{direct * 1000:.2f}",
            f"{self._p(self.direct, 0.9):.2f}",
            f"{ratio:.3f}",
            "-" if target is None else f"<= {target:.2f}",
            met,
        ]


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


class Bench:
    """The two clients and the measurements."""

    def __init__(self, occi: OcciHttp, ec2: Any, images: dict[str, str]) -> None:
        self.occi = occi
        self.ec2 = ec2
        self.images = images

    def _occi_create(self) -> str:
        document = {
            "kind": COMPUTE,
            "mixins": [OS_TPL + self.images["debian-12"], RESOURCE_TPL + "t3_micro"],
            "attributes": {"occi.core.title": "bench"},
        }
        response = self.occi.post(
            "/compute/",
            json=document,
            headers={"Content-Type": OCCI_JSON, "Accept": OCCI_JSON},
        )
        if response.status != 201:
            raise SystemExit(f"create failed: {response.status} {response.data[:500]}")
        return str(response.headers["location"]).rsplit("/", 1)[1]

    def _direct_create(self) -> str:
        answer = self.ec2.run_instances(
            ImageId=self.images["debian-12"],
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "bench"}]}
            ],
        )
        return answer["Instances"][0]["InstanceId"]

    def create(self, rounds: int) -> tuple[Row, list[str], list[str]]:
        row, made_occi, made_direct = Row("create", [], []), [], []
        for _ in range(rounds):
            seconds, made = timed(self._occi_create)
            row.occi.append(seconds)
            made_occi.append(made)
            seconds, made = timed(self._direct_create)
            row.direct.append(seconds)
            made_direct.append(made)
        return row, made_occi, made_direct

    def get(self, rounds: int, ids: list[str]) -> Row:
        row = Row("get", [], [])
        for index in range(rounds):
            instance_id = ids[index % len(ids)]

            def occi(instance_id: str = instance_id) -> None:
                response = self.occi.get(f"/compute/{instance_id}", headers={"Accept": OCCI_JSON})
                assert response.status == 200, response.data[:300]

            def direct(instance_id: str = instance_id) -> None:
                self.ec2.describe_instances(InstanceIds=[instance_id])

            row.occi.append(timed(occi)[0])
            row.direct.append(timed(direct)[0])
        return row

    def listing(self, rounds: int) -> Row:
        row = Row("list 100", [], [])

        def occi() -> None:
            response = self.occi.get("/compute/?page=1&number=100", headers={"Accept": OCCI_JSON})
            assert response.status == 200 and response.json()["resources"][99]

        def direct() -> None:
            answer = self.ec2.describe_instances(MaxResults=100)
            assert sum(len(r["Instances"]) for r in answer["Reservations"]) == 100

        for _ in range(rounds):
            row.occi.append(timed(occi)[0])
            row.direct.append(timed(direct)[0])
        return row

    def backend_only(self, rounds: int, instance_id: str, endpoint: str) -> list[Row]:
        """get and list 100 through `Ec2Backend` in this process, against boto3."""
        settings = Ec2Settings.from_dict(
            {
                "region": REGION,
                "endpoint_url": endpoint,
                "access_key_id": CREDENTIALS["aws_access_key_id"],
                "secret_access_key": CREDENTIALS["aws_secret_access_key"],
                "instance_types": ["t3.micro", "t3.small"],
            }
        )
        get, listing = Row("get, backend only", [], []), Row("list 100, backend only", [], [])

        async def measure() -> None:
            backend = Ec2Backend(model=standard_model(), settings=settings)
            await backend.open()
            tenant = Tenant("default")
            await backend.provider_mixins(tenant)
            query = Query(kinds=(COMPUTE,), limit=100)
            for _ in range(rounds * 3):
                started = time.perf_counter()
                await backend.get_entity(tenant, COMPUTE, instance_id)
                get.occi.append(time.perf_counter() - started)
                get.direct.append(
                    timed(lambda: self.ec2.describe_instances(InstanceIds=[instance_id]))[0]
                )
            for _ in range(rounds):
                started = time.perf_counter()
                found = [entity async for entity in backend.list_entities(tenant, query)]
                listing.occi.append(time.perf_counter() - started)
                assert len(found) == 100
                listing.direct.append(timed(lambda: self.ec2.describe_instances(MaxResults=100))[0])

        anyio.run(measure)
        return [get, listing]

    def stop(self, occi_ids: list[str], direct_ids: list[str]) -> Row:
        row = Row("stop", [], [])
        for mine, theirs in zip(occi_ids, direct_ids, strict=False):

            def occi(instance_id: str = mine) -> None:
                response = self.occi.post(
                    f"/compute/{instance_id}?action=stop", headers={"Accept": OCCI_JSON}
                )
                assert response.status == 200, response.data[:300]

            def direct(instance_id: str = theirs) -> None:
                self.ec2.stop_instances(InstanceIds=[instance_id])

            row.occi.append(timed(occi)[0])
            row.direct.append(timed(direct)[0])
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run with few rounds")
    parser.add_argument("--rounds", type=int, default=60, help="calls per operation and client")
    options = parser.parse_args()
    rounds = 5 if options.quick else options.rounds
    workdir = Path(tempfile.mkdtemp(prefix="pyocci-bench-ec2-"))
    moto_port = free_port()
    moto_url = f"http://127.0.0.1:{moto_port}"
    moto_env = {**os.environ, **MOTO_ENVIRONMENT}
    moto_args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)]
    with process(moto_args, moto_url + "/moto-api/", workdir / "moto.log", moto_env):
        ec2 = boto3.client("ec2", endpoint_url=moto_url, region_name=REGION, **CREDENTIALS)
        images = {
            name: ec2.register_image(Name=name, RootDeviceName="/dev/xvda")["ImageId"]
            for name in ("debian-12", "ubuntu-24.04", "rocky-9")
        }
        with occi_server(occi_config(moto_url, images["debian-12"]), workdir) as occi_url:
            occi = OcciHttp(occi_url)
            bench = Bench(occi, ec2, images)
            # Warm both paths (connections, templates cache) before measuring.
            occi.get("/-/")
            ec2.describe_instances()
            created, occi_ids, direct_ids = bench.create(max(rounds, 100))
            rows = [
                created,
                bench.get(rounds * 3, occi_ids),
                bench.listing(rounds),
                *bench.backend_only(rounds, occi_ids[-1], moto_url),
                bench.stop(occi_ids[:rounds], direct_ids[:rounds]),
            ]
            occi.close()
    header = [
        "operation",
        "calls",
        "occi p50 ms",
        "occi p90 ms",
        "boto3 p50 ms",
        "boto3 p90 ms",
        "ratio",
        "target",
        "met?",
    ]
    table = [header, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print(" | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


if __name__ == "__main__":
    main()
