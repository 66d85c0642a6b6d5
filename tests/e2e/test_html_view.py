"""The HTML view in a real browser: Debian's chromium, driven by Selenium, against real
``occi-server`` processes (the sim backend).

A person browses the query interface and the collections, creates a compute
from the template pickers, stops it, links storage and a network to it and
unlinks them, and deletes it after the confirmation page; every step is
checked both on the page and through the OCCI API. A form posted from
another origin's page is refused. Under basic authentication the browser
signs in as a browser does. OCCI clients at the same URLs get exactly what a
server without the HTML view gives them.

Screenshots of the main pages are kept in ``test-artifacts/html-view/``
(see `tests/browser.py`).
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from browser import find_or_install, screenshot, start_browser
from e2e.occiclient import OCCI_JSON, TEXT_OCCI, TEXT_PLAIN, URI_LIST, path_of
from e2e.server import RunningServer, StartServer, free_port

pytestmark = pytest.mark.e2e

#: What chromium sends when it navigates.
BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
DEBIAN = "http://schemas.pyocci.org/sim/os_tpl#debian-12"
SMALL = "http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#small"
#: A title that would run script, or break out of an attribute, were it not escaped.
XSS_TITLE = (
    '<script>document.title="pwned"</script>'
    "<img src=x onerror=\"document.title='pwned'\"> \"quoted\" & 'apostrophe'"
)
USER, PASSWORD, TENANT = "ada", "analytical engine", "physics"
WAIT = 30


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless chromium for the session's browser tests."""
    chromium = find_or_install()
    browser = start_browser(chromium, tmp_path_factory.mktemp("chromium"))
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def server(start_server: StartServer) -> Iterator[RunningServer]:
    """The sim, no authentication, the HTML view on (the default)."""
    with start_server() as running:
        yield running


@pytest.fixture(scope="module")
def api(server: RunningServer) -> Iterator[httpx.Client]:
    """An OCCI client of the server (JSON)."""
    with server.client(headers={"Accept": OCCI_JSON}) as client:
        yield client


def page_of(driver: Any, server: RunningServer, path: str) -> None:
    """Open a page of the server in the browser."""
    driver.get(server.url + path)


def submit(driver: Any, button: Any) -> None:
    """Press a form's button and wait for the page it leads to."""
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element("tag name", "html")
    button.click()
    WebDriverWait(driver, WAIT).until(lambda _: replaced(old))


def replaced(element: Any) -> bool:
    """Whether `element`'s page has been replaced by another.

    Selenium's ``staleness_of`` knows one way of saying so; Chromium, asked in the middle
    of the navigation, sometimes answers with an inspector error instead."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def main_text(driver: Any) -> str:
    return driver.find_element("tag name", "main").text


def state_shown(driver: Any) -> str:
    return driver.find_element("id", "state").text


def button(driver: Any, text: str) -> Any:
    """The button whose visible text is `text`."""
    found = [b for b in driver.find_elements("tag name", "button") if b.text.strip() == text]
    assert found, f"no button {text!r} on {driver.current_url}: {main_text(driver)}"
    return found[0]


def choose(driver: Any, select_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", select_id)).select_by_value(value)


def current_path(driver: Any) -> str:
    """The path of the page the browser shows."""
    return path_of(driver.current_url)


def entity_json(api: httpx.Client, path: str) -> dict[str, Any]:
    response = api.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def create_compute_in_browser(driver: Any, server: RunningServer, title: str) -> str:
    """Fill in the create form; the path of the compute's page it leads to."""
    page_of(driver, server, "/compute/?form=create")
    driver.find_element("id", "new-title").send_keys(title)
    choose(driver, "new-os_tpl", DEBIAN)
    choose(driver, "new-resource_tpl", SMALL)
    submit(driver, button(driver, "Create"))
    path = current_path(driver)
    assert path.startswith("/compute/") and path != "/compute/", driver.current_url
    return path


# --- browsing --------------------------------------------------------------------------------


