"""Another OpenStack site's Glance as an export target: ``glance://<site>/<image name>``.

The site is one the operator named in the sites file (``[export]
glance_sites_file``): its image endpoint and either a token or Keystone
credentials. Tenants name the site and the image, never a credential. The
writer makes the image at the remote Glance (the source's disk format,
container ``bare``), streams the data to it in one chunked
``PUT /v2/images/{id}/file`` (a chunk waits at most, as for an HTTPS
target), and at the end reads the image back: it must be ``active``, of
the size sent, with the MD5 ``checksum`` and the ``os_hash_value`` (SHA-512,
Glance's default) of the bytes sent, which the writer computes as they
pass. The export's URL is then the image's URL at that Glance. A failure,
a cancel or a deletion deletes the image it made there.

The sites file is TOML, a table per site::

    [site-b]
    image_endpoint = "https://glance.site-b.example.org"   # with a token
    token = "..."

    [site-c]                                                # or Keystone
    auth_url = "https://keystone.site-c.example.org/v3"
    username = "exporter"
    password = "..."
    project_name = "exports"
    # user_domain_name = "Default", project_domain_name = "Default", region_name,
    # image_endpoint (else the catalogue's public image endpoint), ca_file

Credentials live in `GlanceSite`, whose repr leaves them out; messages name
the site and its endpoint, never a token or password.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import ssl
import tomllib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from pyocci.server.exports.streaming import StreamingPut, summary
from pyocci.server.exports.targets import ExportFailedError, verification

__all__ = ["GlanceSite", "GlanceSitesError", "GlanceWriter", "read_sites"]

#: What a site's name may be: it is the host part of glance:// URLs.
_SITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TOKEN_KEYS = frozenset({"image_endpoint", "token", "ca_file"})
_KEYSTONE_KEYS = frozenset(
    {
        "auth_url",
        "username",
        "password",
        "project_name",
        "user_domain_name",
        "project_domain_name",
        "region_name",
        "image_endpoint",
        "ca_file",
    }
)
_KEYSTONE_REQUIRED = ("auth_url", "username", "password", "project_name")
#: Glance's answers are read with this timeout; the data PUT's body has no deadline of
#: its own beyond a pause this long between pieces.
_TIMEOUT = httpx.Timeout(60.0, connect=15.0)
#: How often, and how far apart, an abort deletes the half-made image until Glance says
#: it is gone: Glance may still be ending the cut upload, and put the image back.
_DELETE_TRIES = 5
_DELETE_PAUSE = 0.5


class GlanceSitesError(ValueError):
    """The sites file is wrong; the message says where and what is expected."""


@dataclass(frozen=True, slots=True)
class GlanceSite:
    """A remote site's Glance and the credentials to write there (the operator's)."""

    name: str
    image_endpoint: str | None = None
    token: str | None = field(default=None, repr=False)
    auth_url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    project_name: str | None = None
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    region_name: str | None = None
    ca_file: Path | None = None

    @property
    def shown(self) -> str:
        """How messages name the site: its name and where it is."""
        return f"the Glance of site {self.name} ({self.image_endpoint or self.auth_url})"

    def verify(self) -> ssl.SSLContext | bool:
        """TLS verification: the site's CA file beside the system's, else the system's."""
        return verification(self.ca_file)


def read_sites(path: Path) -> dict[str, GlanceSite]:
    """The sites of a sites file by name; GlanceSitesError saying what to fix."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise GlanceSitesError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise GlanceSitesError(f"{path} is not valid TOML: {error}") from None
    if not data:
        raise GlanceSitesError(f"{path} names no site; add a table [site-name] per site")
    return {name: _site(name, table, path) for name, table in data.items()}


def _site(name: str, table: Any, path: Path) -> GlanceSite:
    where = f"site {name!r} in {path}"
    if not _SITE_NAME.match(name):
        raise GlanceSitesError(
            f"{where}: a site's name is the host of glance:// URLs: letters, digits, "
            "'.', '_' and '-'"
        )
    if not isinstance(table, Mapping):
        raise GlanceSitesError(f"{where}: expected a table [{name}]")
    for key, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise GlanceSitesError(f"{where}: {key} must be a non-empty string")
    keys = set(table)
    if "token" in keys:
        unknown = keys - _TOKEN_KEYS
        if unknown or "image_endpoint" not in keys:
            raise GlanceSitesError(
                f"{where}: with a token, give image_endpoint (and ca_file at most)"
                + (f"; not {', '.join(sorted(unknown))}" if unknown else "")
            )
    else:
        unknown = keys - _KEYSTONE_KEYS
        missing = [key for key in _KEYSTONE_REQUIRED if key not in keys]
        if unknown or missing:
            raise GlanceSitesError(
                f"{where}: give image_endpoint and token, or Keystone's auth_url, username, "
                "password and project_name"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(sorted(unknown))}" if unknown else "")
            )
    values: dict[str, Any] = dict(table)
    for key in ("image_endpoint", "auth_url"):
        if key in values:
            if not values[key].startswith(("http://", "https://")):
                raise GlanceSitesError(f"{where}: {key} must be an http:// or https:// URL")
            values[key] = values[key].rstrip("/")
    if "ca_file" in values:
        ca_file = Path(values["ca_file"]).expanduser()
        values["ca_file"] = ca_file if ca_file.is_absolute() else path.parent / ca_file
    return GlanceSite(name=name, **values)


@dataclass(frozen=True, slots=True)
class _Session:
    """Where and with which token the writer talks to the site's Glance."""

    images: str  # the ``/v2/images`` URL
    token: str = field(repr=False)


