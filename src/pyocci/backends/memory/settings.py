"""What the memory backend offers: ``[backend_settings]`` for ``backend = "memory"``.

A backend's settings are a frozen dataclass read with the kit's
`read_settings`: the field types say what each key takes, and a mistake is
answered with a ValueError naming ``backend_settings.<key>``::

    backend = "memory"

    [backend_settings]
    images = ["debian-12", "ubuntu-24.04"]
    sizes = ["small", "large"]
    computes = 20
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pyocci.backends.kit.settings import Count, Texts, read_settings
from pyocci.model.category import occi11_term

#: The resource templates of the CRTP profile a configuration may offer.
Size = Literal["small", "medium", "large", "mem_small", "mem_medium", "mem_large"]


@dataclass(frozen=True, slots=True)
class MemorySettings:
    """The images and sizes offered, and how many computes a tenant may keep."""

    #: Image names, offered as OS templates (``debian-12`` -> ``.../os_tpl#debian-12``).
    images: Texts = ("debian-12", "ubuntu-24.04")
    #: CRTP resource templates offered (their cores and memory are the profile's).
    sizes: tuple[Size, ...] = ("small", "medium", "large")
    #: The most computes one tenant may have at once; None for no limit.
    computes: Count | None = None

    def __post_init__(self) -> None:
        # Two names with one term would be one mixin offered twice.
        terms = [occi11_term(name) for name in self.images]
        if len(set(terms)) != len(terms):
            raise ValueError(
                "backend_settings.images: two names give the same OS template term "
                f"({', '.join(terms)}); name each image once"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MemorySettings:
        """The settings a ``[backend_settings]`` table gives; ValueError naming the key."""
        return read_settings(cls, data)
