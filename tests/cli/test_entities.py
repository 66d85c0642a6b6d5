"""``occi delete`` of a whole collection: only with ``--all``, confirmed on a terminal,
saying how many entities went."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import time

from cli.conftest import OCCI_EXECUTABLE, RunOcci
from e2e.server import RunningServer


def computes(occi: RunOcci) -> list[str]:
    return [r["location"] for r in json.loads(occi("list", "compute", "-o", "json").stdout)]


def create_computes(occi: RunOcci, count: int) -> list[str]:
    made = [
        occi("create", "compute", "--os", "cirros", "--size", "small").stdout.strip()
        for _ in range(count)
    ]
    assert all(m.startswith("/compute/") for m in made), made
    return made


def test_a_collection_is_not_deleted_without_all(occi: RunOcci) -> None:
    made = create_computes(occi, 2)
    for collection in ("/compute/", "/compute", "/"):
        refused = occi("delete", collection)
        assert refused.exit_code != 0
        assert "--all" in refused.output, refused.output
    assert set(made) <= set(computes(occi))
    # Naming entities still deletes them without ceremony.
    assert occi("delete", *made).exit_code == 0
    assert not set(made) & set(computes(occi))


def test_all_deletes_the_collection_and_says_how_many(occi: RunOcci) -> None:
    create_computes(occi, 3)
    count = len(computes(occi))
    done = occi("delete", "/compute/", "--all", "-o", "json")
    assert done.exit_code == 0, done.output
    record = json.loads(done.stdout)[0]
    assert record["location"] == "/compute/"
    assert record["entities"] == count
    assert computes(occi) == []
    plain = occi("delete", "/compute/", "--all", "-o", "plain")
    assert plain.stdout.split("\t")[1].strip() == "deleted 0 entities"


def run_on_terminal(
    server: RunningServer, env: dict[str, str], args: list[str], answer: bytes
) -> tuple[int, str]:
    """Run ``occi`` with a terminal as its standard input, answer its question."""
    controller, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OCCI_")}
    environment.update({k: v for k, v in env.items() if v is not None})
    environment["OCCI_ENDPOINT"] = server.url
    process = subprocess.Popen(
        [str(OCCI_EXECUTABLE), *args],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )
    os.close(terminal)
    try:
        time.sleep(0.5)  # the answer waits in the terminal until the prompt reads it
        os.write(controller, answer)
        _, errors = process.communicate(timeout=60)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, errors.decode()


def test_on_a_terminal_all_asks_first(
    occi: RunOcci, server: RunningServer, clean_env: dict[str, str]
) -> None:
    made = create_computes(occi, 2)
    count = len(computes(occi))
    status, errors = run_on_terminal(server, clean_env, ["delete", "/compute/", "--all"], b"n\n")
    assert status != 0
    assert f"Delete {count} in /compute/?" in errors, errors
    assert set(made) <= set(computes(occi))
    status, errors = run_on_terminal(server, clean_env, ["delete", "/compute/", "--all"], b"y\n")
    assert status == 0, errors
    assert computes(occi) == []


def test_list_filter_names_a_category_as_os_does(occi: RunOcci) -> None:
    """``--filter`` takes what ``--os`` takes: a term, a title, or a unique part of either."""
    debian = occi("create", "compute", "--os", "debian", "--size", "small").stdout.strip()
    cirros = occi("create", "compute", "--os", "cirros", "--size", "medium").stdout.strip()
    try:
        for spec in ("debian-12", "debian", "Debian 12 (bookworm)", "bookworm", "DEBIAN"):
            listed = occi("list", "compute", "--filter", spec)
            assert listed.exit_code == 0, (spec, listed.output)
            assert debian in listed.stdout and cirros not in listed.stdout, spec
        # A resource template by its title; the exact title wins over longer ones.
        listed = occi("list", "compute", "--filter", "Medium instance").stdout
        assert cirros in listed and debian not in listed
        ambiguous = occi("list", "compute", "--filter", "ubuntu")
        assert ambiguous.exit_code == 2
        assert "'ubuntu' matches several kinds or mixins: ubuntu-24_04" in ambiguous.stderr
        unknown = occi("list", "compute", "--filter", "windows")
        assert unknown.exit_code == 2
        assert "no kind or mixin matches 'windows'" in unknown.stderr
    finally:
        occi("delete", debian, cirros)
