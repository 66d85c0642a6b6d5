"""``/healthz`` and ``/livez``: the database and the cloud checked, failures named with a
503 and a fixed category (the error's text only in the log), answers reused for a second,
no credentials needed (in-process app and `HealthPage`)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pyocci.backends.deadline import CloudDeadlineError
from pyocci.backends.ec2 import Ec2Backend, Ec2Settings
from pyocci.backends.errors import (
    BackendError,
    BackendUnavailableError,
    QuotaExceededError,
)
from pyocci.backends.sim import SimBackend
from pyocci.model import standard_model
from pyocci.server.app import create_app
from pyocci.server.config import load_config
from pyocci.server.health import (
    CHECK_SECONDS,
    KEEP_SECONDS,
    HealthPage,
    cloud_category,
    database_category,
)
from pyocci.store import Database
from pyocci.store.errors import (
    StorageFullError,
    StoreError,
    StoreUnavailableError,
    StoreUnreachableError,
)

UNREACHABLE_POSTGRESQL = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
#: Stands for what an error's text may carry (a host, a URL, a driver's words): it must
#: reach the log and never a probe's answer.
MARKER = "secret-host.internal:5432"


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
    assert b"127.0.0.1" not in response.body and b"nobody" not in response.body
    report = (await page.report())["checks"]["database"]
    assert report == {"status": "failing", "reason": "database unreachable"}
    logged = [r.message for r in caplog.records if r.name == "pyocci.server.health"]
    assert len(logged) == 1 and "database unreachable: " in logged[0]
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
    assert b"127.0.0.1" not in response.body
    checks = (await page.report())["checks"]
    assert checks["database"] == {"status": "ok"}
    assert checks["cloud"] == {"status": "failing", "reason": "cloud unreachable or throttling"}


@pytest.mark.anyio
async def test_an_answer_is_reused_for_a_second_then_checked_again(sim):
    now = [100.0]
    page = HealthPage(sim.database, sim, clock=lambda: now[0])
    first = await page.report()
    now[0] += KEEP_SECONDS / 2
    assert await page.report() is first
    now[0] += KEEP_SECONDS
    assert await page.report() is not first


class FailingDatabase(Database):
    """A real database whose ping raises `error`, as the store's fault translation
    would: the one way to make the store fail with a chosen text."""

    def __init__(self, url: str, error: StoreError) -> None:
        super().__init__(url)
        self.error: StoreError | None = error

    def ping(self) -> None:
        if self.error is not None:
            raise self.error
        super().ping()


class FailingCloud(SimBackend):
    """The sim whose cloud check raises `error` (the sim has no cloud to take down)."""

    error: BackendError | None = None

    async def check_health(self) -> str | None:
        if self.error is not None:
            raise self.error
        return await super().check_health()


@pytest.mark.anyio
async def test_a_failing_databases_text_is_logged_and_never_answered(sim, tmp_path, caplog):
    error = StoreUnreachableError(
        f"could not connect to {MARKER}", detail=f"connection refused by {MARKER}"
    )
    database = FailingDatabase(f"sqlite:///{tmp_path / 'occi.db'}", error)
    with caplog.at_level(logging.WARNING, logger="pyocci.server.health"):
        response = await HealthPage(database, sim).answer(scope("/healthz"))
    assert response.status_code == 503
    assert MARKER.encode() not in response.body
    assert b'"database":{"status":"failing","reason":"database unreachable"}' in response.body
    assert any(
        f"could not connect to {MARKER} (connection refused by {MARKER})" in record.message
        for record in caplog.records
    )


@pytest.mark.anyio
async def test_a_failing_clouds_text_is_logged_and_never_answered(sim, caplog):
    cloud = FailingCloud(model=standard_model(), database=sim.database)
    cloud.error = QuotaExceededError(f"the service account {MARKER} was refused")
    with caplog.at_level(logging.WARNING, logger="pyocci.server.health"):
        response = await HealthPage(sim.database, cloud).answer(scope("/healthz"))
    assert response.status_code == 503
    assert MARKER.encode() not in response.body
    assert b"cloud refused the service account" in response.body
    assert any(MARKER in record.message for record in caplog.records)


@pytest.mark.anyio
async def test_a_failure_is_logged_once_until_it_changes_or_mends(sim, caplog):
    now = [100.0]
    cloud = FailingCloud(model=standard_model(), database=sim.database)
    page = HealthPage(sim.database, cloud, clock=lambda: now[0])

    async def probe() -> None:
        now[0] += KEEP_SECONDS * 2  # past the kept answer: each probe checks again
        await page.report()

    def warnings() -> list[str]:
        return [
            r.message
            for r in caplog.records
            if r.name == "pyocci.server.health" and r.levelno == logging.WARNING
        ]

    with caplog.at_level(logging.INFO, logger="pyocci.server.health"):
        cloud.error = BackendUnavailableError(f"{MARKER} refused the connection")
        for _ in range(5):
            await probe()
        assert len(warnings()) == 1
        cloud.error = CloudDeadlineError(f"{MARKER} did not answer")
        await probe()
        await probe()
        assert len(warnings()) == 2 and "cloud timed out" in warnings()[1]
        cloud.error = None
        await probe()
        assert any("answers again" in r.message for r in caplog.records)
        cloud.error = BackendUnavailableError(f"{MARKER} refused the connection")
        await probe()
        assert len(warnings()) == 3


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (StorageFullError("the disk is full"), "database full"),
        (StoreUnavailableError("no memory"), "database unavailable"),
        (StoreError(MARKER), "database error"),
    ],
)
def test_a_databases_category_comes_from_the_errors_class(error, category):
    assert database_category(error) == category


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (CloudDeadlineError(MARKER), "cloud timed out"),
        (BackendUnavailableError(MARKER), "cloud unreachable or throttling"),
        (BackendError(MARKER), "cloud error"),
    ],
)
def test_a_clouds_category_comes_from_the_errors_class(error, category):
    assert cloud_category(error) == category
