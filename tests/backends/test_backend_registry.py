"""The backend registry: backends are entry points, pyocci's own and other distributions'.

The third-party distribution here is a real one as Python finds it: a
``.dist-info`` directory with its entry points and a package beside it on
``sys.path`` (what ``pip install`` leaves), served by a real ``occi-server``.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import httpx
import pytest

from e2e.server import occi_server
from pyocci.backends.ec2 import Ec2Backend
from pyocci.backends.registry import (
    BackendSetup,
    BackendSetupError,
    build_backend,
    installed,
)
from pyocci.backends.sim import SimBackend
from pyocci.model import standard_model

MODULE = '''
"""A backend of another distribution: the sim under another name."""

from pyocci.backends.sim.backend import SimBackend, build as build_sim


class ThirdCloud(SimBackend):
    name = "thirdcloud"


def build(setup):
    sim = build_sim(setup)
    return ThirdCloud(model=setup.model, database=setup.database, settings=sim.settings)
'''


def install_distribution(root: Path, name: str, entry_points: str, files: dict[str, str]) -> Path:
    """Lay out a distribution as pip installs it, under `root`; return `root`."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


@pytest.fixture
def thirdcloud(tmp_path, monkeypatch) -> Path:
    root = install_distribution(
        tmp_path / "site",
        "thirdcloud",
        """
        [pyocci.backends]
        thirdcloud = thirdcloud_occi:build
        needy = thirdcloud_occi.needy:build
        """,
        {
            "thirdcloud_occi/__init__.py": MODULE,
            "thirdcloud_occi/needy.py": "import thirdcloud_sdk_not_installed\n",
        },
    )
    monkeypatch.syspath_prepend(str(root))
    return root


def setup(**settings) -> BackendSetup:
    return BackendSetup(model=standard_model(), database=None, settings=settings)


def test_pyoccis_own_backends_are_installed_entry_points():
    assert {"sim", "ec2", "openstack"} <= set(installed())
    assert isinstance(build_backend("sim", setup()), SimBackend)
    assert isinstance(build_backend("ec2", setup(region="eu-west-1")), Ec2Backend)


def test_an_unknown_backend_is_refused_naming_the_installed_ones(thirdcloud):
    with pytest.raises(BackendSetupError) as refused:
        build_backend("opennebulla", setup())
    message = str(refused.value)
    assert "backend 'opennebulla' is not installed" in message
    for name in ("ec2", "openstack", "sim", "thirdcloud"):
        assert name in message


def test_settings_a_backend_refuses_name_the_backend_and_the_key():
    with pytest.raises(BackendSetupError, match=r"the sim backend's settings: .*flavours"):
        build_backend("sim", setup(flavours=3))


def test_a_backend_whose_library_is_missing_says_what_to_install(thirdcloud):
    with pytest.raises(BackendSetupError) as refused:
        build_backend("needy", setup())
    message = str(refused.value)
    assert "the needy backend needs a library that is not installed" in message
    assert "thirdcloud_sdk_not_installed" in message
    assert "install what thirdcloud needs for it" in message


def test_one_name_from_two_distributions_is_refused(thirdcloud, tmp_path, monkeypatch):
    other = install_distribution(
        tmp_path / "other-site",
        "othercloud",
        "[pyocci.backends]\nthirdcloud = thirdcloud_occi:build\n",
        {},
    )
    monkeypatch.syspath_prepend(str(other))
    with pytest.raises(BackendSetupError, match="installed by several distributions"):
        build_backend("thirdcloud", setup())


def test_occi_server_serves_a_backend_of_another_distribution(thirdcloud, tmp_path):
    path = os.pathsep.join([str(thirdcloud), os.environ.get("PYTHONPATH", "")])
    with occi_server(
        tmp_path, config='backend = "thirdcloud"\n', environ={"PYTHONPATH": path}
    ) as server:
        created = httpx.post(
            f"{server.url}/compute/",
            content=(
                'Category: compute; scheme="http://schemas.ogf.org/occi/infrastructure#"; '
                'class="kind"\n'
            ),
            headers={"Content-Type": "text/plain", "User-Agent": "test OCCI/1.2"},
        )
        assert created.status_code == 201, created.text
        log = server.log.read_text()
    assert "with backend 'thirdcloud'" in log
