"""``occi trigger``: action parameters are checked against discovery before anything is sent."""

from __future__ import annotations

import re

import pytest

from cli.conftest import RunOcci

#: A request line as -v prints it: ``> GET http://host/path``.
REQUEST_LINE = re.compile(r"^> [A-Z]+ http")


@pytest.fixture(scope="module")
def entities(server, tmp_path_factory) -> dict[str, str]:
    """A compute and a storage of the module's server (made through the client library)."""
    from pyocci.client import OcciClient
    from pyocci.model.entity import Resource

    with OcciClient(server.url) as occi:
        compute = occi.create(occi.new_compute(os="cirros", size="small"))
        storage = occi.create(
            Resource(
                kind="http://schemas.ogf.org/occi/infrastructure#storage",
                attributes={"occi.storage.size": 1},
            )
        )
    return {"compute": compute, "storage": storage}


@pytest.mark.parametrize("rendering", ["json", "text", "occi"])
@pytest.mark.parametrize(
    ("target", "arguments", "message"),
    [
        (
            "compute",
            ["stop", "--method", "sideways"],
            'stop: method must be one of graceful, acpioff, poweroff, got "sideways"',
        ),
        (
            "compute",
            ["stop", "-p", "force=1"],
            "stop takes no parameter 'force' (it takes: method (graceful, acpioff, poweroff))",
        ),
        ("storage", ["resize"], "resize needs the parameter 'size' (it takes: size (a number))"),
        ("storage", ["resize", "-p", "size=big"], 'resize: size must be a number, got "big"'),
        ("storage", ["resize", "-p", "size=inf"], 'resize: size must be a number, got "inf"'),
    ],
    ids=["enum", "unknown", "missing", "type", "infinite"],
)
@pytest.mark.parametrize("wait", [False, True], ids=["now", "wait"])
def test_bad_parameters_are_refused_before_sending(
    occi: RunOcci,
    entities: dict[str, str],
    rendering: str,
    target: str,
    arguments: list[str],
    message: str,
    wait: bool,
) -> None:
    extra = ["--wait"] if wait else []
    result = occi("--rendering", rendering, "-v", "trigger", entities[target], *arguments, *extra)
    assert result.exit_code == 2, result.output
    assert f"occi: error: {message}\n" in result.stderr
    # -v shows every request: discovery only, neither the action nor a read of the entity.
    requests = [line for line in result.stderr.splitlines() if REQUEST_LINE.match(line)]
    assert requests and all(line.endswith("/-/") for line in requests), requests


def test_good_parameters_go_through(occi: RunOcci, entities: dict[str, str]) -> None:
    result = occi("trigger", entities["storage"], "resize", "-p", "size=2", "-o", "json")
    assert result.exit_code == 0, result.output
