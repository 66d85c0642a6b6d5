"""Deleting everything a run created, newest first, and saying what could not be deleted.

Links go before the resources they join, computes before the storage and
networks they used, user mixins last. A delete the server asks to repeat
later (409 or 503 with Retry-After), or refuses while something still
depends on the entity (409: a volume still detaching), is tried again until
the wait timeout. A delete counts once a GET answers 404 (or 410).
"""

from __future__ import annotations

import time

from pyocci.check import spec
from pyocci.check.outcome import Outcome, Result
from pyocci.check.run import Created, Run
from pyocci.check.text import category_value, write_lines
from pyocci.check.wire import UnreachableError

#: Pauses between attempts at a refused delete.
FIRST_PAUSE, LONGEST_PAUSE = 0.5, 5.0


def clean_up(run: Run) -> Outcome:
    """Delete what the ledger holds; the outcome names anything left behind."""
    outcome = Outcome(
        "cleanup",
        "cleanup",
        "Delete everything the checks created",
        "-",
        Result.PASS,
    )
    run.wire.record = outcome.exchanges
    started = time.monotonic()
    left: list[str] = []
    removed = 0
    for created in reversed(list(run.ledger)):
        try:
            problem = _delete(run, created)
        except UnreachableError as error:
            problem = str(error)
        if problem is None:
            removed += 1
            run.forget(created.location)
        else:
            left.append(f"{created.label} {created.location}: {problem}")
    outcome.seconds = time.monotonic() - started
    run.wire.record = []
    if left:
        outcome.result = Result.FAIL
        outcome.detail = f"left behind {len(left)}: " + "; ".join(left)
    else:
        outcome.detail = f"deleted {removed} created by the checks" if removed else "nothing to do"
    return outcome


def _delete(run: Run, created: Created) -> str | None:
    """Delete one thing; None when it is gone, else why not."""
    if created.what == "mixin":
        return _remove_mixin(run, created.location)
    deadline = run.clock() + run.options.wait_timeout
    pause = FIRST_PAUSE
    while True:
        answer = run.send("DELETE", created.location)
        if answer.status in spec.GONE:
            return None
        if answer.status < 300:
            return _confirm_gone(run, created.location, deadline)
        if answer.status != 409 or run.clock() + pause > deadline:
            return answer.describe()
        # Refused while something still depends on it (a link the cloud is detaching).
        run.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


def _confirm_gone(run: Run, location: str, deadline: float) -> str | None:
    pause = FIRST_PAUSE
    while True:
        answer = run.wire.request("GET", location, accept=run.rendering)
        if answer.status in spec.GONE:
            return None
        if run.clock() + pause > deadline:
            return f"deleted, but GET still answers {answer.status}"
        run.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


def _remove_mixin(run: Run, identifier: str) -> str | None:
    """GFD.223 "Query Interface DELETE": the user mixin named in the body."""
    body = write_lines([("Category", category_value(identifier, "mixin"))])
    answer = run.send("DELETE", "-/", content_type=spec.TEXT_PLAIN, body=body)
    if answer.status < 300 or answer.status in spec.GONE:
        return None
    return answer.describe()
