"""Fixtures of the authentication tests: a test CA (one per module), and a VOMS server's
files made from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pki import Pki, make_pki
from voms import voms_server


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA with a server and a client certificate (see `tests/pki.py`)."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def vomsdir(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a VOMS server's certificate and key, signed by `pki`'s CA."""
    directory = tmp_path_factory.mktemp("voms")
    voms_server(pki, directory)
    return directory
