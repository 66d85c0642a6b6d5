"""``/healthz`` and ``/livez``: the database and the cloud checked, failures named with a
503, answers reused for a second, no credentials needed (in-process app and `HealthPage`)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pyocci.backends.ec2 import Ec2Backend, Ec2Settings
from pyocci.backends.sim import SimBackend
from pyocci.model import standard_model
from pyocci.server.app import create_app
from pyocci.server.config import load_config
from pyocci.server.health import CHECK_SECONDS, KEEP_SECONDS, HealthPage
from pyocci.store import Database

UNREACHABLE_POSTGRESQL = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"


def scope(path: str, method: str = "GET") -> dict:
    return {"type": "http", "method": method, "path": path, "headers": []}


def test_a_healthy_server_says_so_without_credentials(tmp_path: Path):
    config_file = tmp_path / "server.toml"
    # Basic auth on: the health pages are outside OCCI and ask for nothing.
    config_file.write_text('[auth]\nmethod = "basic"\n')
    environ = {"PYOCCI_DATABASE_URL": f"sqlite:///{tmp_path / 'occi.db'}"}
    with TestClient(create_app(load_config(config_file, environ=environ))) as client:
        assert client.get("/-/").status_code == 401
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.headers["cache-control"] == "no-store"
        assert health.json() == {
            "status": "ok",
            "checks": {
                "database": {"status": "ok"},
                "cloud": {"status": "unchecked", "backend": "sim"},
            },
        }
        assert client.get("/livez").json() == {"status": "ok"}
        refused = client.post("/healthz")
        assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"


@pytest.fixture
def sim(tmp_path: Path) -> SimBackend:
    database = Database(f"sqlite:///{tmp_path / 'occi.db'}")
    database.upgrade()
    return SimBackend(model=standard_model(), database=database)


@pytest.mark.anyio
async def test_an_unreachable_database_fails_the_check_and_not_liveness(sim, caplog):
    page = HealthPage(Database(UNREACHABLE_POSTGRESQL), sim)
    with caplog.at_level(logging.WARNING, logger="pyocci.server.health"):
        response = await page.answer(scope("/healthz"))
    assert response.status_code == 503
    report = (await page.report())["checks"]["database"]
    assert report["status"] == "failing"
    assert "127.0.0.1" in report["reason"] or "reach" in report["reason"]
    assert [record.message for record in caplog.records if "database" in record.message]
    assert (await page.answer(scope("/livez"))).status_code == 200


@pytest.mark.anyio
async def test_a_database_that_never_answers_fails_the_check_when_its_time_is_up(sim):
    # A port that takes connections and never answers: connecting would wait out its own
    # timeout (5 s here, longer than the check's); the check gives up at its own.
    silent = socket.create_server(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    database = Database(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none?connect_timeout=5")
    try:
        report = (await HealthPage(database, sim).report())["checks"]["database"]
        assert report == {
            "status": "failing",
            "reason": f"no answer within {CHECK_SECONDS:g} s",
        }
    finally:
        silent.close()


@pytest.mark.anyio
async def test_an_unreachable_cloud_fails_the_check(sim):
    cloud = Ec2Backend(
        model=standard_model(),
        settings=Ec2Settings.from_dict(
            {
                "endpoint_url": "http://127.0.0.1:1",
                "region": "us-east-1",
                "access_key_id": "x",
                "secret_access_key": "y",
                "max_attempts": 1,
            }
        ),
    )
    await cloud.open()
    page = HealthPage(sim.database, cloud)
    response = await page.answer(scope("/healthz"))
    assert response.status_code == 503
    checks = (await page.report())["checks"]
    assert checks["database"] == {"status": "ok"}
    assert checks["cloud"]["status"] == "failing" and checks["cloud"]["reason"]


@pytest.mark.anyio
async def test_an_answer_is_reused_for_a_second_then_checked_again(sim):
    now = [100.0]
    page = HealthPage(sim.database, sim, clock=lambda: now[0])
    first = await page.report()
    now[0] += KEEP_SECONDS / 2
    assert await page.report() is first
    now[0] += KEEP_SECONDS
    assert await page.report() is not first
