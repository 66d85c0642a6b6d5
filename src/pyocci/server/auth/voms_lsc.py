"""LSC files: which VOMS server certificates are trusted by their names, not their keys.

A VOMS server renews its certificate now and then; sites that trusted the
certificate itself would have to replace it everywhere at once. So VOs
publish LSC files instead: ``vomsdir/<vo>/<host>.lsc`` lists, one per line,
the distinguished name of the VOMS server's certificate and of the CA that
issues it (and further up, for longer chains), in OpenSSL's one-line form
(``/DC=org/DC=example/CN=voms.example.org``). Alternative chains are
separated by a line ``------ NEXT CHAIN ------``. The AC carries the VOMS
server's certificate (and its chain) in the extension `AC_CERTIFICATES`; it
is trusted when it chains to a trusted CA and the names along the path that
verified (not those of the certificates carried) match an LSC chain for the
AC's VO and server (`pyocci.server.auth.voms_ac`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = ["AC_CERTIFICATES", "LscFile", "matches", "oneline", "read_lsc_files"]

#: The AC extension that carries the VOMS server's certificate chain.
AC_CERTIFICATES = "1.3.6.1.4.1.8005.100.100.10"
_NEXT_CHAIN = "------ NEXT CHAIN ------"
# The attribute names OpenSSL's one-line form uses where they differ from RFC 4514's.
_SHORT = {
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.GIVEN_NAME: "GN",
    NameOID.SURNAME: "SN",
}


@dataclass(frozen=True, slots=True)
class LscFile:
    """One LSC file: the VO and VOMS server it is for, and the chains of names it trusts."""

    vo: str
    host: str
    #: Each chain: the VOMS server certificate's subject, its issuer's, and up.
    chains: tuple[tuple[str, ...], ...]


def read_lsc_files(directory: Path) -> tuple[LscFile, ...]:
    """The LSC files of the VO folders of `directory` (``<vo>/<host>.lsc``: the folder
    names the VO); ValueError naming one that holds no chain of at least two names."""
    found = []
    for path in sorted(directory.glob("*/*.lsc")):
        if not path.is_file():
            continue
        chains: list[tuple[str, ...]] = []
        current: list[str] = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line == _NEXT_CHAIN:
                chains.append(tuple(current))
                current = []
            elif line and not line.startswith("#"):
                current.append(line)
        chains.append(tuple(current))
        chains = [chain for chain in chains if chain]
        if not chains or any(len(chain) < 2 for chain in chains):
            raise ValueError(
                f"{path}: an LSC file lists the VOMS server certificate's subject and its "
                "CA's, one per line"
            )
        found.append(LscFile(vo=path.parent.name, host=path.stem, chains=tuple(chains)))
    return tuple(found)


def oneline(name: x509.Name) -> str:
    """A name in OpenSSL's one-line form, as LSC files write it: ``/O=Example/CN=Alice``."""
    parts = []
    for rdn in name.rdns:
        pairs = [
            f"{_SHORT.get(attribute.oid, attribute.rfc4514_attribute_name)}={attribute.value}"
            for attribute in rdn
        ]
        parts.append("/" + "+".join(pairs))
    return "".join(parts)


def matches(path: Sequence[x509.Certificate], chain: Sequence[str]) -> bool:
    """Whether the names of `path` (a VOMS server's certificate, then the CAs its signature
    verified through, as path validation built it) are those `chain` lists: each
    certificate's subject, then the last one's issuer."""
    if not path:
        return False
    names = [oneline(c.subject) for c in path] + [oneline(path[-1].issuer)]
    return len(chain) <= len(names) and names[: len(chain)] == list(chain)
