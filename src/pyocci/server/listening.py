"""Whether ``occi-server`` can listen where it is told to, asked before it starts serving.

uvicorn logs a busy port among its start-up lines and granian ends in a Rust
backtrace; binding a socket the way they do, once, first, turns the usual
mistakes (a port another program holds, an address of no interface here, a
port below 1024 without the right) into one line that says what to change.
Another program may still take the port between this check and the ASGI
server's own bind; that rare case keeps the ASGI server's own report.
"""

from __future__ import annotations

import errno
import socket


def listen_problem(host: str, port: int) -> str | None:
    """Why a server cannot listen on `host`:`port`, in one line, or None when it can.

    The socket is bound as uvicorn and granian bind theirs (``SO_REUSEADDR``, so
    that connections of a server stopped a moment ago do not count) and closed
    at once.
    """
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return (
            f"cannot listen on {shown}: the host name does not resolve ({error.strerror}); "
            "choose an address with --host ADDRESS or PYOCCI_HOST"
        )
    family, kind, protocol, _, address = addresses[0]
    with socket.socket(family, kind, protocol) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return _explained(shown, host, error)
    return None


def _explained(shown: str, host: str, error: OSError) -> str:
    """The one line for a bind that failed: what is wrong and which option changes it."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"{shown} is already in use by another program; choose another port with "
            "--port N or PYOCCI_PORT=N (or port = N in the configuration file), or stop "
            "the program that holds it"
        )
    if error.errno == errno.EACCES:
        return (
            f"cannot listen on {shown}: ports below 1024 need privileges this user lacks; "
            "choose a port from 1024 with --port N or PYOCCI_PORT=N"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on {shown}: {host} is no address of this machine; choose one of "
            "its addresses with --host ADDRESS or PYOCCI_HOST (0.0.0.0 for all of them)"
        )
    return f"cannot listen on {shown}: {error.strerror or error}"