def _image_api(endpoint: str) -> str:
    # A catalogue's image endpoint may or may not end with the version.
    return endpoint.rstrip("/").removesuffix("/v2") + "/v2/images"


def _keystone_session(site: GlanceSite) -> _Session:
    """Log in to the site's Keystone (blocking): its token and image endpoint."""
    try:
        from keystoneauth1 import exceptions, session
        from keystoneauth1.identity import v3
    except ImportError:  # pragma: no cover - installed with the openstack extra
        raise ExportFailedError(
            "glance:// sites with Keystone credentials need keystoneauth1 on the server: "
            "pip install 'pyocci[openstack]'"
        ) from None
    auth = v3.Password(
        auth_url=site.auth_url,
        username=site.username,
        password=site.password,
        project_name=site.project_name,
        user_domain_name=site.user_domain_name,
        project_domain_name=site.project_domain_name,
    )
    verify: str | bool = str(site.ca_file) if site.ca_file else True
    keystone = session.Session(auth=auth, verify=verify, timeout=60)
    try:
        token = keystone.get_token()
        endpoint = site.image_endpoint or keystone.get_endpoint(
            service_type="image", interface="public", region_name=site.region_name
        )
    except exceptions.Unauthorized:
        raise ExportFailedError(
            f"the Keystone of site {site.name} ({site.auth_url}) refused the site's credentials"
        ) from None
    except exceptions.ClientException as error:
        raise ExportFailedError(
            f"could not log in to the Keystone of site {site.name} ({site.auth_url}): "
            f"{type(error).__name__}"
        ) from None
    if not endpoint:
        raise ExportFailedError(f"the catalogue of site {site.name} has no public image endpoint")
    return _Session(_image_api(endpoint), token)


