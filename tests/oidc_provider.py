"""Real OpenID Providers for the tests: panva's ``oidc-provider`` (certified) on loopback.

`shared_providers()` returns the test process's providers, started on first
use and stopped at exit. Starting them:

1. makes sure the npm package is installed in the test cache
   (``$PYOCCI_TEST_CACHE``, default ``~/.cache/pyocci-tests``), with ``npm
   install`` of the pinned version the first time (a few seconds; reused
   afterwards);
2. runs one small Node script (`SERVE`) that serves every provider of
   `PROVIDERS` from one process, each on a free 127.0.0.1 port, with a fresh
   RSA signing key, client credentials grants, token introspection and
   resource indicators (the ``resource`` parameter is a token's audience).

A token request's scopes pick the token: ``opaque`` an opaque token (a JWT
otherwise), ``short-lived`` one that expires after a second. Each client's
claims are added to its tokens (and to the introspection answer), with
``sub`` set to the client's id.

The tests skip, saying why, without ``node`` and ``npm``;
``PYOCCI_SKIP_OIDC=1`` skips them too.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from e2e.server import free_port
from keystone import cache_dir

SKIP_VARIABLE = "PYOCCI_SKIP_OIDC"
#: The oidc-provider release the tests run against.
OIDC_PROVIDER_VERSION = "9.13.3"

#: The audience occi-server expects in the tests' tokens.
AUDIENCE = "https://occi.test.example"
#: What occi-server introspects opaque tokens as, at each provider.
INTROSPECTION_CLIENT = ("occi", "occi-secret")


def entitlement(vo: str, role: str = "member") -> str:
    """An EGI Check-in entitlement: membership of a VO."""
    return f"urn:mace:egi.eu:group:{vo}:role={role}#aai.egi.eu"


#: provider name -> client id -> the claims of its tokens. "egi" and "lab" are trusted
#: by the tests' occi-server; "rogue" is not.
PROVIDERS: dict[str, dict[str, dict[str, Any]]] = {
    "egi": {
        "alice": {"eduperson_entitlement": [entitlement("vo.alpha.org")]},
        "alice2": {"eduperson_entitlement": [entitlement("vo.alpha.org")]},
        "bob": {
            "eduperson_entitlement": [
                entitlement("vo.beta.org", "vm_operator"),
                entitlement("vo.beta.org"),
            ]
        },
        "nobody": {"eduperson_entitlement": [entitlement("vo.alpha.org", "observer")]},
        # A member of two VOs: two tenants, the first the one a request gets.
        "carol": {
            "eduperson_entitlement": [entitlement("vo.alpha.org"), entitlement("vo.beta.org")]
        },
        INTROSPECTION_CLIENT[0]: {},
    },
    "lab": {
        "dana": {"groups": ["staff", "occi-physics"]},
        "eve": {},
        INTROSPECTION_CLIENT[0]: {},
    },
    "rogue": {
        "mallory": {"eduperson_entitlement": [entitlement("vo.alpha.org")]},
    },
}

SERVE = r"""
// Serves OpenID Providers (panva's oidc-provider) on loopback for pyocci's tests.
// argv[2]: a JSON file {"providers": [{"port", "issuer", "clients": [{"client_id",
// "client_secret", "claims"}]}]}. Prints "ready <issuer>" per provider once it listens.
import { readFileSync } from 'node:fs';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

function requested(ctx, scope) {
  return String(ctx.oidc.params.scope || '').split(' ').includes(scope);
}

