"""The HTML view through the app, in process: which requests it takes, the pages and their
headers, the forms and how each is refused (forgery, wrong body, bad input), and
authentication. The real browser's tests are in tests/e2e/test_html_view.py."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pyocci.server.app import create_app
from pyocci.server.auth.hashing import hash_password, hash_token
from pyocci.server.auth.users import User, write_users_file
from pyocci.server.config import load_config
from pyocci.server.html.forms import MAX_FIELDS

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
OCCI_JSON = "application/occi+json"
INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE = INFRA + "compute"
STOP = "http://schemas.ogf.org/occi/infrastructure/compute/action#stop"
DEBIAN = "http://schemas.pyocci.org/sim/os_tpl#debian-12"
ORIGIN = "http://testserver"
_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


def client_for(tmp_path: Path, config: str = "") -> TestClient:
    config_file = tmp_path / "server.toml"
    config_file.write_text(config)
    environ = {"PYOCCI_DATABASE_URL": f"sqlite:///{tmp_path / 'occi.db'}"}
    return TestClient(create_app(load_config(config_file, environ=environ)))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path) as client:
        client.headers["accept"] = BROWSER
        yield client


def token_of(client: TestClient, path: str = "/compute/?form=create") -> str:
    """The CSRF token of a page (the page also gives the client its cookie)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = _TOKEN.search(page.text)
    assert found, page.text
    return found.group(1)


def post_form(client: TestClient, path: str, fields: dict[str, str], **headers: str) -> object:
    """A form post as a browser sends it from this server's page."""
    sent = {"origin": ORIGIN, "sec-fetch-site": "same-origin", **headers}
    return client.post(path, data=fields, headers=sent, follow_redirects=False)


def create_compute(client: TestClient, title: str = "web") -> str:
    """A compute created with the create form; its path."""
    fields = {"csrf": token_of(client), "operation": "create", "attribute:occi.core.title": title}
    fields["mixin"] = DEBIAN
    created = post_form(client, "/compute/", fields)
    assert created.status_code == 303, created.text
    return created.headers["location"].removeprefix(ORIGIN)


def api_json(client: TestClient, path: str) -> dict:
    response = client.get(path, headers={"accept": OCCI_JSON})
    assert response.status_code == 200, response.text
    return response.json()


# --- which requests the view takes -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/-/", "/compute/", "/network/", "/network/public"])
def test_a_browser_gets_pages_with_protective_headers(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text.startswith("<!doctype html>")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp
    assert "script-src" not in csp  # default-src 'none' forbids every script
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert "Accept" in page.headers["vary"]
    # The server's OCCI headers are there as for any client.
    assert page.headers["server"].endswith("OCCI/1.2")


def test_the_csrf_cookie_is_set_once_and_kept_from_scripts(client: TestClient) -> None:
    first = client.get("/-/")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("occi-csrf=")
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    assert "set-cookie" not in client.get("/-/").headers


@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "text/*", "text/plain", "text/occi", OCCI_JSON, "text/plain, text/html"],
)
def test_occi_clients_never_get_html(client: TestClient, accept: str | None) -> None:
    headers = {"accept": accept} if accept else {}
    client.headers.pop("accept")
    answer = client.get("/-/", headers=headers)
    assert answer.status_code == 200
    assert not answer.headers["content-type"].startswith("text/html")
    assert "set-cookie" not in answer.headers


def test_a_form_from_an_occi_client_is_still_415(client: TestClient) -> None:
    refused = client.post(
        "/compute/", data={"operation": "create"}, headers={"accept": "text/plain"}
    )
    assert refused.status_code == 415
    assert refused.headers["content-type"].startswith("text/plain")


def test_other_methods_take_the_occi_way(client: TestClient) -> None:
    path = create_compute(client)
    deleted = client.delete(path)
    assert deleted.status_code == 200
    assert not deleted.headers.get("content-type", "").startswith("text/html")


def test_the_view_can_be_turned_off(tmp_path: Path) -> None:
    with client_for(tmp_path, "html_view = false\n") as client:
        answer = client.get("/-/", headers={"accept": BROWSER})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")


def test_head_answers_as_get_without_a_body(client: TestClient) -> None:
    answer = client.head("/-/")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.content == b""


# --- what the pages show ---------------------------------------------------------------------


def test_an_entity_page_escapes_what_clients_wrote(client: TestClient) -> None:
    title = '<script>alert("x")</script><b onmouseover=alert(1)>'
    path = create_compute(client, title)
    page = client.get(path).text
    assert "<script>alert" not in page
    assert "<b onmouseover" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_an_entity_page_offers_the_actions_that_apply_now(client: TestClient) -> None:
    path = create_compute(client)
    page = client.get(path).text
    assert f'value="{STOP}"' in page
    assert 'value="http://schemas.ogf.org/occi/infrastructure/compute/action#start"' not in page
    stopped = post_form(
        client, path, {"csrf": token_of(client), "operation": "action", "action": STOP}
    )
    assert stopped.status_code == 303
    assert api_json(client, path)["attributes"]["occi.compute.state"] == "inactive"
    page = client.get(path).text
    assert f'value="{STOP}"' not in page
    assert 'action#start"' in page


