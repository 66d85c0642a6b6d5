"""Fixtures of the CLI tests: real occi-server processes, and ways to run ``occi``.

``occi(...)`` runs the command in this process through click's runner;
``occi_process(...)`` runs the installed ``occi`` executable. Both keep the
user's own configuration and environment out (``XDG_CONFIG_HOME`` and
``XDG_CACHE_HOME`` point to fresh directories, ``OCCI_*`` variables are cleared).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from e2e.server import RunningServer, occi_server
from pyocci.cli.main import cli

#: Computes take 1 s per transition, so that --wait waits (and a create without it does not).
SIM_CONFIG = """
[backend_settings]
transition_seconds = 1.0
"""

#: The installed ``occi`` command, beside this interpreter.
OCCI_EXECUTABLE = Path(sys.executable).parent / "occi"

RunOcci = Callable[..., Result]
RunProcess = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """An occi-server (simulated cloud) shared by the module."""
    with occi_server(tmp_path_factory.mktemp("occi-server"), config=SIM_CONFIG) as running:
        yield running


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """Environment overrides: an empty configuration directory, no OCCI_* settings."""
    overrides: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("OCCI_")
    }
    overrides["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    # Shell completion keeps answers in the user cache directory.
    overrides["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    overrides["OCCI_NO_PROMPT"] = "1"
    return overrides  # type: ignore[return-value]


@pytest.fixture
def occi(server: RunningServer, clean_env: dict[str, str]) -> RunOcci:
    """``occi("list", "compute")``: run the CLI in-process against `server`."""
    runner = CliRunner()

    def run(
        *args: str,
        endpoint: str | None = server.url,
        env: dict | None = None,
        input: str | None = None,
    ) -> Result:
        environment = {**clean_env, **(env or {})}
        if endpoint is not None:
            environment["OCCI_ENDPOINT"] = endpoint
        return runner.invoke(cli, list(args), env=environment, input=input, catch_exceptions=False)

    return run


@pytest.fixture
def occi_process(server: RunningServer, clean_env: dict[str, str], tmp_path: Path) -> RunProcess:
    """``occi_process("list", "compute")``: run the real ``occi`` executable."""
    assert OCCI_EXECUTABLE.exists(), f"the occi command is not installed at {OCCI_EXECUTABLE}"

    def run(
        *args: str,
        endpoint: str | None = server.url,
        env: dict | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("OCCI_")}
        environment.update({k: v for k, v in clean_env.items() if v is not None})
        environment.update(env or {})
        if endpoint is not None:
            environment["OCCI_ENDPOINT"] = endpoint
        return subprocess.run(
            [str(OCCI_EXECUTABLE), *args],
            capture_output=True,
            text=True,
            env=environment,
            input=input,
            timeout=120,
            cwd=tmp_path,
        )

    return run
