from __future__ import annotations

from pyocci.rendering import codec_for
from pyocci.server.responses import MAX_MESSAGE, bounded, error_response
from pyocci.service.errors import BadRequestError


def test_a_short_message_is_kept_whole() -> None:
    assert bounded("no such kind") == "no such kind"


def test_a_long_message_is_cut_and_says_how_much_is_left_out() -> None:
    message = bounded("x" * (MAX_MESSAGE + 5000))
    assert message.startswith("x" * MAX_MESSAGE)
    assert message.endswith("... (5000 more characters)")


def test_an_error_quoting_a_megabyte_of_input_stays_small_in_every_rendering() -> None:
    error = BadRequestError("unknown attribute " + "a" * 1_000_000)
    for media_type in ("text/plain", "text/occi", "application/occi+json", "application/json"):
        response = error_response(error, codec_for(media_type))
        assert response.status_code == 400
        assert len(response.headers["x-occi-error"]) < MAX_MESSAGE + 100
        assert len(response.body) < MAX_MESSAGE + 200
        assert "more characters" in response.headers["x-occi-error"]
