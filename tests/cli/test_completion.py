"""Shell completion from the server: kinds, templates, actions and entity locations, by the
real ``occi`` executable as bash, zsh and fish call it; bounded, cached, never in the way."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete

from cli.conftest import OCCI_EXECUTABLE, RunOcci, RunProcess
from e2e.server import RunningServer, occi_server
from pyocci.cli import completion
from pyocci.cli.main import cli


def complete(run: RunProcess, line: str, *, endpoint: str | None = None, cache: Path) -> list[str]:
    """What ``occi`` offers bash for the last word of `line` (empty after a space)."""
    words = line.split()
    current = len(words) if line.endswith(" ") else len(words) - 1
    env = {
        "_OCCI_COMPLETE": "bash_complete",
        "COMP_WORDS": line,
        "COMP_CWORD": str(current),
        "XDG_CACHE_HOME": str(cache),
    }
    kwargs = {"endpoint": endpoint} if endpoint is not None else {}
    result = run(env=env, **kwargs)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # nothing but candidates, ever
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_kinds_mixins_and_templates_come_from_the_server(
    occi_process: RunProcess, cache: Path
) -> None:
    kinds = complete(occi_process, "occi create ", cache=cache)
    assert {"compute", "storage", "network"} <= set(kinds)
    assert "entity" not in kinds  # the abstract core kinds are nobody's to create
    assert "ubuntu-24_04" not in kinds
    listed = complete(occi_process, "occi list ", cache=cache)
    assert {"compute", "os_tpl", "ubuntu-24_04", "small"} <= set(listed)
    assert complete(occi_process, "occi create compute --os ubu", cache=cache) == [
        "ubuntu-24_04",
        "ubuntu-22_04",
    ]
    assert complete(occi_process, "occi resize /compute/x --size mem_s", cache=cache) == [
        "mem_small"
    ]
    assert "debian-12" in complete(occi_process, "occi list compute --filter de", cache=cache)
    # Two mixins share the term user_data: each is offered by the identifier that names it.
    mixins = complete(occi_process, "occi create compute --mixin ", cache=cache)
    assert "user_data" not in mixins
    assert "http://schemas.ogf.org/occi/infrastructure/compute#user_data" in mixins


def test_entity_locations_and_their_actions(
    occi: RunOcci, occi_process: RunProcess, cache: Path
) -> None:
    made = occi("create", "compute", "--os", "cirros", "--size", "small").stdout.strip()
    try:
        collections = complete(occi_process, "occi describe ", cache=cache)
        assert {"/compute/", "/storage/", "/network/"} <= set(collections)
        offered = complete(occi_process, "occi describe /compute/", cache=cache)
        assert made in offered
        assert all(location.startswith("/compute/") for location in offered)
        assert "/network/public" in complete(occi_process, "occi link x /network/p", cache=cache)
        actions = complete(occi_process, f"occi trigger {made} ", cache=cache)
        assert {"start", "stop", "restart", "suspend", "save"} <= set(actions)
        assert complete(occi_process, f"occi trigger {made} st", cache=cache) == [
            "start",
            "stop",
        ]
    finally:
        occi("delete", made)


def test_zsh_and_fish_get_the_titles_too(occi_process: RunProcess, cache: Path) -> None:
    env = {
        "_OCCI_COMPLETE": "zsh_complete",
        "COMP_WORDS": "occi create compute --size sm",
        "COMP_CWORD": "4",
        "XDG_CACHE_HOME": str(cache),
    }
    lines = occi_process(env=env).stdout.splitlines()
    assert lines[:3] == ["plain", "small", "Small instance"]
    env.update(_OCCI_COMPLETE="fish_complete", COMP_CWORD="sm")
    assert "plain,small\tSmall instance" in occi_process(env=env).stdout.splitlines()


def test_answers_are_cached_briefly(
    occi_process: RunProcess, tmp_path_factory: pytest.TempPathFactory, cache: Path
) -> None:
    with occi_server(tmp_path_factory.mktemp("completed")) as server:
        first = complete(occi_process, "occi list ", endpoint=server.url, cache=cache)
        assert "compute" in first
    # The server is gone: the next TAB answers from the cache...
    again = complete(occi_process, "occi list ", endpoint=server.url, cache=cache)
    assert again == first
    # ...until the answer is older than CACHE_SECONDS.
    (kept,) = (cache / "pyocci" / "completion").glob("*.json")
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    document = json.loads(kept.read_text())
    for entry in document["entries"].values():
        entry["at"] -= completion.CACHE_SECONDS + 1
    kept.write_text(json.dumps(document))
    assert complete(occi_process, "occi list ", endpoint=server.url, cache=cache) == []


def test_the_cache_keeps_no_secret(
    occi_process: RunProcess, server: RunningServer, cache: Path
) -> None:
    env_password = {"OCCI_PASSWORD": "s3cret-pass"}
    result = occi_process(
        env={
            **env_password,
            "_OCCI_COMPLETE": "bash_complete",
            "COMP_WORDS": "occi --user alice list ",
            "COMP_CWORD": "4",
            "XDG_CACHE_HOME": str(cache),
        },
    )
    assert "plain,compute" in result.stdout.splitlines()
    for kept in cache.rglob("*"):
        if kept.is_file():
            assert "s3cret-pass" not in kept.read_text()
            assert "s3cret-pass" not in kept.name


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An endpoint that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        held: list[socket.socket] = []
        stop = threading.Event()

        def accept() -> None:
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(listener.accept()[0])
                except OSError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        finally:
            stop.set()
            thread.join()
            for connection in held:
                connection.close()


def test_a_server_that_does_not_answer_gets_no_candidates(
    occi_process: RunProcess, silent_server: str, cache: Path
) -> None:
    # Each request waits REQUEST_SECONDS at most; the process ends, offering nothing.
    assert complete(occi_process, "occi list ", endpoint=silent_server, cache=cache) == []
    located = complete(occi_process, "occi describe /compute/", endpoint=silent_server, cache=cache)
    assert located == []
    assert not list(cache.rglob("*.json"))  # nothing partial kept


def test_an_unreachable_server_and_bad_options_get_no_candidates(
    occi_process: RunProcess, cache: Path
) -> None:
    assert complete(occi_process, "occi list ", endpoint="http://127.0.0.1:9", cache=cache) == []
    assert complete(occi_process, "occi --site nowhere list ", cache=cache) == []


def test_a_missing_password_is_not_asked_for(
    server: RunningServer, clean_env: dict[str, str], tmp_path: Path
) -> None:
    """On a terminal, occi asks for a missing password; while completing it must not."""
    controller, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OCCI_")}
    environment.update({k: v for k, v in clean_env.items() if v is not None})
    environment.pop("OCCI_NO_PROMPT", None)
    environment.update(
        OCCI_ENDPOINT=server.url,
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        _OCCI_COMPLETE="bash_complete",
        COMP_WORDS="occi --user alice list ",
        COMP_CWORD="4",
    )
    process = subprocess.Popen(
        [str(OCCI_EXECUTABLE)],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )
    os.close(terminal)
    try:
        # A prompt would wait for an answer that never comes (the guard ends the test).
        out, errors = process.communicate(timeout=60)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert b"Password" not in errors
    # Basic without a password cannot authenticate: nothing to offer, and no error shown.
    assert out.strip() == b"" and errors == b""


def test_candidates_are_bounded(
    occi: RunOcci, server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """At most MAX_PER_COLLECTION locations of a collection, MAX_ITEMS in all (in-process,
    with the bounds made small)."""
    made = [occi("create", "storage", "-a", "occi.storage.size=1").stdout.strip() for _ in range(4)]
    assert all(location.startswith("/storage/") for location in made), made
    monkeypatch.setenv("OCCI_ENDPOINT", server.url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(completion, "MAX_PER_COLLECTION", 3)
    try:
        shell = ShellComplete(cli, {}, "occi", "_OCCI_COMPLETE")
        offered = [item.value for item in shell.get_completions(["describe"], "/storage/")]
        entities = [value for value in offered if value != "/storage/"]
        assert len(entities) == 3
        monkeypatch.setattr(completion, "MAX_ITEMS", 5)
        assert len(shell.get_completions(["list"], "")) == 5
    finally:
        occi("delete", *made)
