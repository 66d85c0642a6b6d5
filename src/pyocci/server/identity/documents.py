"""The JSON documents of the token endpoint, in the shape of Keystone's v3 API.

Clients written for Keystone read a few fields of each; the documents carry
those and the fields around them that Keystone always sends, so that a
client walking a document finds what it expects where it expects it.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any
from urllib.parse import quote

from pyocci.server.auth.issued import IssuedToken

__all__ = [
    "API_VERSION",
    "DOMAIN",
    "V2_VERSION",
    "access_document",
    "error_document",
    "projects_document",
    "tenants_document",
    "token_document",
    "user_id",
    "version_document",
    "versions_document",
]

#: The Keystone API version the endpoint imitates (the v3 of the Ussuri release and
#: after): what clients read from the version document.
API_VERSION = "v3.14"
_UPDATED = "2020-04-07T00:00:00Z"
#: Every user and project is in one domain, as far as clients can tell.
DOMAIN = {"id": "default", "name": "Default"}
#: The role a scoped token grants: acting for the tenant is all there is.
_ROLE = {"id": "member", "name": "member"}

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


#: The v2.0 API, kept for the clients that speak nothing else (jOCCI).
V2_VERSION = "v2.0"


def _version(url: str, version: str = API_VERSION) -> dict[str, Any]:
    v2 = version == V2_VERSION
    return {
        "id": version,
        "status": "deprecated" if v2 else "stable",
        "updated": "2014-04-17T00:00:00Z" if v2 else _UPDATED,
        "links": [{"rel": "self", "href": url + "/"}],
        "media-types": [
            {
                "base": "application/json",
                "type": f"application/vnd.openstack.identity-{'v2.0' if v2 else 'v3'}+json",
            }
        ],
    }


def version_document(url: str, version: str = API_VERSION) -> dict[str, Any]:
    """``GET /v3`` (or ``/v2.0``): the one version, its ``self`` link being where the API is."""
    return {"version": _version(url, version)}


def versions_document(v3_url: str, v2_url: str) -> dict[str, Any]:
    """``GET /`` (answered 300 Multiple Choices, as Keystone does): the versions offered."""
    return {"versions": {"values": [_version(v3_url), _version(v2_url, V2_VERSION)]}}


def _timestamp(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def user_id(user: str) -> str:
    """A Keystone-like user id (32 hex digits) for a user name that may be anything."""
    return hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def token_document(token: IssuedToken, occi_url: str) -> dict[str, Any]:
    """The body of ``POST /v3/auth/tokens`` and ``GET /v3/auth/tokens``: what the token
    says; a scoped token also names its project, its role and, as the catalogue, the
    OCCI endpoint (service type ``occi``)."""
    body: dict[str, Any] = {
        "methods": list(token.methods),
        "user": {"id": user_id(token.user), "name": token.user, "domain": DOMAIN},
        "audit_ids": [token.audit_id],
        "issued_at": _timestamp(token.issued_at),
        "expires_at": _timestamp(token.expires_at),
    }
    if token.project is not None:
        body["project"] = {"id": token.project, "name": token.project, "domain": DOMAIN}
        body["is_domain"] = False
        body["roles"] = [_ROLE]
        body["catalog"] = [
            {
                "id": "occi",
                "type": "occi",
                "name": "occi",
                "endpoints": [
                    {"id": "occi-public", "interface": "public", "region": "", "url": occi_url}
                ],
            }
        ]
    return {"token": body}


def access_document(token: IssuedToken, value: str, occi_url: str) -> dict[str, Any]:
    """The body of v2.0's ``POST /tokens``: the token itself (``access.token.id``), its
    tenant when scoped, its user, and the OCCI endpoint as the service catalogue."""
    issued: dict[str, Any] = {
        "id": value,
        "issued_at": _timestamp(token.issued_at),
        "expires": _timestamp(token.expires_at),
        "audit_ids": [token.audit_id],
    }
    catalog: list[dict[str, Any]] = []
    if token.project is not None:
        issued["tenant"] = _tenant(token.project)
        catalog = [
            {
                "type": "occi",
                "name": "occi",
                "endpoints": [{"region": "", "publicURL": occi_url, "id": "occi-public"}],
                "endpoints_links": [],
            }
        ]
    user = {
        "id": user_id(token.user),
        "name": token.user,
        "username": token.user,
        "roles": [{"name": _ROLE["name"]}] if token.project is not None else [],
        "roles_links": [],
    }
    return {"access": {"token": issued, "user": user, "serviceCatalog": catalog}}


def _tenant(project: str) -> dict[str, Any]:
    return {"id": project, "name": project, "enabled": True, "description": ""}


def tenants_document(token: IssuedToken) -> dict[str, Any]:
    """v2.0's ``GET /tenants``: the tenants the token's holder may scope to."""
    return {"tenants": [_tenant(project) for project in token.projects], "tenants_links": []}


def projects_document(token: IssuedToken, v3_url: str) -> dict[str, Any]:
    """``GET /v3/auth/projects``: the projects the token's holder may scope to."""
    return {
        "projects": [
            {
                "id": project,
                "name": project,
                "domain_id": DOMAIN["id"],
                "enabled": True,
                "is_domain": False,
                "parent_id": DOMAIN["id"],
                "description": "",
                "links": {"self": f"{v3_url}/projects/{quote(project, safe='')}"},
            }
            for project in token.projects
        ],
        "links": {"self": f"{v3_url}/auth/projects", "previous": None, "next": None},
    }


def error_document(status: int, message: str) -> dict[str, Any]:
    """Keystone's error body: ``{"error": {"code", "title", "message"}}``."""
    title = _TITLES.get(status, "Error")
    return {"error": {"code": status, "title": title, "message": message}}
