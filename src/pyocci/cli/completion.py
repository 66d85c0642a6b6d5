"""Shell completion of what lives on the server: kinds, mixins, templates, actions, entities.

click completes commands and options by itself; these ``shell_complete``
callbacks add the values only the server knows. The shell runs ``occi``
anew at every TAB, so each answer must come fast and never get in the way:

* **bounded in time**: each request waits at most `REQUEST_SECONDS`, and none
  starts once `BUDGET_SECONDS` have passed (what was found so far is then
  offered, and not cached); no password is asked for; nothing is printed,
  even on failure;
* **bounded in size**: one page of at most `MAX_PER_COLLECTION` locations
  per collection, at most `MAX_ITEMS` candidates in all;
* **cached briefly**: answers are kept `CACHE_SECONDS` in a file of the
  user cache directory, one per endpoint and identity (no secret is kept,
  nor used in its name), so a second TAB answers without the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem
from platformdirs import user_cache_dir

from pyocci.cli.endpoints import Target, targets
from pyocci.cli.options import settings
from pyocci.client import OcciClient
from pyocci.client import templates as template_choice
from pyocci.model.category import Action, Kind, Mixin
from pyocci.model.core import CORE_KINDS

REQUEST_SECONDS = 2.0
BUDGET_SECONDS = 3.0
CACHE_SECONDS = 30.0
MAX_PER_COLLECTION = 100
MAX_ITEMS = 200

#: A candidate as the cache keeps it: the value, and a few words about it.
Candidate = tuple[str, str]
Complete = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]

_CORE_KIND_IDS = frozenset(kind.id for kind in CORE_KINDS)


def cache_dir() -> Path:
    """Where completion answers are kept (``~/.cache/pyocci/completion`` on Linux)."""
    return Path(user_cache_dir("pyocci")) / "completion"


class _Session:
    """One completion: the endpoint the options name, its cache file, the time spent."""

    def __init__(self, ctx: click.Context) -> None:
        chosen = targets(settings(ctx.find_root()), interactive=False)
        # With --site all, the first site speaks for the others.
        self.target: Target = chosen[0]
        self.started = time.monotonic()
        self._client: OcciClient | None = None
        identity = "\0".join(
            str(part or "")
            for part in (
                self.target.endpoint,
                self.target.credentials.method,
                self.target.credentials.username,
                self.target.credentials.project,
                self.target.credentials.certificate,
                self.target.credentials.oidc_account,
            )
        )
        name = hashlib.sha256(identity.encode()).hexdigest()[:32]
        self.path = cache_dir() / f"{name}.json"
        self._cached = self._read()
        self._fresh: dict[str, list[Candidate]] = {}

    # --- the cache ------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            kept = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(kept, dict) or not isinstance(kept.get("entries"), dict):
            return {}
        return {
            key: entry
            for key, entry in kept["entries"].items()
            if isinstance(entry, dict)
            and isinstance(entry.get("at"), int | float)
            and 0 <= time.time() - entry["at"] < CACHE_SECONDS
            and isinstance(entry.get("items"), list)
        }

    def cached(self, key: str, produce: Callable[[], list[Candidate]]) -> list[Candidate]:
        """The candidates under `key`: from the cache while fresh, else produced (and kept,
        unless the budget ran out while producing them, which leaves them partial)."""
        entry = self._cached.get(key)
        if entry is not None:
            return [(str(value), str(help_text)) for value, help_text in entry["items"]]
        found = produce()[:MAX_ITEMS]
        if not self.spent():
            self._fresh[key] = found
        return found

    def save(self) -> None:
        """Write the fresh answers beside the cached ones (private to the user)."""
        if not self._fresh:
            return
        now = time.time()
        entries = {**self._cached}
        entries.update({key: {"at": now, "items": items} for key, items in self._fresh.items()})
        directory = self.path.parent
        with contextlib.suppress(OSError):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump({"entries": entries}, stream)
                os.replace(temporary, self.path)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)

    # --- the server -----------------------------------------------------------------------

    def spent(self) -> bool:
        """Whether the time budget of this completion is used up."""
        return time.monotonic() - self.started >= BUDGET_SECONDS

    @property
    def client(self) -> OcciClient:
        """A client that waits at most `REQUEST_SECONDS`, and never past the budget."""
        if self.spent():
            raise TimeoutError("the completion budget is spent")
        if self._client is None:
            left = BUDGET_SECONDS - (time.monotonic() - self.started)
            timeout = max(0.1, min(REQUEST_SECONDS, self.target.timeout, left))
            self._client = OcciClient(
                self.target.endpoint,
                self.target.credentials,
                media_type=self.target.media_type,
                timeout=timeout,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _completing(produce: Callable[[_Session, click.Context], Iterable[Candidate]]) -> Complete:
    """A click ``shell_complete`` callback: the candidates `produce` finds that start with
    what was typed; on any failure, none (a shell must never see an error)."""

    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        try:
            session = _Session(ctx)
        except Exception:  # no usable endpoint or credentials: nothing to offer
            return []
        try:
            found = [
                CompletionItem(value, help=help_text or None)
                for value, help_text in produce(session, ctx)
                if value.startswith(incomplete)
            ]
            session.save()
            return found[:MAX_ITEMS]
        except Exception:  # the server is down, slow or strange: offer nothing
            return []
        finally:
            session.close()

    return complete


def _categories(session: _Session, classes: tuple[type, ...]) -> list[Candidate]:
    key = "categories:" + ",".join(cls.__name__ for cls in classes)

    def produce() -> list[Candidate]:
        model = session.client.model
        found = [c for c in model if isinstance(c, classes) and getattr(c, "location", None)]
        terms = [c.term for c in found]
        # A term two categories share is offered as the identifier that tells them apart.
        return [
            (c.id if terms.count(c.term) > 1 else c.term, c.title or "")
            for c in found
            if c.id not in _CORE_KIND_IDS
        ]

    return session.cached(key, produce)


def _templates(session: _Session, kind: str) -> list[Candidate]:
    def produce() -> list[Candidate]:
        found = template_choice.templates(session.client.model, kind)
        return [(template.term, template.title or "") for template in found]

    return session.cached(f"templates:{kind}", produce)


def _kind_locations(session: _Session) -> list[Candidate]:
    def produce() -> list[Candidate]:
        model = session.client.model
        return [
            (kind.location, kind.term)
            for kind in model.kinds
            if kind.location and kind.id not in _CORE_KIND_IDS
        ]

    return session.cached("kind-locations", produce)


def _entity_locations(session: _Session, incomplete: str) -> list[Candidate]:
    """Entity locations in the collections the typed text may lead into, one bounded
    page each, while the budget lasts."""
    found: list[Candidate] = []
    for collection, term in _kind_locations(session):
        if not (collection.startswith(incomplete) or incomplete.startswith(collection)):
            continue
        if session.spent() or len(found) >= MAX_ITEMS:
            break

        def produce(collection: str = collection, term: str = term) -> list[Candidate]:
            kind = session.client.model.by_location(collection)
            if not isinstance(kind, Kind):
                return []
            return [
                (location, term)
                for location in session.client.first_locations(kind, MAX_PER_COLLECTION)
            ]

        found.extend(session.cached(f"locations:{collection}", produce))
    return found


def _actions(session: _Session, ctx: click.Context) -> list[Candidate]:
    """The actions of the kind whose collection holds the URL given before."""
    location = ctx.params.get("location")
    if not isinstance(location, str):
        return []

    def produce() -> list[Candidate]:
        client = session.client
        kind = client.kind_of(location)
        if kind is None:
            return []
        found = []
        for action_id in client.model.declared_actions(kind.id):
            action = client.model.get(action_id)
            if isinstance(action, Action):
                found.append((action.term, action.title or ""))
        return found

    collection = location.rstrip("/").rpartition("/")[0] + "/"
    return session.cached(f"actions:{collection}", produce)


#: ``list KIND|MIXIN``, ``--filter``: kinds and mixins with a collection.
complete_categories = _completing(lambda s, ctx: _categories(s, (Kind, Mixin)))
#: ``create KIND``, ``link --kind``: kinds.
complete_kinds = _completing(lambda s, ctx: _categories(s, (Kind,)))
#: ``--mixin``, ``mixin associate MIXIN``: mixins.
complete_mixins = _completing(lambda s, ctx: _categories(s, (Mixin,)))
#: ``--os``: OS templates (images).
complete_os_templates = _completing(lambda s, ctx: _templates(s, "os"))
#: ``--size``: resource templates (sizes).
complete_resource_templates = _completing(lambda s, ctx: _templates(s, "resource"))
#: ``trigger URL ACTION``: the actions of the entity's kind.
complete_actions = _completing(_actions)


def complete_locations(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Entity locations (``describe``, ``delete``, ``trigger``, ``link``...): kind
    collections first, then the entities of those the typed text leads into."""

    def produce(session: _Session, ctx: click.Context) -> list[Candidate]:
        collections = _kind_locations(session)
        return [*collections, *_entity_locations(session, incomplete)]

    return _completing(produce)(ctx, param, incomplete)
