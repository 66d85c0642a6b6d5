"""Failures explained: what failed, what to try, and the exit status."""

from __future__ import annotations

import re

import pytest

from pyocci.cli.messages import AUTH, CONFLICT, INPUT, NOT_FOUND, SERVER, UNREACHABLE, WAIT, explain
from pyocci.cli.sites import SitesError
from pyocci.client import (
    CredentialsError,
    InvalidInputError,
    RequestTimeoutError,
    ServerUnreachableError,
    WaitTimeoutError,
)
from pyocci.client.errors import server_error


def refused(status: int, challenge: str | None = None, retry_after: str | None = None):
    return server_error(
        status,
        "the message",
        method="GET",
        url="http://h/compute/1",
        challenge=challenge,
        retry_after=retry_after,
    )


@pytest.mark.parametrize(
    ("error", "status", "hint"),
    [
        (InvalidInputError("bad"), INPUT, None),
        (CredentialsError("no password"), INPUT, None),
        (SitesError("no site"), INPUT, None),
        (
            ServerUnreachableError("http://h:1", "connection refused"),
            UNREACHABLE,
            "is occi-server running at http://h:1?",
        ),
        (
            ServerUnreachableError("https://h:1", "[SSL: CERTIFICATE_VERIFY_FAILED] failed"),
            UNREACHABLE,
            "--ca FILE|DIR",
        ),
        (
            ServerUnreachableError("https://h:1", "[SSL: WRONG_VERSION_NUMBER] wrong version"),
            UNREACHABLE,
            "try http://h:1",
        ),
        (
            ServerUnreachableError("http://nowhere.invalid", "Name or service not known"),
            UNREACHABLE,
            "check the host name",
        ),
        (RequestTimeoutError("http://h:1", 30), UNREACHABLE, "--timeout"),
        (refused(401, 'Basic realm="pyocci"'), AUTH, "--auth basic --user NAME"),
        (refused(401, "Bearer"), AUTH, "--auth token --token TOKEN"),
        (refused(401, "Keystone uri='http://k/v3'"), AUTH, "--auth keystone"),
        (refused(403), AUTH, "quota"),
        (refused(404), NOT_FOUND, "occi list KIND"),
        (refused(409), CONFLICT, "occi describe URL"),
        (refused(409, retry_after="3"), CONFLICT, "run the same command again in 3 s"),
        (refused(500), SERVER, "the server failed"),
        (WaitTimeoutError("/compute/1", "active", "waiting", 5), WAIT, "--wait-timeout"),
    ],
)
def test_each_failure_has_its_status_and_hint(error, status, hint):
    failure = explain(error)
    assert failure.status == status
    if hint is None:
        assert failure.hint is None
    else:
        assert hint in failure.hint
    assert failure.render().startswith("occi: error: ")


def test_server_messages_are_quoted():
    assert "the message" in explain(refused(409)).message
    assert explain(refused(404)).render("site-a").startswith("occi: error: site-a: 404 not found")


def test_an_unexpected_error_says_it_is_a_bug():
    failure = explain(ZeroDivisionError("division by zero"))
    assert failure.status == SERVER
    assert "bug" in failure.hint


@pytest.mark.parametrize(
    ("header", "seconds"), [("7", 7), (" 12 ", 12), (None, None), ("soon", None)]
)
def test_retry_after_is_kept_in_seconds(header, seconds):
    # An HTTP date (which occi-server never sends) is not kept.
    assert refused(409, retry_after=header).retry_after == seconds


PYTHON_TYPE_NAMES = re.compile(r"\b(dict|float|int|str|NoneType|list|bool|tuple|bytes)\b")


@pytest.mark.parametrize("rendering", ["json", "text"])
def test_bad_values_on_the_command_line_are_explained_in_occi_words(occi, rendering):
    """What a user types as -a NAME=VALUE or -p NAME=VALUE, refused by occi or by the server."""
    made = occi("create", "compute", "--os", "cirros", "--size", "small").stdout.strip()
    attempts = [
        ["create", "compute", "--os", "cirros", "-a", f"{name}={value}"]
        for name in ("occi.compute.cores", "occi.compute.memory", "occi.compute.architecture")
        for value in ("1.5", "abc", "inf", "nan", "[1,2]", '{"a":1}', "true", "")
    ]
    attempts += [["update", made, "-a", f"occi.compute.hostname={v}"] for v in ("", "a b", "1")]
    attempts += [["trigger", made, "stop", "--method", v] for v in ("1.5", "[]", "")]
    try:
        for arguments in attempts:
            result = occi("--rendering", rendering, *arguments)
            if result.exit_code == 0:
                continue
            assert "occi: error: " in result.stderr, (arguments, result.stderr)
            assert not PYTHON_TYPE_NAMES.search(result.stderr), (arguments, result.stderr)
            assert "bug" not in result.stderr, (arguments, result.stderr)
    finally:
        occi("delete", made)
