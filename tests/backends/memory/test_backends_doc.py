"""docs/backends.md cannot drift from the code it teaches.

Every ```python block of the guide is marked just above it: an
``<!-- excerpt: path -->`` block must appear verbatim in that file (the
memory backend's source, say), and a ``<!-- runs -->`` block is run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "backends.md"

#: A marker comment, blank lines, then a python block.
_BLOCK = re.compile(
    r"(?:<!-- (?P<marker>excerpt: (?P<path>\S+)|runs) -->\n\s*)?```python\n(?P<code>.*?)```",
    re.DOTALL,
)


def blocks() -> list[tuple[str | None, str | None, str]]:
    """Each python block of the guide: its marker, the file it quotes, its code."""
    found = [
        (m.group("marker"), m.group("path"), m.group("code"))
        for m in _BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))
    ]
    assert found, "the guide has python blocks"
    return found


def test_every_python_block_is_an_excerpt_or_runs() -> None:
    unmarked = [code.splitlines()[0] for marker, _, code in blocks() if marker is None]
    assert not unmarked, f"mark these blocks <!-- excerpt: path --> or <!-- runs -->: {unmarked}"


@pytest.mark.parametrize(
    ("path", "code"), [(path, code) for _, path, code in blocks() if path is not None]
)
def test_an_excerpt_is_verbatim_in_its_file(path: str, code: str) -> None:
    source = (ROOT / path).read_text(encoding="utf-8")
    assert code in source, f"this excerpt is no longer in {path}:\n{code}"


@pytest.mark.parametrize("code", [code for marker, _, code in blocks() if marker == "runs"])
def test_a_runnable_block_runs(code: str) -> None:
    exec(compile(code, str(GUIDE), "exec"), {"__name__": "guide"})
