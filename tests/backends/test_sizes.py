from __future__ import annotations

from typing import Any

import pytest

from pyocci.backends.errors import InvalidRequestError
from pyocci.backends.sizes import whole_gib


@pytest.mark.parametrize(("value", "size"), [(3.0, 3), (3, 3), (2.5, 3), (0.1, 1), (1e-9, 1)])
def test_sizes_round_up_to_whole_gib(value: float, size: int) -> None:
    assert whole_gib(value) == size


@pytest.mark.parametrize("value", [0, -1, "ten", True, None, float("nan"), float("inf")])
def test_anything_but_a_positive_number_is_refused(value: Any) -> None:
    refused = r"occi\.storage\.size must be a (positive|finite)"
    with pytest.raises(InvalidRequestError, match=refused):
        whole_gib(value)


def test_the_message_names_the_attribute_or_parameter() -> None:
    with pytest.raises(InvalidRequestError, match=r"^size must be"):
        whole_gib(-2, "size")