class GlanceWriter:
    """One export to a remote Glance: make the image, stream its data, check it there.

    `disk_format` is the source's (Glance refuses data without one); the
    container is ``bare``, as an OS disk is.
    """

    def __init__(
        self,
        site: GlanceSite,
        name: str,
        *,
        disk_format: str | None,
        size: int | None = None,
        container_format: str = "bare",
    ) -> None:
        self.site = site
        self.name = name
        self.disk_format = disk_format or "raw"
        self.container_format = container_format
        self.size = size
        self._client: httpx.AsyncClient | None = None
        self._session: _Session | None = None
        self._image_id: str | None = None
        # Whether the finished image's checksums were compared with the bytes sent.
        self._sent_checked = False
        self._stream = StreamingPut(self._put, self._send_failure)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha512 = hashlib.sha512()
        self._sent = 0

    @property
    def image_url(self) -> str | None:
        """The made image's URL at the remote Glance (None before it is made)."""
        if self._session is None or self._image_id is None:
            return None
        return f"{self._session.images}/{self._image_id}"

    # --- the remote Glance -------------------------------------------------------------------

    async def _open(self) -> httpx.AsyncClient:
        if self._client is None:
            if self.site.token is not None and self.site.image_endpoint is not None:
                self._session = _Session(_image_api(self.site.image_endpoint), self.site.token)
            else:
                self._session = await asyncio.to_thread(_keystone_session, self.site)
            self._client = httpx.AsyncClient(
                verify=self.site.verify(),
                timeout=_TIMEOUT,
                headers={"X-Auth-Token": self._session.token},
            )
        return self._client

    async def _call(self, what: str, method: str, url: str, **arguments: Any) -> httpx.Response:
        client = await self._open()
        try:
            response = await client.request(method, url, **arguments)
        except httpx.HTTPError as error:
            raise ExportFailedError(
                f"could not {what} at {self.site.shown}: {type(error).__name__}: {error}"
            ) from None
        self._check(what, response)
        return response

    def _check(self, what: str, response: httpx.Response) -> None:
        if response.is_success:
            return
        if response.status_code == 401:
            raise ExportFailedError(
                f"{self.site.shown} refused the site's credentials (401) when asked to {what}"
            )
        if response.status_code == 415 and response.request.method == "PUT":
            # Glance inspects the data it is given: it must be of the image's disk format.
            raise ExportFailedError(
                f"{self.site.shown} refused the image's data as not {self.disk_format} (415)"
            )
        raise ExportFailedError(f"{self.site.shown} refused to {what}: {summary(response)}")

    async def _create(self) -> None:
        await self._open()
        images = self._session.images if self._session is not None else ""
        made = await self._call(
            f"make the image {self.name!r}",
            "POST",
            images,
            json={
                "name": self.name,
                "disk_format": self.disk_format,
                "container_format": self.container_format,
                "visibility": "private",
            },
        )
        self._image_id = str(made.json()["id"])

    # --- the data PUT ------------------------------------------------------------------------

    async def _put(self, body: AsyncIterator[bytes]) -> httpx.Response:
        client = await self._open()
        return await client.put(
            f"{self.image_url}/file",
            content=body,  # an iterator: sent chunked, as it comes
            headers={"Content-Type": "application/octet-stream"},
        )

    def _send_failure(self, error: httpx.HTTPError) -> ExportFailedError:
        return ExportFailedError(
            f"could not send the image's data to {self.site.shown}: {type(error).__name__}: {error}"
        )

    async def _hand(self, item: bytes | None) -> None:
        """Queue the next piece of the body (the first makes the image and starts the
        PUT); when the PUT ends before taking it (Glance answered early: a quota, a
        refusal), raise what its answer says."""
        if not self._stream.started:
            await self._create()
        early = await self._stream.hand(item)
        if early is not None:
            self._check("take the image's data", early)
            raise ExportFailedError(f"{self.site.shown} answered before the image was sent")

    # --- the writer ------------------------------------------------------------------------

    async def write(self, chunk: bytes) -> None:
        """Hash the chunk and hand it to the PUT's body (the first makes the image)."""
        # hashlib lets go of the GIL on large buffers: both hashed beside the loop.
        await asyncio.gather(
            asyncio.to_thread(self._md5.update, chunk),
            asyncio.to_thread(self._sha512.update, chunk),
        )
        await self._hand(chunk)
        self._sent += len(chunk)

    async def finish(self) -> str:
        """End the body, then check the image at the remote Glance: active, of the size
        sent, with the checksums of the bytes sent. Its URL."""
        await self._hand(None)
        self._check("take the image's data", await self._stream.answer())
        url = self.image_url or ""
        image = (await self._call("show the image made", "GET", url)).json()
        problems = self._differences(image)
        if problems:
            raise ExportFailedError(f"the image made at {self.site.shown} " + "; ".join(problems))
        self._sent_checked = True
        await self.close()
        return url

    async def verify(self, sha256_hex: str) -> bool:
        """True: `finish` compared the image's checksums at the remote Glance with those
        of the bytes sent (and raised if they differ); Glance keeps no SHA-256."""
        return self._sent_checked

    def _differences(self, image: Mapping[str, Any]) -> list[str]:
        problems = []
        if image.get("status") != "active":
            problems.append(f"is {image.get('status')}, not active")
        if image.get("size") != self._sent:
            problems.append(f"holds {image.get('size')} bytes; {self._sent} were sent")
        # Glance records the MD5 and its os_hash_algo's digest (SHA-512 unless its
        # operator chose another, which is then not compared).
        md5, algorithm = image.get("checksum"), image.get("os_hash_algo")
        if md5 is None and algorithm != "sha512":
            problems.append("has no checksum to compare with the bytes sent")
        if md5 is not None and md5 != self._md5.hexdigest():
            problems.append("has an MD5 checksum other than that of the bytes sent")
        if algorithm == "sha512" and image.get("os_hash_value") != self._sha512.hexdigest():
            problems.append("has a SHA-512 other than that of the bytes sent")
        return problems

    async def abort(self) -> None:
        """Drop the PUT and delete the image made there (what cannot be deleted now stays,
        in Glance's ``queued`` or ``saving``, for the site to clean)."""
        await self._stream.cancel()
        url = self.image_url
        self._image_id = None
        if url is not None and self._client is not None:
            for _ in range(_DELETE_TRIES):
                with contextlib.suppress(ExportFailedError):
                    await self._call("delete the image", "DELETE", url)
                if await self._gone(url):
                    break
                await asyncio.sleep(_DELETE_PAUSE)
        await self.close()

    async def _gone(self, url: str) -> bool:
        """Whether Glance has no image at `url` (any other answer, or none: not known)."""
        try:
            response = await (await self._open()).get(url)
        except httpx.HTTPError:
            return False
        return response.status_code == 404

    async def close(self) -> None:
        """Close the connections to the site."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
