"""The server when its database is in trouble, with real ``occi-server`` processes:

- a full disk answers 507 (a read-only database 503), with Retry-After and a
  message in the client's rendering; reads go on; the log has one line per
  incident and one when it is over; writes work again once there is room,
  without a restart;
- text no database can hold (NUL, unpaired surrogates) is the same 400 on
  SQLite and PostgreSQL, wherever it comes in, and nothing is stored;
- several processes that migrate one fresh database at once all succeed,
  and a four-worker server on a fresh PostgreSQL database always starts.

The disk fills for real: a size-limited tmpfs, which needs root to mount
(skipped with the reason otherwise).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest

from e2e.server import OCCI_12_USER_AGENT, RunningServer
from postgres import PostgresServer
from pyocci.store.database import Database
from reliability.storefaults import (
    COMPUTE_KIND,
    INFRA,
    OCCI_JSON,
    Incident,
    MountUnavailableError,
    concurrent_upgrades,
    migration_starts,
    postgresql_disk_full,
    postgresql_read_only,
    served,
    sqlite_disk_full,
)

#: Writes during each incident in CI (the bench sends more: `storefaults.figures`).
WRITES = 25


def assert_handled(seen: Incident, status: int) -> None:
    """`status` for the refused writes, reads unharmed, one log line per incident and
    one when it ended, and writes working again at the end."""
    assert seen.server_errors == []
    assert seen.refused > 0
    assert {s for s in seen.writes if s >= 300} == {status}
    assert all(value.isdigit() and int(value) > 0 for value in seen.retry_after)
    assert seen.example["status"] == status
    assert "try again later" in str(seen.example["error"])
    assert set(seen.reads) == {200}
    assert seen.after[-1] < 300, f"writes still refused after the fault was cleared: {seen.after}"
    assert len(seen.incident_lines) == seen.failure_runs, seen.incident_lines
    assert len(seen.recovery_lines) == seen.failure_runs, seen.recovery_lines
    assert seen.tracebacks == 0


def test_sqlite_on_a_full_disk_answers_507_logs_once_per_incident_and_recovers():
    try:
        seen = sqlite_disk_full(WRITES, incidents=2)
    except MountUnavailableError as error:
        pytest.skip(f"no size-limited file system to fill: {error}")
    assert_handled(seen, 507)
    assert seen.failure_runs >= 2  # the second incident was logged again


def test_postgresql_on_a_full_disk_answers_507_and_recovers(postgres_server: PostgresServer):
    try:
        seen = postgresql_disk_full(postgres_server, WRITES)
    except MountUnavailableError as error:
        pytest.skip(f"no size-limited file system to fill: {error}")
    assert_handled(seen, 507)
    assert any("No space left on device" in line for line in seen.incident_lines)


def test_postgresql_made_read_only_answers_503_and_recovers(postgres_server: PostgresServer):
    assert_handled(postgresql_read_only(postgres_server, WRITES), 503)


# --- text no database can hold ------------------------------------------------------------------

COMPUTE = INFRA + "compute"
SAVE = "http://schemas.ogf.org/occi/infrastructure/compute/action#save"
TEXT_PLAIN = {"Content-Type": "text/plain"}
JSON = {"Content-Type": OCCI_JSON}


def unstorable_requests(compute: str) -> list[tuple[str, str, dict[str, str], bytes | None]]:
    """(method, path, headers, body) of requests carrying NUL or an unpaired surrogate in
    every place that reaches the database; `compute` is an existing compute's path."""

    def json_body(document: object) -> bytes:
        # ensure_ascii: NUL travels as the JSON escape \\u0000.
        return json.dumps(document).encode()

    titled = {"kind": COMPUTE, "attributes": {"occi.core.title": "a\x00b"}}
    summary = {"kind": COMPUTE, "attributes": {"occi.core.summary": "\x00"}}
    save = {"action": SAVE, "attributes": {"name": "n\x00"}}
    tag = {"scheme": "http://example.org/t#", "term": "t", "location": "/t/", "title": "a\x00"}
    text_title = COMPUTE_KIND + 'X-OCCI-Attribute: occi.core.title="a\x00b"\n'
    text_tag = 'Category: t; scheme="http://example.org/t\x00#"; class="mixin"; location="/t/"\n'
    return [
        ("POST", "/compute/", TEXT_PLAIN, text_title.encode()),
        ("POST", "/compute/", JSON, json_body(titled)),
        ("POST", "/compute/", JSON, json_body(summary)),
        ("PUT", "/compute/fixed-id", JSON, json_body(titled)),
        ("POST", compute, JSON, json_body(titled)),
        ("POST", compute + "?action=save", JSON, json_body(save)),
        ("POST", "/-/", JSON, json_body({"mixins": [tag]})),
        ("POST", "/-/", TEXT_PLAIN, text_tag.encode()),
        ("GET", "/compute/a%00b", {}, None),
    ]