def test_the_query_interface_shows_kinds_templates_and_actions(
    driver: Any, server: RunningServer
) -> None:
    page_of(driver, server, "/-/")
    assert driver.title == "Query interface · pyocci"
    headings = [h.text for h in driver.find_elements("tag name", "h2")]
    for heading in (
        "Kinds",
        "Operating system templates (os_tpl)",
        "Resource templates (resource_tpl)",
        "Actions",
    ):
        assert heading in headings
    text = main_text(driver)
    assert "Debian 12 (bookworm)" in text
    assert "occi.compute.cores = 1" in text  # the small template's size
    assert "http://schemas.ogf.org/occi/infrastructure/compute/action#stop" in text
    # The kind's attributes are folded away until asked for.
    details = driver.find_element("xpath", "//summary[starts-with(., 'Attributes of compute')]")
    details.click()
    assert "occi.compute.hostname" in main_text(driver)
    screenshot(driver, "query-interface")


def test_the_navigation_and_landmarks_are_there(driver: Any, server: RunningServer) -> None:
    page_of(driver, server, "/")
    assert driver.find_element("tag name", "html").get_attribute("lang") == "en"
    assert driver.find_elements("css selector", "nav[aria-label='Main']")
    assert len(driver.find_elements("tag name", "main")) == 1
    assert driver.find_element("tag name", "h1").text == "All entities"
    screenshot(driver, "home")
    nav = driver.find_element("css selector", "nav[aria-label='Main']")
    nav.find_element("link text", "Compute").click()
    assert driver.find_element("tag name", "h1").text == "Compute Resource"
    current = driver.find_element("css selector", "a[aria-current='page']")
    assert current.text == "Compute"
    # Every input has a label.
    for control in driver.find_elements("css selector", "select, input:not([type=hidden])"):
        control_id = control.get_attribute("id")
        assert driver.find_elements("css selector", f"label[for='{control_id}']"), control_id


# --- a compute's life ------------------------------------------------------------------------


def test_a_compute_is_created_stopped_and_deleted_in_the_browser(
    driver: Any, server: RunningServer, api: httpx.Client
) -> None:
    page_of(driver, server, "/compute/?form=create")
    screenshot(driver, "create-compute")
    path = create_compute_in_browser(driver, server, "analysis node")

    # The page shows the compute as the API does.
    assert driver.find_element("tag name", "h1").text == "analysis node"
    assert state_shown(driver) == "active"
    document = entity_json(api, path)
    assert document["attributes"]["occi.core.title"] == "analysis node"
    assert set(document["mixins"]) >= {DEBIAN, SMALL}
    assert document["attributes"]["occi.compute.cores"] == 1
    assert "Debian 12 (bookworm)" in main_text(driver)
    assert [b.text for b in driver.find_elements("css selector", "#actions ~ form button")]
    screenshot(driver, "compute-active")

    # Only the actions that apply now are offered: stop, not start.
    assert button(driver, "Stop")
    assert not [b for b in driver.find_elements("tag name", "button") if b.text == "Start"]
    stop_form = button(driver, "Stop").find_element("xpath", "./ancestor::form")
    method = stop_form.find_element("css selector", "select[name='attribute:method']")
    choose(driver, method.get_attribute("id"), "graceful")
    submit(driver, button(driver, "Stop"))
    assert driver.current_url == server.url + path
    assert state_shown(driver) == "inactive"
    assert entity_json(api, path)["attributes"]["occi.compute.state"] == "inactive"
    assert button(driver, "Start")
    screenshot(driver, "compute-stopped")

    # Deleting asks first; cancelling keeps the compute.
    driver.find_element("partial link text", "Delete analysis node").click()
    assert driver.find_element("tag name", "h1").text == "Delete analysis node?"
    screenshot(driver, "delete-confirmation")
    driver.find_element("link text", "Cancel").click()
    assert api.get(path).status_code == 200
    driver.find_element("partial link text", "Delete analysis node").click()
    submit(driver, button(driver, "Delete"))
    assert driver.current_url == server.url + "/compute/"
    assert path not in driver.page_source
    assert api.get(path).status_code == 404
    screenshot(driver, "after-delete")


