"""The compatibility matrix of the third-party OCCI clients, from a test run's results.

The interoperability tests (``tests/interop.py``) leave one JSON file per
client, rendering and backend in the pytest cache (``.pytest_cache/d/interop``).
This prints the matrix they make (client x rendering x backend: the steps that
passed, and each one that did not, with why), or writes it into
docs/interoperability.md between its markers with ``--write``::

    python tools/interop_matrix.py [--results DIR] [--write docs/interoperability.md]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BEGIN = "<!-- matrix: begin (tools/interop_matrix.py writes this part) -->"
END = "<!-- matrix: end -->"
BACKEND_ORDER = ("sim", "sim-postgresql", "ec2", "openstack")


def load(directory: Path) -> list[dict]:
    """Every result file of the run, in a stable order."""
    results = [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]

    def order(result: dict) -> tuple:
        backend = result["backend"]
        rank = BACKEND_ORDER.index(backend) if backend in BACKEND_ORDER else len(BACKEND_ORDER)
        return (result["client"], result["rendering"], rank, backend)

    return sorted(results, key=order)


def matrix(results: list[dict]) -> str:
    """The matrix as Markdown: one row per client and rendering, one column per backend."""
    backends = sorted({r["backend"] for r in results}, key=_backend_rank)
    rows: dict[tuple[str, str], dict[str, dict]] = {}
    for result in results:
        rows.setdefault((result["client"], result["rendering"]), {})[result["backend"]] = result
    lines = [
        "| client | rendering | " + " | ".join(backends) + " |",
        "|---|---|" + "---|" * len(backends),
    ]
    for (client, rendering), by_backend in rows.items():
        cells = [_cell(by_backend.get(backend)) for backend in backends]
        lines.append(f"| {client} | {rendering} | " + " | ".join(cells) + " |")
    problems = [
        f"- {r['client']}, {r['rendering']}, {r['backend']}: {s['command']} ({s['result']}): "
        + " ".join(s["why"].split())[:300]
        for r in results
        for s in r["steps"]
        if s["result"] != "pass"
    ]
    clients = sorted({r["client"] for r in results})
    text = "\n".join(lines) + (
        "\n\nEach cell: steps passed / steps run; a client bug is a step that fails in the "
        "client itself, whatever the server answers (listed below).\n"
    )
    if problems:
        text += "\nSteps that did not pass:\n\n" + "\n".join(problems) + "\n"
    for client in clients:
        steps = dict.fromkeys(
            s["command"] for r in results if r["client"] == client for s in r["steps"]
        )
        text += f"\nThe steps of {client}: " + "; ".join(steps) + ".\n"
    return text


def _backend_rank(backend: str) -> tuple[int, str]:
    return (BACKEND_ORDER.index(backend) if backend in BACKEND_ORDER else 99, backend)


def _cell(result: dict | None) -> str:
    if result is None:
        return "not run"
    passed = sum(1 for step in result["steps"] if step["result"] == "pass")
    bugs = sum(1 for step in result["steps"] if step["result"] == "client bug")
    total = len(result["steps"])
    mark = "✅" if passed + bugs == total else "❌"
    note = f" ({bugs} client bug{'s' if bugs > 1 else ''})" if bugs else ""
    return f"{mark} {passed}/{total}{note}"


def write(document: Path, text: str) -> None:
    """Replace what stands between the markers of `document` with `text`."""
    content = document.read_text()
    head, _, rest = content.partition(BEGIN)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"{document} has no {BEGIN!r} marker")
    document.write_text(f"{head}{BEGIN}\n\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path(".pytest_cache/d/interop"))
    parser.add_argument("--write", type=Path, help="the document to write the matrix into")
    options = parser.parse_args(argv)
    results = load(options.results)
    if not results:
        print(f"no interoperability results in {options.results}", file=sys.stderr)
        return 1
    text = matrix(results)
    if options.write:
        write(options.write, text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
