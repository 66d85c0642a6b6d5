"""The in-memory reference backend: a cloud in a dictionary, on the backend kit.

``backend = "memory"`` serves it. The files, in the order to read them:

- `backend`: `MemoryBackend`, the collections it is made of, and `build`
  (the entry point);
- `settings`: what ``[backend_settings]`` may say (`MemorySettings`);
- `catalogue`: the images and sizes offered as templates;
- `shelf`: where entities are kept, per tenant;
- `kept`: reading, writing and state changes, for every kind;
- `resources` and `links`: each kind's actions and rules.

``docs/backends.md`` walks through them.
"""

from pyocci.backends.memory.backend import MemoryBackend, build
from pyocci.backends.memory.settings import MemorySettings

__all__ = ["MemoryBackend", "MemorySettings", "build"]
