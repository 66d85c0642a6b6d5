"""Fixtures of the authentication tests: a VOMS server's files, made from the module's
test CA (``pki``, tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pki import Pki
from voms import voms_server


@pytest.fixture(scope="module")
def vomsdir(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a VOMS server's certificate and key, signed by `pki`'s CA."""
    directory = tmp_path_factory.mktemp("voms")
    voms_server(pki, directory)
    return directory