def answers_to_unstorable_text(server: RunningServer) -> list[tuple[int, str]]:
    """The status and message of each of `unstorable_requests` (the compute's id in them
    replaced by ``<id>``); asserts that nothing was stored."""
    headers = {"User-Agent": OCCI_12_USER_AGENT, "Accept": "text/plain"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        created = http.post("/compute/", headers=TEXT_PLAIN, content=COMPUTE_KIND)
        assert created.status_code == 201
        compute = "/compute/" + created.headers["location"].rsplit("/", 1)[1]
        answers = []
        for method, path, extra, body in unstorable_requests(compute):
            answer = http.request(method, path, headers=extra, content=body)
            # The id may be cut short where a message quotes only the start of a value.
            message = re.sub(r"/compute/[0-9a-f-]+", "/compute/<id>", answer.text.strip())
            answers.append((answer.status_code, message))
        listed = http.get("/compute/", headers={"Accept": "text/uri-list"}).text.split()
        assert listed == [server.url + compute], "something was stored"
        discovery = http.get("/-/", headers={"Accept": OCCI_JSON}).json()
        assert not [m for m in discovery.get("mixins", []) if "example.org" in m["scheme"]]
        attributes = http.get(compute, headers={"Accept": OCCI_JSON}).json()["attributes"]
        assert "occi.core.title" not in attributes, "the update was stored"
    return answers


@pytest.fixture(scope="module")
def answers_by_database(postgres_server: PostgresServer) -> Iterator[dict[str, list]]:
    url = postgres_server.create_database()
    answers = {}
    try:
        with served(None) as sqlite_server:
            answers["sqlite"] = answers_to_unstorable_text(sqlite_server)
        with served(url) as postgresql_server:
            answers["postgresql"] = answers_to_unstorable_text(postgresql_server)
        yield answers
    finally:
        postgres_server.drop_database(url.rsplit("/", 1)[1])


def test_unstorable_text_is_a_400_naming_it_on_both_databases(answers_by_database):
    for database, answers in answers_by_database.items():
        wrong = [
            (number, status, message)
            for number, (status, message) in enumerate(answers)
            if status != 400 or not ("NUL" in message or "\\x00" in message)
        ]
        assert wrong == [], database


def test_sqlite_and_postgresql_answer_unstorable_text_alike(answers_by_database):
    assert answers_by_database["sqlite"] == answers_by_database["postgresql"]


# --- migrations by several processes at once --------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_processes_migrating_one_fresh_database_at_once_all_succeed(
    kind, tmp_path, request: pytest.FixtureRequest
):
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    upgrades = concurrent_upgrades(url, processes=4)
    assert upgrades.errors == []
    assert upgrades.exit_codes == [0] * 4
    newest = Database(url)
    try:
        assert set(upgrades.revisions) == {newest.head_revision()}
    finally:
        newest.dispose()


def test_a_four_worker_server_on_a_fresh_postgresql_database_always_starts(
    postgres_server: PostgresServer,
):
    # Without the migration lock, 4 of 6 such starts had a worker fail; the bench
    # (`storefaults.figures`) starts it 10 times.
    starts = migration_starts(postgres_server, starts=2, workers=4)
    assert [start for start in starts if not start.clean(4)] == []
