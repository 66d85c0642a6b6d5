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
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from debian import DebianInstallError, installed

SKIP_VARIABLE = "PYOCCI_SKIP_BROWSER"
ARTIFACTS_VARIABLE = "PYOCCI_TEST_ARTIFACTS"
PACKAGES = ("chromium", "chromium-driver")
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
    try:
        return installed(_found, "chromium and chromium-driver", *PACKAGES)
    except DebianInstallError as error:
        raise BrowserUnavailableError(str(error)) from error


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
