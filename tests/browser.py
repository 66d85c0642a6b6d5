"""A real browser for the HTML view's tests: Debian's chromium, driven by Debian's
chromium-driver through Selenium (PyPI). Nothing is downloaded but Debian packages.

`find_or_install` finds ``chromium`` and ``chromedriver``, installing the
Debian packages with apt-get when they are missing and the tests run as root
(a fresh machine has no package lists yet: on a failed install the lists are
fetched and the install tried again). Tests that need the browser skip,
saying why, only when it cannot be installed (not root, no apt-get), or when
``PYOCCI_SKIP_BROWSER=1``.

`start_browser` starts one headless chromium (a session's tests share it);
`screenshot` keeps a full-page PNG of what it shows in the artefacts
directory, ``test-artifacts/`` at the top of the repository (ignored by
git) unless ``PYOCCI_TEST_ARTIFACTS`` names another.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SKIP_VARIABLE = "PYOCCI_SKIP_BROWSER"
ARTIFACTS_VARIABLE = "PYOCCI_TEST_ARTIFACTS"
PACKAGES = ("chromium", "chromium-driver")
_INSTALL_TIMEOUT = 900
REPOSITORY = Path(__file__).resolve().parents[1]


class BrowserUnavailableError(RuntimeError):
    """chromium or chromium-driver is missing and could not be installed."""


@dataclass(frozen=True)
class Chromium:
    """Where the browser and its driver are."""

    browser: Path
    driver: Path


def artifacts_dir() -> Path:
    """Where the tests keep what they leave for people to look at (screenshots)."""
    configured = os.environ.get(ARTIFACTS_VARIABLE)
    return Path(configured) if configured else REPOSITORY / "test-artifacts"


def _found() -> Chromium | None:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser and driver:
        return Chromium(Path(browser), Path(driver))
    return None


def find_or_install() -> Chromium:
    """chromium and chromedriver, installed first when missing; skips the calling test
    when they cannot be."""
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: the browser tests are skipped")
    found = _found()
    if found is not None:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(
            "chromium and chromium-driver are not installed, and installing them needs "
            "apt-get as root (apt-get install chromium chromium-driver)"
        )
    lock = Path(os.environ.get("TMPDIR", "/tmp")) / "pyocci-tests-chromium.lock"
    with _locked(lock):
        if _found() is None:
            _install()
    found = _found()
    if found is None:
        raise BrowserUnavailableError("apt-get installed chromium but it is not on PATH")
    return found


def _install() -> None:
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]

    def install() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            env=environment,
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT,
            check=False,
        )

    if install().returncode == 0:
        return
    subprocess.run(
        ["apt-get", "update", "-q"],
        env=environment,
        capture_output=True,
        timeout=_INSTALL_TIMEOUT,
        check=False,
    )
    result = install()
    if result.returncode != 0:
        failure = (result.stderr or result.stdout)[-2000:]
        raise BrowserUnavailableError(f"apt-get install {' '.join(PACKAGES)} failed: {failure}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_browser(chromium: Chromium, log_dir: Path):  # -> selenium WebDriver
    """A headless chromium driven through chromedriver (both Debian's: Selenium is told
    where they are, so it never looks for a browser or driver to download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(chromium.browser)
    for argument in (
        "--headless=new",
        # The tests run as root, where chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--lang=en-US",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-sync",
        "--disable-component-update",
        "--disable-default-apps",
    ):
        options.add_argument(argument)
    service = Service(
        executable_path=str(chromium.driver), log_output=str(log_dir / "chromedriver.log")
    )
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    return driver


def screenshot(driver, name: str) -> Path:
    """A PNG of the whole page the browser shows (not only the window), kept as
    ``<artefacts>/html-view/<name>.png``; its path."""
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    directory = artifacts_dir() / "html-view"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path
