"""The token endpoint's documents: the fields Keystone clients read, where they read them."""

from __future__ import annotations

from pyocci.server.auth.issued import IssuedToken
from pyocci.server.identity.documents import (
    access_document,
    error_document,
    projects_document,
    tenants_document,
    token_document,
    user_id,
    version_document,
    versions_document,
)

V3 = "https://occi.example.org/-/identity/v3"
TOKEN = IssuedToken(
    user="carol",
    projects=("vo.alpha.org", "vo/odd name"),
    project=None,
    methods=("oidc",),
    issued_at=1_700_000_000.25,
    expires_at=1_700_003_600.5,
    audit_id="audit",
)


def test_the_version_links_to_the_api() -> None:
    version = version_document(V3)["version"]
    assert version["id"].startswith("v3.") and version["status"] == "stable"
    assert version["links"] == [{"rel": "self", "href": V3 + "/"}]
    v2_url = V3.replace("/v3", "/v2.0")
    values = versions_document(V3, v2_url)["versions"]["values"]
    assert values[0] == version
    assert values[1]["id"] == "v2.0" and values[1]["status"] == "deprecated"
    assert values[1]["links"] == [{"rel": "self", "href": v2_url + "/"}]


def test_an_unscoped_token_names_its_user_only() -> None:
    token = token_document(TOKEN, "https://occi.example.org/")["token"]
    assert token["methods"] == ["oidc"]
    assert token["user"] == {
        "id": user_id("carol"),
        "name": "carol",
        "domain": {"id": "default", "name": "Default"},
    }
    assert token["issued_at"] == "2023-11-14T22:13:20.250000Z"
    assert token["expires_at"] == "2023-11-14T23:13:20.500000Z"
    assert token["audit_ids"] == ["audit"]
    assert "project" not in token and "catalog" not in token


def test_a_scoped_token_names_its_project_and_the_occi_endpoint() -> None:
    scoped = IssuedToken(
        user=TOKEN.user,
        projects=TOKEN.projects,
        project="vo.alpha.org",
        methods=("oidc", "token"),
        issued_at=TOKEN.issued_at,
        expires_at=TOKEN.expires_at,
        audit_id="audit2",
    )
    token = token_document(scoped, "https://occi.example.org/")["token"]
    assert token["project"] == {
        "id": "vo.alpha.org",
        "name": "vo.alpha.org",
        "domain": {"id": "default", "name": "Default"},
    }
    assert token["roles"] == [{"id": "member", "name": "member"}]
    [service] = token["catalog"]
    assert service["type"] == "occi"
    assert service["endpoints"][0]["url"] == "https://occi.example.org/"
    assert service["endpoints"][0]["interface"] == "public"


def test_the_projects_are_listed_with_their_links() -> None:
    document = projects_document(TOKEN, V3)
    assert [project["id"] for project in document["projects"]] == list(TOKEN.projects)
    assert document["projects"][1]["links"]["self"] == V3 + "/projects/vo%2Fodd%20name"
    assert document["links"]["self"] == V3 + "/auth/projects"


def test_errors_are_in_keystones_shape() -> None:
    assert error_document(401, "no") == {
        "error": {"code": 401, "title": "Unauthorized", "message": "no"}
    }
    assert error_document(418, "tea")["error"]["title"] == "Error"


def test_v2_access_carries_the_token_and_its_tenant() -> None:
    access = access_document(TOKEN, "the-token", "https://occi.example.org/")["access"]
    assert access["token"]["id"] == "the-token"
    assert access["token"]["expires"] == "2023-11-14T23:13:20.500000Z"
    assert "tenant" not in access["token"] and access["serviceCatalog"] == []
    assert access["user"]["username"] == "carol" and access["user"]["roles"] == []
    scoped = IssuedToken(
        user="carol",
        projects=("vo.alpha.org",),
        project="vo.alpha.org",
        methods=("mapped",),
        issued_at=0,
        expires_at=60,
        audit_id="a",
    )
    access = access_document(scoped, "t2", "https://occi.example.org/")["access"]
    assert access["token"]["tenant"] == {
        "id": "vo.alpha.org",
        "name": "vo.alpha.org",
        "enabled": True,
        "description": "",
    }
    assert access["serviceCatalog"][0]["endpoints"][0]["publicURL"] == "https://occi.example.org/"
    assert tenants_document(TOKEN)["tenants"][1]["name"] == "vo/odd name"