def test_storage_and_networks_are_linked_and_unlinked(
    driver: Any, server: RunningServer, api: httpx.Client
) -> None:
    page_of(driver, server, "/storage/?form=create")
    driver.find_element("id", "new-title").send_keys("scratch volume")
    driver.find_element("id", "new-attribute-occi-storage-size").send_keys("5")
    submit(driver, button(driver, "Create"))
    storage = current_path(driver)
    assert driver.find_element("tag name", "h1").text == "scratch volume"
    assert entity_json(api, storage)["attributes"]["occi.storage.size"] == 5

    compute = create_compute_in_browser(driver, server, "linked node")
    choose(driver, "link-1-target", storage)
    driver.find_element("id", "link-1-attribute-occi-storagelink-mountpoint").send_keys("/scratch")
    submit(driver, driver.find_element("css selector", "form[aria-labelledby='link-1'] button"))
    choose(driver, "link-2-target", "/network/public")
    submit(driver, driver.find_element("css selector", "form[aria-labelledby='link-2'] button"))
    links_table = driver.find_element("css selector", "#links ~ table").text
    assert storage in links_table
    assert "/network/public" in links_table
    links = entity_json(api, compute)["links"]
    targets = {path_of(link["target"]["location"]) for link in links}
    assert {storage, "/network/public"} <= targets
    storagelink = next(link for link in links if path_of(link["target"]["location"]) == storage)
    assert storagelink["attributes"]["occi.storagelink.mountpoint"] == "/scratch"
    screenshot(driver, "compute-linked")

    unlink = driver.find_element(
        "xpath", f"//tr[td[contains(., '{storage}')]]//button[starts-with(., 'Unlink')]"
    )
    submit(driver, unlink)
    links_table = driver.find_element("css selector", "#links ~ table").text
    assert storage not in links_table
    assert "/network/public" in links_table
    remaining = entity_json(api, compute)["links"]
    assert storage not in {path_of(link["target"]["location"]) for link in remaining}


def test_listings_page_and_filter(driver: Any, server: RunningServer, api: httpx.Client) -> None:
    for number in range(3):
        create_compute_in_browser(driver, server, f"batch {number}")
    page_of(driver, server, "/compute/?page=1&number=2")
    rows = driver.find_elements("css selector", "main table tbody tr")
    assert len(rows) == 2
    total = len(api.get("/compute/", headers={"Accept": URI_LIST}).text.split())
    assert f"{total} in all" in main_text(driver)
    pages = driver.find_element("css selector", "nav[aria-label='Pages']")
    assert f"Page 1 of {-(-total // 2)}" in pages.text
    screenshot(driver, "compute-listing")
    pages.find_element("link text", "Next page").click()
    assert "Page 2" in driver.find_element("css selector", "nav[aria-label='Pages']").text

    page_of(driver, server, "/compute/")
    choose(driver, "filter-attribute", "occi.core.title")
    driver.find_element("id", "filter-value").send_keys("batch 1")
    submit(driver, button(driver, "Show"))
    rows = driver.find_elements("css selector", "main table tbody tr")
    assert [row.find_element("tag name", "a").text for row in rows] == ["batch 1"]
    assert "1 in all that pass the filters" in main_text(driver)


# --- safety ----------------------------------------------------------------------------------


def test_a_title_is_shown_as_text_never_run(
    driver: Any, server: RunningServer, api: httpx.Client
) -> None:
    path = create_compute_in_browser(driver, server, XSS_TITLE)
    assert driver.find_element("tag name", "h1").text == XSS_TITLE
    assert driver.title == f"{XSS_TITLE} · pyocci"
    main = driver.find_element("tag name", "main")
    assert not main.find_elements("tag name", "script")
    assert not main.find_elements("tag name", "img")
    assert entity_json(api, path)["attributes"]["occi.core.title"] == XSS_TITLE
    page_of(driver, server, "/compute/")
    assert "pwned" not in driver.title
    assert XSS_TITLE in main_text(driver)
    screenshot(driver, "escaped-title")


class _AttackerPage(http.server.BaseHTTPRequestHandler):
    """Another origin's page whose script posts a delete form to the OCCI server."""

    target = ""

    def do_GET(self) -> None:
        body = (
            "<!doctype html><title>attacker</title>"
            f'<form id="f" method="post" action="{self.target}">'
            '<input type="hidden" name="operation" value="delete">'
            '<input type="hidden" name="csrf" value="guessed"></form>'
            "<script>document.getElementById('f').submit()</script>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_form_posted_from_another_origin_is_refused(
    driver: Any, server: RunningServer, api: httpx.Client
) -> None:
    path = create_compute_in_browser(driver, server, "target of forgery")
    handler = type("Attacker", (_AttackerPage,), {"target": server.url + path})
    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=attacker.serve_forever, daemon=True)
    thread.start()
    try:
        driver.get(f"http://127.0.0.1:{attacker.server_address[1]}/")
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, WAIT).until(lambda d: d.current_url.startswith(server.url))
        assert driver.find_element("tag name", "h1").text == "Forbidden"
        assert "not this server's" in main_text(driver)
        screenshot(driver, "forgery-refused")
    finally:
        attacker.shutdown()
        attacker.server_close()
    assert api.get(path).status_code == 200


