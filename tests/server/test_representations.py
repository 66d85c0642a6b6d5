"""`Representations`: rendered entities kept for one revision, least recently used out."""

from __future__ import annotations

from starlette.responses import Response

from pyocci.server.representations import Representations


def response(text: str) -> Response:
    return Response(text.encode(), media_type="text/plain")


def test_a_kept_response_is_found_at_the_same_revision():
    kept = Representations()
    assert kept.lookup(1, "a") is None
    first = response("a")
    kept.keep(1, "a", first)
    assert kept.lookup(1, "a") is first
    assert kept.lookup(1, "b") is None


def test_a_new_revision_forgets_everything():
    kept = Representations()
    kept.lookup(1, "a")
    kept.keep(1, "a", response("a"))
    assert kept.lookup((1, 0), "a") is None
    assert len(kept) == 0
    assert kept.lookup(1, "a") is None  # going back does not bring anything back


def test_what_was_read_while_the_revision_moved_is_not_kept():
    kept = Representations()
    kept.lookup(2, "a")
    kept.keep(1, "a", response("read at 1"))
    assert kept.lookup(2, "a") is None


def test_the_least_recently_used_goes_first():
    kept = Representations(capacity=2)
    kept.lookup(7, "a")
    kept.keep(7, "a", response("a"))
    kept.keep(7, "b", response("b"))
    assert kept.lookup(7, "a") is not None
    kept.keep(7, "c", response("c"))
    assert kept.lookup(7, "b") is None
    assert kept.lookup(7, "a") is not None
    assert kept.lookup(7, "c") is not None
    assert len(kept) == 2
