"""``occi check``: choosing checks, outputs and exit statuses, against a real occi-server.

The whole run against each backend is in ``tests/e2e/test_occi_check.py``;
these runs are parts of it (``--only``), on the module's simulated cloud
whose machines take a second per transition.
"""

from __future__ import annotations

import json

import httpx

from e2e.server import RunningServer, free_port


def test_list_names_every_check_with_its_specification(occi) -> None:
    listed = occi("check", "--list", "-o", "json")
    assert listed.exit_code == 0
    checks = json.loads(listed.output)
    assert len(checks) > 70
    by_name = {c["check"]: c for c in checks}
    assert by_name["protocol.version-too-high"]["spec"] == "GFD.223 Versioning"
    assert all(c["title"] and ("GFD." in c["spec"] or "RFC" in c["spec"]) for c in checks)
    errors = json.loads(occi("check", "--list", "--only", "errors", "-o", "json").output)
    assert errors and all(c["check"].startswith("errors.") for c in errors)


def test_a_part_of_the_checks_in_plain_text(occi, server: RunningServer) -> None:
    done = occi("check", server.url, "--only", "protocol,discovery", "-o", "plain")
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    rows = [line.split("\t") for line in lines[:-1]]
    assert {row[0].split(".")[0] for row in rows} == {"protocol", "discovery", "cleanup"}
    by_name = {row[0]: row for row in rows}
    assert by_name["protocol.version-too-high"][1:3] == ["pass", "GFD.223 Versioning"]
    assert by_name["discovery.entity-unbound"][1] == "warn"
    assert by_name["cleanup"][1:] == ["pass", "-", "nothing to do"]
    assert lines[-1].startswith(f"{len(rows) - 1} checks on {server.url}: ")


def test_the_table(occi, server: RunningServer) -> None:
    done = occi("check", "--only", "protocol", "-o", "table")  # the endpoint from OCCI_ENDPOINT
    assert done.exit_code == 0, done.output
    for text in ("CHECK", "RESULT", "SPEC", "protocol.not-acceptable", "5 checks on", "pass"):
        assert text in done.output


def test_entities_are_made_checked_and_deleted(occi, server: RunningServer) -> None:
    chosen = "compute.create,compute.read,compute.update,compute.delete,storagelink.read"
    done = occi("check", server.url, "--only", chosen, "-o", "json")
    assert done.exit_code == 0, done.output
    report = json.loads(done.output)
    assert {c["name"]: c["result"] for c in report["checks"]} == {
        name: "pass" for name in chosen.split(",")
    }
    # The compute was deleted by its check; the storage link's compute and storage by
    # the cleanup.
    assert report["cleanup"]["detail"] == "deleted 2 created by the checks"
    # Titles say what a run made: none of its entities is left.
    with httpx.Client(base_url=server.url, headers={"Accept": "application/occi+json"}) as http:
        for collection in ("/compute/", "/storage/", "/storagelink/"):
            answer = http.get(collection)
            assert answer.status_code == 200, answer.text
            members = answer.json().get("resources", []) + answer.json().get("links", [])
            titles = [m.get("attributes", {}).get("occi.core.title", "") for m in members]
            assert not [t for t in titles if str(t).startswith("occi-check")], titles


def test_a_part_of_the_run_leaves_nothing_behind(occi, server: RunningServer) -> None:
    # Tagging makes a compute that no chosen check deletes: the cleanup does.
    with httpx.Client(base_url=server.url, headers={"Accept": "text/uri-list"}) as http:
        before = set(http.get("/compute/").text.split())
        done = occi("check", server.url, "--only", "mixins.associate,mixins.disassociate")
        assert done.exit_code == 0, done.output
        assert set(http.get("/compute/").text.split()) == before
    assert "deleted 2 created by the checks" in done.output  # the compute and the mixin


def test_skip_and_verbose(occi, server: RunningServer) -> None:
    done = occi(
        "check",
        server.url,
        "--only",
        "protocol",
        "--skip",
        "protocol.accept,protocol.content-type",
        "-o",
        "json",
        "-v",
    )
    assert done.exit_code == 0
    report = json.loads(done.stdout)
    names = [c["name"] for c in report["checks"]]
    assert names == [
        "protocol.server-version",
        "protocol.version-too-high",
        "protocol.not-acceptable",
    ]
    assert "> GET" in done.stderr and "OCCI/9.9" in done.stderr


def test_a_name_that_matches_no_check(occi, server: RunningServer) -> None:
    done = occi("check", server.url, "--only", "protocol.nosuch")
    assert done.exit_code == 2
    assert "no check is named 'protocol.nosuch'" in done.output


def test_uri_list_is_no_output_of_check(occi, server: RunningServer) -> None:
    done = occi("check", server.url, "-o", "uri-list")
    assert done.exit_code == 2
    assert "table, plain, json or yaml" in done.output


def test_an_endpoint_that_does_not_answer_is_2(occi_process) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = occi_process("check", url, "-o", "json")
    assert done.returncode == 2
    report = json.loads(done.stdout)
    assert report["could_not_run"].startswith(f"no answer from {url}")
    assert "occi: error: could not check" in done.stderr
    table = occi_process("check", url)
    assert table.returncode == 2 and table.stdout == ""
