"""Fixtures of the server tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pyocci.server.auth.basic as basic_module
from pyocci.server.auth.hashing import verify_password


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (``@pytest.mark.anyio``) run on asyncio, which uvicorn uses too."""
    return "asyncio"


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No ``PYOCCI_*`` variable of the developer's shell, and user directories in tmp_path.

    Without this a developer's own ``~/.config/pyocci/server.toml`` or exported
    ``PYOCCI_PORT`` would change what the configuration tests see. Returns the
    configuration directory the code under test uses.
    """
    for name in list(os.environ):
        if name.startswith("PYOCCI_"):
            monkeypatch.delenv(name)
    config_dir = tmp_path / "user-config"
    data_dir = tmp_path / "user-data"
    monkeypatch.setattr("pyocci.server.config.user_config_dir", lambda: config_dir)
    monkeypatch.setattr("pyocci.server.config.user_data_dir", lambda: data_dir)
    monkeypatch.setattr("pyocci.server.cli.user_data_dir", lambda: data_dir)
    return config_dir


class CountingVerify:
    """Counts the (expensive, scrypt) password verifications an authenticator runs,
    calling through to the real one."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, password: str, stored: str) -> bool:
        self.calls += 1
        return verify_password(password, stored)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> CountingVerify:
    """Count the password verifications of HTTP basic authentication."""
    counter = CountingVerify()
    monkeypatch.setattr(basic_module, "verify_password", counter)
    return counter
