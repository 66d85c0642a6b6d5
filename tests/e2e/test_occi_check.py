"""``occi check`` against a real occi-server on each backend: every check passes or is
not supported, and nothing the checks made is left behind.

The run is the installed ``occi`` command, as a site would run it, told
the backend's templates (and, where the cloud needs one, a network
address) from the module's `Offer`. To check another backend, add it to
``pytestmark`` below: the ``server`` and ``offer`` fixtures of
``tests/e2e/conftest.py`` start and describe it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from browser import artifacts_dir
from e2e.server import Offer, RunningServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.backends("sim", "memory", "ec2", "opennebula", "openstack"),
]

OCCI = Path(sys.executable).parent / "occi"
#: What occi-server answers that the checker reports as a warning (see docs/cli.md):
#: the entity kind is bound to /entity/ for rOCCI-core 5's schema, against GFD.223.
KNOWN_WARNINGS = {"discovery.entity-unbound"}


def check_arguments(offer: Offer) -> list[str]:
    """What a backend's `Offer` tells ``occi check`` about the entities it can make."""
    arguments = ["--os-tpl", offer.image, "--resource-tpl", offer.small]
    if offer.needs_cidr:
        address = offer.network().attributes["occi.network.address"]
        arguments += ["--network-address", str(address)]
    return arguments


def run_occi_check(url: str, *arguments: str, timeout: float = 1800) -> tuple[int, Any]:
    """``occi check URL ARGUMENTS -o json``: its exit status and its report."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OCCI_")}
    done = subprocess.run(
        [str(OCCI), "check", url, "-o", "json", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )
    assert done.stdout, f"no report; stderr: {done.stderr}"
    return done.returncode, json.loads(done.stdout)


def leftovers(http: httpx.Client) -> list[str]:
    """Entities and user mixins whose titles or terms say a check run made them."""
    found = []
    for collection in (
        "/compute/",
        "/storage/",
        "/network/",
        "/storagelink/",
        "/networkinterface/",
    ):
        answer = http.get(collection, headers={"Accept": "application/occi+json"})
        if answer.status_code in (404, 501):
            continue  # a kind this backend does not serve: nothing can be left there
        assert answer.status_code == 200, answer.text
        document = answer.json()
        for member in document.get("resources", []) + document.get("links", []):
            title = member.get("title") or member.get("attributes", {}).get("occi.core.title", "")
            if str(title).startswith("occi-check"):
                found.append(f"{collection}{member['id']}")
    categories = http.get("/-/", headers={"Accept": "text/plain"}).text
    found += [line for line in categories.splitlines() if "occi-check" in line]
    return found


def test_occi_check_passes(
    backend_name: str, server: RunningServer, offer: Offer, http: httpx.Client
) -> None:
    status, report = run_occi_check(server.url, *check_arguments(offer))
    # Kept for people to read: what the checker said of this backend.
    kept = artifacts_dir() / "occi-check" / f"{backend_name}.json"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(report, indent=1))
    results = {check["name"]: check for check in report["checks"]}
    failed = {
        name: check["detail"]
        for name, check in results.items()
        if check["result"] in ("fail", "error", "skipped")
    }
    assert failed == {}, json.dumps(failed, indent=1)
    warned = {name for name, check in results.items() if check["result"] == "warn"}
    assert warned == KNOWN_WARNINGS
    assert report["cleanup"]["result"] == "pass", report["cleanup"]
    assert status == 0
    # The checks reached every part of the protocol: most passed outright.
    assert report["summary"]["pass"] >= 50
    assert leftovers(http) == []
