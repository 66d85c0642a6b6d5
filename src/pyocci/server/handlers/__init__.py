"""What the server does for each kind of target a path names.

The application (`pyocci.server.app`) checks a request, negotiates the
rendering, authenticates it and resolves the path; then one handler
answers, through the request's `Exchange`: the query interface, an entity,
a collection (its listing and its writes), or an action invocation on an
entity or a collection. Each calls the service and renders what it returns;
the application renders what any of them raises.
"""

from pyocci.server.handlers.actions import ActionHandler
from pyocci.server.handlers.collections import CollectionHandler
from pyocci.server.handlers.entities import EntityHandler
from pyocci.server.handlers.exchange import Exchange
from pyocci.server.handlers.query_interface import QueryInterfaceHandler

__all__ = [
    "ActionHandler",
    "CollectionHandler",
    "EntityHandler",
    "Exchange",
    "QueryInterfaceHandler",
]