def test_the_query_interface_groups_the_templates(client: TestClient) -> None:
    page = client.get("/-/").text
    os_section = page.split('id="os-templates"', 1)[1].split("</section>", 1)[0]
    assert "Debian 12 (bookworm)" in os_section
    resource_section = page.split('id="resource-templates"', 1)[1].split("</section>", 1)[0]
    assert "compute/template/1.1#small" in resource_section
    filtered = client.get("/-/", params={"category": COMPUTE}).text
    assert "Only the categories asked for are shown" in filtered
    assert "#storage</code>" not in filtered


def test_a_listing_pages_and_filters(client: TestClient) -> None:
    for number in range(3):
        create_compute(client, f"node {number}")
    page = client.get("/compute/", params={"page": "2", "number": "2"}).text
    assert "Page 2 of 2" in page
    assert 'rel="prev"' in page
    filtered = client.get(
        "/compute/", params={"attribute": "occi.core.title", "value": "node 1"}
    ).text
    assert "1 in all that pass the filters" in filtered
    assert ">node 1</a>" in filtered and ">node 2</a>" not in filtered
    by_template = client.get("/compute/", params={"category": DEBIAN}).text
    assert "3 in all that pass the filters" in by_template


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "says"),
    [
        ("/compute/", {"page": "0", "number": "5"}, 400, "whole numbers from 1"),
        ("/compute/", {"page": "1"}, 400, "paging needs both"),
        ("/compute/", {"category": "http://example.org#nothing"}, 400, "no such kind or mixin"),
        (
            "/compute/",
            {"number": "1", "page": "1", "attribute": "occi.compute.cores", "value": "x"},
            200,
            "",
        ),
        ("/storagelink/", {"form": "create"}, 404, "has no create form"),
        ("/compute/nobody", {}, 404, "no entity at /compute/nobody"),
        ("/nowhere/", {}, 404, "nothing lives at /nowhere/"),
        ("/-/", {"category": "nohash"}, 400, "not a category identifier"),
    ],
)
def test_bad_requests_get_an_error_page_that_says_what_to_fix(
    client: TestClient, path: str, params: dict, status: int, says: str
) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert says in answer.text
    if status != 200:
        assert 'role="alert"' in answer.text


def test_a_create_missing_a_required_attribute_is_400(client: TestClient) -> None:
    fields = {"csrf": token_of(client, "/storage/?form=create"), "operation": "create"}
    refused = post_form(client, "/storage/", fields)
    assert refused.status_code == 400
    assert "occi.storage.size" in refused.text
    assert 'href="/storage/"' in refused.text  # the way back to the form's page


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"operation": "dance"}, 400, "got operation=&#39;dance&#39;"),
        ({"operation": "action"}, 400, "the form has no action"),
        ({"operation": "action", "action": INFRA + "nothing"}, 400, "unknown action"),
        ({"operation": "unlink", "link": "/storagelink/other"}, 404, "has no link"),
        ({"operation": "link", "kind": INFRA + "storagelink"}, 400, "the form has no target"),
        ({"operation": "link", "kind": "nothing", "target": "/x"}, 400, "no kind of link"),
        (
            {"operation": "action", "action": STOP, "attribute:method": "gently"},
            400,
            "method must be one of",
        ),
    ],
)
def test_a_bad_form_on_an_entity_is_refused_with_a_message(
    client: TestClient, fields: dict[str, str], status: int, says: str
) -> None:
    path = create_compute(client)
    refused = post_form(client, path, {"csrf": token_of(client), **fields})
    assert refused.status_code == status, refused.text
    assert says in refused.text


def test_only_forms_are_read(client: TestClient) -> None:
    token = token_of(client)
    refused = client.post(
        "/compute/",
        files={"operation": (None, "create"), "csrf": (None, token)},
        headers={"origin": ORIGIN},
    )
    assert refused.status_code == 415
    assert "reads forms" in refused.text


def test_a_form_that_is_not_utf8_or_too_long_is_400(client: TestClient) -> None:
    token_of(client)
    headers = {"content-type": "application/x-www-form-urlencoded", "origin": ORIGIN}
    bad = client.post("/compute/", content=b"operation=cr%FFeate\xff", headers=headers)
    assert bad.status_code == 400
    assert "not UTF-8" in bad.text
    many = "&".join(f"f{n}=x" for n in range(MAX_FIELDS + 1))
    long = client.post("/compute/", content=many.encode(), headers=headers)
    assert long.status_code == 400
    assert f"more than {MAX_FIELDS} fields" in long.text


