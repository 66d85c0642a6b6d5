"""``/healthz`` of a real occi-server on every backend: its cloud asked for real (moto,
Nova, oned), the sim's store alone checked."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.backends("sim", "ec2", "openstack", "opennebula")]

#: What each backend asks its cloud (the sim has none beside its store).
ASKED = {
    "ec2": "DescribeRegions",
    "openstack": "Nova's flavors",
    "opennebula": "oned's system.version",
}


def test_the_database_and_the_cloud_answer(http, backend_name):
    response = http.get("/healthz")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert checks["database"] == {"status": "ok"}
    if backend_name.startswith("sim"):
        assert checks["cloud"] == {"status": "unchecked", "backend": "sim"}
    else:
        assert checks["cloud"] == {
            "status": "ok",
            "backend": backend_name,
            "asked": ASKED[backend_name],
        }
    assert http.get("/livez").json() == {"status": "ok"}
