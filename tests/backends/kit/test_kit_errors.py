"""What cloud errors mean, the same for every cloud."""

from __future__ import annotations

import logging

import pytest

from pyocci.backends import errors
from pyocci.backends.kit.errors import by_status, malformed_answers


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, errors.InvalidRequestError),
        (404, errors.EntityNotFoundError),
        (409, errors.ConflictError),
        (403, errors.QuotaExceededError),
        (413, errors.QuotaExceededError),
        (422, errors.InvalidRequestError),
        (500, errors.BackendUnavailableError),
        (503, errors.BackendUnavailableError),
    ],
)
def test_status_to_error(status, kind) -> None:
    error = by_status(status, "the cloud said no", retry_after=7)
    assert type(error) is kind
    assert "the cloud said no" in str(error)
    if kind is errors.BackendUnavailableError:
        assert error.retry_after == 7


def test_an_answer_lacking_a_field_is_the_clouds_failure(caplog) -> None:
    caplog.set_level(logging.ERROR)
    answer: dict[str, object] = {}
    with (
        pytest.raises(errors.BackendUnavailableError) as raised,
        malformed_answers("Acme", "listing", retry_after=3),
    ):
        answer["Reservations"]
    message = str(raised.value)
    assert "Acme's answer while listing lacks the field 'Reservations'" in message
    assert raised.value.retry_after == 3
    assert "Traceback" not in message and "Traceback" in caplog.text


def test_other_errors_pass_through() -> None:
    with pytest.raises(ValueError, match="mine"), malformed_answers("Acme", "x", retry_after=1):
        raise ValueError("mine")