# --- forgery ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"sec-fetch-site": "cross-site"}, "not this server&#39;s"),
        ({"sec-fetch-site": "same-site"}, "not this server&#39;s"),
        ({"origin": "http://evil.example"}, "sent from http://evil.example"),
        ({"origin": "null"}, "sent from null"),
        ({"origin": "http://testserver:8080"}, "sent from http://testserver:8080"),
    ],
)
def test_a_form_from_elsewhere_is_refused(
    client: TestClient, headers: dict[str, str], says: str
) -> None:
    path = create_compute(client)
    fields = {"csrf": token_of(client), "operation": "delete"}
    refused = post_form(client, path, fields, **headers)
    assert refused.status_code == 403
    assert says in refused.text
    assert client.get(path, headers={"accept": OCCI_JSON}).status_code == 200


def test_a_form_without_the_right_token_is_refused(client: TestClient) -> None:
    path = create_compute(client)
    for fields in ({"operation": "delete"}, {"operation": "delete", "csrf": "guessed"}):
        refused = post_form(client, path, fields)
        assert refused.status_code == 403
        assert "reload the page" in refused.text
    token = token_of(client)
    client.cookies.clear()
    refused = post_form(client, path, {"operation": "delete", "csrf": token})
    assert refused.status_code == 403
    assert client.get(path, headers={"accept": OCCI_JSON}).status_code == 200


def test_a_form_without_origin_headers_needs_only_the_token(client: TestClient) -> None:
    """Browsers that send neither Sec-Fetch-Site nor Origin still have the token."""
    path = create_compute(client)
    deleted = client.post(
        path,
        data={"csrf": token_of(client), "operation": "delete"},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert deleted.headers["location"] == ORIGIN + "/compute/"
    assert client.get(path, headers={"accept": OCCI_JSON}).status_code == 404


# --- authentication --------------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def basic_client(tmp_path: Path) -> Iterator[TestClient]:
    users = tmp_path / "users.toml"
    write_users_file(
        users,
        {
            "alice": User("alice", "physics", password_hash=hash_password("alice-pw")),
            "bob": User("bob", "chemistry", password_hash=hash_password("bob-pw")),
        },
    )
    config = f'[auth]\nmethod = "basic"\nusers_file = "{users}"\nrealm = "lab"\n'
    with client_for(tmp_path, config) as client:
        client.headers["accept"] = BROWSER
        yield client


def test_a_browser_is_asked_for_a_password(basic_client: TestClient) -> None:
    for path in ("/", "/-/", "/compute/"):
        asked = basic_client.get(path)
        assert asked.status_code == 401
        assert asked.headers["www-authenticate"] == 'Basic realm="lab"'
        assert asked.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>Unauthorized</h1>" in asked.text
    refused = basic_client.post("/compute/", data={"operation": "create"})
    assert refused.status_code == 401


def test_a_token_for_one_tenant_does_not_work_for_another(basic_client: TestClient) -> None:
    alice = {"authorization": basic("alice", "alice-pw")}
    bob = {"authorization": basic("bob", "bob-pw")}
    page = basic_client.get("/compute/?form=create", headers=alice)
    assert "Acting for <strong>physics</strong>" in page.text
    alices_token = _TOKEN.search(page.text).group(1)
    fields = {"csrf": alices_token, "operation": "create"}
    refused = post_form(basic_client, "/compute/", fields, **bob)
    assert refused.status_code == 403
    created = post_form(basic_client, "/compute/", fields, **alice)
    assert created.status_code == 303


def test_a_bearer_token_opens_the_pages_where_tokens_are_configured(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    write_users_file(users, {"svc": User("svc", "astro", token_hash=hash_token("t0ken-t0ken"))})
    config = f'[auth]\nmethod = "token"\nusers_file = "{users}"\n'
    with client_for(tmp_path, config) as client:
        anonymous = client.get("/-/", headers={"accept": BROWSER})
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        page = client.get("/-/", headers={"accept": BROWSER, "authorization": "Bearer t0ken-t0ken"})
    assert page.status_code == 200
    assert "Acting for <strong>astro</strong>" in page.text


def test_a_mixin_collection_lists_its_members(client: TestClient) -> None:
    create_compute(client, "on debian")
    page = client.get("/mixin/os_tpl/debian-12/")
    assert page.status_code == 200
    assert ">on debian</a>" in page.text
    assert "Create a" not in page.text  # entities are created in their kind's collection


def test_an_occi_11_server_has_the_view_too(tmp_path: Path) -> None:
    with client_for(tmp_path, 'occi_version = "1.1"\n') as client:
        page = client.get("/-/", headers={"accept": BROWSER})
        plain = client.get("/-/", headers={"accept": "*/*"})
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "OCCI 1.1" in page.text
    assert plain.headers["content-type"].startswith("text/plain")