for (const entry of settings.providers) {
  const claimsOf = new Map(entry.clients.map((c) => [c.client_id, c.claims || {}]));
  const provider = new Provider(entry.issuer, {
    clients: entry.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid opaque short-lived',
    })),
    jwks: { keys: [signingKey()] },
    // The scopes pick what a token request gets: "opaque" an opaque token (a JWT
    // otherwise), "short-lived" one that expires after a second. The resource
    // parameter is the token's audience.
    scopes: ['openid', 'opaque', 'short-lived'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: async (ctx, resource) => ({
          scope: 'openid opaque short-lived',
          audience: resource,
          accessTokenFormat: requested(ctx, 'opaque') ? 'opaque' : 'jwt',
          accessTokenTTL: requested(ctx, 'short-lived') ? 1 : 600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: async (ctx, token) => ({
      sub: token.clientId,
      ...claimsOf.get(token.clientId),
    }),
  });
  await new Promise((resolve) => provider.listen(entry.port, '127.0.0.1', resolve));
  console.log(`ready ${entry.issuer}`);
}
"""


class OidcProviderUnavailableError(RuntimeError):
    """The providers could not be installed or started; the message says why."""


def client_secret(client_id: str) -> str:
    """The secret of a test client."""
    return (
        INTROSPECTION_CLIENT[1] if client_id == INTROSPECTION_CLIENT[0] else f"{client_id}-secret"
    )


def provider_package() -> Path:
    """The directory holding ``node_modules/oidc-provider``, installed on first use."""
    if not shutil.which("node") or not shutil.which("npm"):
        raise OidcProviderUnavailableError("node and npm are needed to run oidc-provider")
    name = f"oidc-provider-{OIDC_PROVIDER_VERSION}"
    directory = cache_dir() / name
    if (directory / "node_modules" / "oidc-provider" / "package.json").exists():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    # Installed aside and renamed into place: an interrupted install is never
    # mistaken for a finished one.
    building = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=directory.parent))
    try:
        (building / "package.json").write_text('{"private": true, "type": "module"}\n')
        try:
            result = subprocess.run(
                [
                    "npm",
                    "install",
                    "--no-audit",
                    "--no-fund",
                    f"oidc-provider@{OIDC_PROVIDER_VERSION}",
                ],
                cwd=building,
                capture_output=True,
                text=True,
                timeout=600,
            )
        except subprocess.TimeoutExpired:
            raise OidcProviderUnavailableError(
                "npm install oidc-provider took over 600 s"
            ) from None
        if result.returncode != 0:
            raise OidcProviderUnavailableError(
                f"npm install oidc-provider failed ({result.returncode}): "
                f"{result.stderr.strip()[-2000:]}"
            )
        try:
            building.rename(directory)
        except OSError:
            if not (directory / "node_modules" / "oidc-provider").exists():
                raise
            # Another test process finished first: use its installation.
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return directory


@dataclass
class OpenIdProviders:
    """The running providers: issuer URLs by name, and token requests to them."""

    directory: Path
    issuers: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        package = provider_package()
        # The script must sit beside node_modules for Node to find the package.
        script = package / "serve-pyocci-tests.mjs"
        script.write_text(SERVE)
        settings = {"providers": []}
        for name, clients in PROVIDERS.items():
            port = free_port()
            self.issuers[name] = f"http://127.0.0.1:{port}"
            settings["providers"].append(
                {
                    "port": port,
                    "issuer": self.issuers[name],
                    "clients": [
                        {"client_id": cid, "client_secret": client_secret(cid), "claims": claims}
                        for cid, claims in clients.items()
                    ],
                }
            )
        config = self.directory / "providers.json"
        config.write_text(json.dumps(settings))
        log = (self.directory / "oidc-provider.log").open("w")
        self.process = subprocess.Popen(
            ["node", str(script), str(config)], stdout=log, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise OidcProviderUnavailableError(
                    f"oidc-provider exited with {self.process.returncode}: {self.log()}"
                )
            if self.log().count("ready ") == len(PROVIDERS):
                return
            time.sleep(0.1)
        raise OidcProviderUnavailableError(f"oidc-provider did not start in 60 s: {self.log()}")

    def log(self) -> str:
        path = self.directory / "oidc-provider.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def token(
        self,
        provider: str,
        client_id: str,
        *,
        audience: str | None = AUDIENCE,
        opaque: bool = False,
        short_lived: bool = False,
    ) -> str:
        """An access token of `client_id` at `provider`, by the client credentials grant."""
        form = {"grant_type": "client_credentials"}
        scopes = ["opaque"] * opaque + ["short-lived"] * short_lived
        if scopes:
            form["scope"] = " ".join(scopes)
        if audience is not None:
            form["resource"] = audience
        response = httpx.post(
            self.issuers[provider] + "/token",
            data=form,
            auth=(client_id, client_secret(client_id)),
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def introspect(self, provider: str, token: str) -> dict[str, Any]:
        """What `provider` says of `token` to occi-server's client."""
        response = httpx.post(
            self.issuers[provider] + "/token/introspection",
            data={"token": token},
            auth=INTROSPECTION_CLIENT,
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.directory, ignore_errors=True)


def issuers_file(providers: OpenIdProviders, path: Path) -> Path:
    """An issuers file trusting "egi" (a tenant per VO of the EGI entitlements; it
    introspects opaque tokens) and "lab" (a tenant per occi- group, else per user)."""
    egi, lab = providers.issuers["egi"], providers.issuers["lab"]
    client_id, secret = INTROSPECTION_CLIENT
    path.write_text(
        f"""
[[issuers]]
issuer = "{egi}"
audience = "{AUDIENCE}"
client_id = "{client_id}"
client_secret = "{secret}"

[[issuers.tenants]]
claim = "eduperson_entitlement"
match = '^urn:mace:egi\\.eu:group:(?P<vo>[^:#]+):role=member#aai\\.egi\\.eu$'
tenant = "{{vo}}"

[[issuers]]
issuer = "{lab}"
audience = ["https://other.example", "{AUDIENCE}"]

[[issuers.tenants]]
claim = "groups"
match = "occi-(?P<group>[a-z]+)"
tenant = "lab-{{group}}"

[[issuers.tenants]]
claim = "sub"
match = ".+"
tenant = "user-{{0}}"
"""
    )
    return path


_shared: OpenIdProviders | None = None
_failure: OidcProviderUnavailableError | None = None


def shared_providers() -> OpenIdProviders:
    """The test process's providers, started on first use and stopped at exit.

    A failure to start is remembered, so that later tests fail at once with the
    same message instead of trying again.
    """
    global _shared, _failure
    if _failure is not None:
        raise _failure
    if _shared is None:
        providers = OpenIdProviders(Path(tempfile.mkdtemp(prefix="pyocci-oidc-")))
        atexit.register(providers.stop)
        try:
            providers.start()
        except OidcProviderUnavailableError as error:
            _failure = error
            raise
        _shared = providers
    return _shared


def providers_or_skip() -> OpenIdProviders:
    """`shared_providers()`, or a skip saying why the tests cannot have them."""
    import pytest

    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1: the OpenID Provider tests are skipped")
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip(
            "node and npm are not installed: no OpenID Provider (oidc-provider) to test with"
        )
    return shared_providers()