# --- authentication --------------------------------------------------------------------------


def add_user(workdir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYOCCI_")}
    env["XDG_CONFIG_HOME"] = str(workdir / "config")
    command = [sys.executable, "-m", "pyocci.server.cli", "user", "add", USER]
    command += ["--tenant", TENANT, "--password-stdin", "--users-file", str(workdir / "users.toml")]
    result = subprocess.run(
        command, input=PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def basic_server(
    start_server: StartServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("html-basic")
    add_user(workdir)
    config = '[auth]\nmethod = "basic"\nusers_file = "users.toml"\nrealm = "pyocci-html"\n'
    with start_server(workdir=workdir, config=config) as running:
        yield running


def test_a_browser_without_credentials_is_asked_for_them(basic_server: RunningServer) -> None:
    response = httpx.get(basic_server.url + "/compute/", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="pyocci-html"'
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Unauthorized</h1>" in response.text


def test_a_signed_in_browser_creates_for_its_tenant(
    driver: Any, basic_server: RunningServer
) -> None:
    host = basic_server.url.split("://", 1)[1]
    driver.get(f"http://{USER}:{PASSWORD.replace(' ', '%20')}@{host}/compute/?form=create")
    assert driver.find_element("tag name", "h1").text == "New compute"
    assert f"Acting for {TENANT}" in driver.find_element("tag name", "header").text
    driver.find_element("id", "new-title").send_keys("signed in")
    submit(driver, button(driver, "Create"))
    assert driver.find_element("tag name", "h1").text == "signed in"
    path = current_path(driver)
    with basic_server.client(auth=(USER, PASSWORD), headers={"Accept": OCCI_JSON}) as client:
        assert client.get(path).json()["attributes"]["occi.core.title"] == "signed in"
    screenshot(driver, "signed-in")


# --- OCCI clients ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_server(start_server: StartServer, server: RunningServer) -> Iterator[RunningServer]:
    """A server without the HTML view on the same database: what clients got before it."""
    workdir = server.log.parent
    with start_server(workdir=workdir, config="html_view = false\n") as running:
        yield running


#: Accept headers of OCCI clients: none, curl's, rOCCI-cli's, jOCCI's and scripts'.
CLIENT_ACCEPTS = [
    None,
    "*/*",
    "text/*",
    TEXT_PLAIN,
    TEXT_OCCI,
    "text/plain,text/occi;q=0.2",
    OCCI_JSON,
    "application/json",
    URI_LIST,
    "application/occi+json, text/html;q=0.5",
    "text/plain, text/html",
]


@pytest.mark.parametrize("accept", CLIENT_ACCEPTS)
def test_occi_clients_see_what_they_saw_before(
    server: RunningServer, plain_server: RunningServer, api: httpx.Client, accept: str | None
) -> None:
    created = api.post(
        "/compute/",
        json={
            "kind": "http://schemas.ogf.org/occi/infrastructure#compute",
            "attributes": {"occi.core.title": "for clients"},
        },
        headers={"Content-Type": OCCI_JSON},
    )
    assert created.status_code == 201
    path = path_of(created.headers["location"])
    headers = {"Accept": accept} if accept is not None else {}
    for target in ("/-/", "/compute/", path, "/nowhere/"):
        with_view = httpx.get(server.url + target, headers=headers)
        without = httpx.get(plain_server.url + target, headers=headers)
        assert with_view.status_code == without.status_code, target
        assert with_view.headers["content-type"] == without.headers["content-type"], target
        assert "text/html" not in with_view.headers["content-type"]
        assert with_view.content.replace(server.url.encode(), b"") == without.content.replace(
            plain_server.url.encode(), b""
        ), target
        for name in ("set-cookie", "content-security-policy"):
            assert name not in with_view.headers
        for name in ("server", "accept", "x-occi-error"):
            assert with_view.headers.get(name) == without.headers.get(name)
    # A form is still no OCCI document for them.
    posted = httpx.post(server.url + "/compute/", data={"operation": "create"}, headers=headers)
    assert posted.status_code == 415


def test_a_server_without_the_view_answers_browsers_as_before(plain_server: RunningServer) -> None:
    response = httpx.get(plain_server.url + "/-/", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
