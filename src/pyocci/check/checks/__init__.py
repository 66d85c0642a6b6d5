"""The checks, registered in the order a run takes them.

Reading first (protocol, discovery), then making, reading and changing
entities, the JSON schemas, user mixins, listings, actions, bad input and
OCCI 1.1 points; deletions last, as they end what the others use. A check
registers when its module is imported, so the modules are imported here in
that order (and import nothing of each other but `common`).
"""

import importlib

ORDER = (
    "protocol",
    "discovery",
    "entities",
    "schema",
    "mixins",
    "listings",
    "actions",
    "errors",
    "occi11",
    "deletion",
)

for _module in ORDER:
    importlib.import_module(f"{__name__}.{_module}")
