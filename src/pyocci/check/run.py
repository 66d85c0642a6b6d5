"""A run of the checks against one endpoint: what they share, and the loop that runs them.

`Run` is what a check receives: the `Wire`, the options, the query
interface in each rendering (read once), the entities the checks need
(made once, on first need, by `pyocci.check.fixtures`) and the ledger of
everything created, which `pyocci.check.cleanup` empties at the end
whatever happened. `run_checks` is the entry point.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pyocci.check import spec
from pyocci.check.documents import Discovery, EntityView, read_discovery, read_entity
from pyocci.check.outcome import Failed, NotSupported, Outcome, Result, Skipped, Verdict
from pyocci.check.registry import CHECKS, Check, select
from pyocci.check.report import Report
from pyocci.check.wire import Answer, HookMap, UnreachableError, Wire
from pyocci.client.auth import Credentials

#: Media types of the query interface, most capable first.
DISCOVERY_TYPES = (spec.OCCI_JSON, spec.TEXT_PLAIN, spec.TEXT_OCCI)
#: What the checker reads a state from while waiting: a state outside GFD.224's values
#: (rOCCI's and pyocci's ``waiting``) is a transition.
POLL_FIRST, POLL_MAX = 0.25, 5.0


@dataclass(frozen=True)
class CheckOptions:
    """What a site may need to tell the checker about the entities it can make."""

    #: The OS template for computes: an identifier or a term (default: the first offered).
    os_tpl: str | None = None
    #: The resource template for computes (default: the smallest offered, if any).
    resource_tpl: str | None = None
    #: A CIDR for new networks (with the ipnetwork mixin), where the cloud needs one.
    network_address: str | None = None
    #: GiB of new storage.
    storage_size: float = 1.0
    #: Seconds to wait for an entity to settle or reach a state, and for cleanup.
    wait_timeout: float = 300.0
    #: Seconds to wait for each HTTP answer.
    timeout: float = 30.0


@dataclass
class Made:
    """An entity (or user mixin) a fixture made: where it is, or why it could not be made."""

    name: str
    location: str | None = None
    #: The answer to the request that made it.
    answer: Answer | None = None
    #: Why it could not be made (a Failed, or NotSupported when the server does not offer
    #: it); None when made.
    error: Verdict | None = None
    #: What the check of the creation should report besides (a 201 without Location...).
    problems: list[str] = field(default_factory=list)
    #: Anything a fixture wants to keep (the title it gave, a mixin's identifier...).
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Created:
    """One thing in the cleanup ledger."""

    location: str
    #: ``entity``, or ``mixin`` for a user mixin (``location`` then is its identifier).
    what: str
    label: str


class Run:
    """What the checks of one run share."""

    def __init__(
        self,
        wire: Wire,
        options: CheckOptions,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.wire = wire
        self.options = options
        self.sleep = sleep
        self.clock = clock
        #: Marks everything this run creates (titles, mixin terms), so a person can find it.
        self.run_id = secrets.token_hex(4)
        self._discoveries: dict[str, Discovery | Verdict] = {}
        self._made: dict[str, Made] = {}
        self._making: set[str] = set()
        self.ledger: list[Created] = []

    # --- the query interface -----------------------------------------------------------

    def discovery(self, media_type: str) -> Discovery:
        """``GET /-/`` in `media_type`, read once; NotSupported when the server answers 406,
        Failed when the answer is not that rendering."""
        known = self._discoveries.get(media_type)
        if known is None:
            try:
                known = self._discover(media_type)
            except Verdict as verdict:
                known = verdict
            self._discoveries[media_type] = known
        if isinstance(known, Verdict):
            raise type(known)(known.detail)
        return known

    def _discover(self, media_type: str) -> Discovery:
        answer = self.wire.request("GET", "-/", accept=media_type)
        if answer.status == 406:
            raise NotSupported(f"GET /-/ with Accept: {media_type} -> 406")
        if answer.status != 200:
            raise Failed(answer.describe())
        if answer.media_type != media_type:
            raise Failed(
                f"GET /-/ with Accept: {media_type} answered Content-Type "
                f"{answer.media_type or '(none)'}"
            )
        return read_discovery(answer)

    @property
    def model(self) -> Discovery:
        """The query interface in the richest rendering the server offers (JSON, else
        text/plain); Skipped when none can be read."""
        problems = []
        for media_type in DISCOVERY_TYPES:
            try:
                return self.discovery(media_type)
            except Verdict as verdict:
                problems.append(verdict.detail)
        raise Skipped("no rendering of the query interface could be read: " + "; ".join(problems))

    @property
    def rendering(self) -> str:
        """The rendering entities are made and read in: JSON when offered, else text/plain."""
        try:
            self.discovery(spec.OCCI_JSON)
        except Verdict:
            return spec.TEXT_PLAIN
        return spec.OCCI_JSON

    def renderings(self) -> list[str]:
        """The entity renderings the server offers (by its answers on the query interface)."""
        offered = []
        for media_type in (spec.OCCI_JSON, spec.TEXT_PLAIN, spec.TEXT_OCCI):
            try:
                self.discovery(media_type)
            except Verdict:
                continue
            offered.append(media_type)
        return offered

    def location_of(self, identifier: str) -> str | None:
        """Where the server binds a kind or mixin (as a path), None if it binds none."""
        category = self.model.categories.get(identifier)
        if category is None or not category.location:
            return None
        return self.wire.path(category.location)

    # --- entities ----------------------------------------------------------------------

    def made(self, name: str) -> Made:
        """The fixture `name`, made on first use (see `pyocci.check.fixtures`)."""
        from pyocci.check.fixtures import FIXTURES

        known = self._made.get(name)
        if known is not None:
            return known
        if name in self._making:
            raise RuntimeError(f"the fixture {name} needs itself")
        self._making.add(name)
        try:
            made = FIXTURES[name](self)
        except Verdict as verdict:
            made = Made(name, error=verdict)
        finally:
            self._making.discard(name)
        self._made[name] = made
        return made

    def has_made(self, name: str) -> bool:
        """Whether the fixture `name` has been made (successfully) by now."""
        made = self._made.get(name)
        return made is not None and made.error is None

    def need(self, name: str) -> str:
        """The location of the fixture `name`; NotSupported when the server does not offer
        it, Skipped when it could not be made."""
        made = self.made(name)
        if made.error is None and made.location is not None:
            return made.location
        if isinstance(made.error, NotSupported):
            raise NotSupported(made.error.detail)
        why = made.error.detail if made.error else "it has no location"
        raise Skipped(f"needs a {name}, which could not be made: {why}")

    def gone(self, name: str) -> None:
        """The fixture `name` was deleted by a check: made again if another needs it."""
        made = self._made.pop(name, None)
        if made is not None and made.location is not None:
            self.forget(made.location)

    def undo(self, name: str) -> None:
        """The fixture `name` (an association, say) was undone by a check, what it joined
        is still there: made again if another check needs it."""
        self._made.pop(name, None)

    def title(self, label: str) -> str:
        """The title of something this run creates."""
        return f"occi-check {self.run_id} {label}"

    def remember(self, location: str, label: str, what: str = "entity") -> None:
        """Note something created, for the cleanup."""
        if not any(c.location == location for c in self.ledger):
            self.ledger.append(Created(location, what, label))

    def forget(self, location: str) -> None:
        """Something a check deleted: the cleanup need not."""
        self.ledger = [c for c in self.ledger if c.location != location]

    def read(self, location: str, media_type: str | None = None) -> tuple[Answer, EntityView]:
        """GET an entity in a rendering (the run's by default); Failed unless 200 and that
        rendering."""
        media_type = media_type or self.rendering
        answer = self.wire.request("GET", location, accept=media_type)
        if answer.status != 200:
            raise Failed(answer.describe())
        if answer.media_type != media_type:
            raise Failed(
                f"GET {answer.url} with Accept: {media_type} answered "
                f"{answer.media_type or 'no Content-Type'}"
            )
        return answer, read_entity(answer)

    def send(self, method: str, location: str, **request: Any) -> Answer:
        """A request repeated while the server says to come back (409 or 503 with
        Retry-After, GFD.223 "Status Codes" and RFC 9110), up to the wait timeout."""
        deadline = self.clock() + self.options.wait_timeout
        while True:
            answer = self.wire.request(method, location, **request)
            delay = retry_after(answer)
            if delay is None or self.clock() + delay > deadline:
                return answer
            self.sleep(delay)

    def wait_for(
        self,
        location: str,
        kind: str,
        wanted: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> EntityView:
        """Read `location` until its state is one of `wanted` (None: any GFD.224 state, i.e.
        settled); Failed with the last state when that does not happen in time."""
        attribute = spec.STATE_ATTRIBUTE.get(kind)
        targets = frozenset(wanted) if wanted is not None else spec.STATES.get(kind, frozenset())
        deadline = self.clock() + (timeout if timeout is not None else self.options.wait_timeout)
        pause = POLL_FIRST
        while True:
            answer = self.wire.request("GET", location, accept=self.rendering)
            if answer.status == 200:
                view = read_entity(answer)
                state = view.attribute(attribute) if attribute else None
                if attribute is None or state in targets:
                    return view
                where = f"{attribute} is {state!r}"
            elif answer.status == 404:
                # Read-your-writes is not promised by every server: a fresh entity may
                # take a moment to show.
                where = "GET answers 404"
            else:
                raise Failed(answer.describe())
            if self.clock() + pause > deadline:
                wished = " or ".join(sorted(targets)) or "any state"
                raise Failed(f"{location}: {where}, not {wished}, after waiting")
            self.sleep(pause)
            pause = min(pause * 2, POLL_MAX)


def retry_after(answer: Answer) -> float | None:
    """The seconds a 409 or 503 asks the client to wait (None: not such an answer)."""
    if answer.status not in (409, 503):
        return None
    value = answer.headers.get("retry-after", "").strip()
    if not value.isdigit():
        return None
    return max(float(value), 0.5)


def run_checks(
    endpoint: str,
    credentials: Credentials | None = None,
    *,
    options: CheckOptions | None = None,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
    event_hooks: HookMap | None = None,
    progress: Callable[[Outcome], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    checks: list[Check] | None = None,
) -> Report:
    """Check the OCCI endpoint at `endpoint`; the `Report` of every check chosen.

    `only`/`skip` choose checks by name, group or pattern (SelectionError for a
    pattern that names none); `progress` is called with each outcome as it
    comes. Everything the checks create is deleted before this returns, even
    when a check fails or the run is interrupted.
    """
    import pyocci.check.checks  # noqa: F401  (registers the checks)
    from pyocci.check.cleanup import clean_up

    options = options or CheckOptions()
    chosen = select(checks if checks is not None else CHECKS, only, skip)
    wire = Wire(endpoint, credentials, timeout=options.timeout, event_hooks=event_hooks)
    report = Report(endpoint=wire.endpoint)
    run = Run(wire, options, sleep=sleep)
    try:
        reason = preflight(wire)
        if reason is not None:
            report.could_not_run = reason
            return report
        for check_ in chosen:
            outcome = run_one(run, check_)
            report.outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
    finally:
        if report.could_not_run is None:
            report.cleanup = clean_up(run)
            if progress is not None:
                progress(report.cleanup)
        wire.close()
    return report


def preflight(wire: Wire) -> str | None:
    """Why the endpoint cannot be checked at all (None: it can): no answer, refused
    credentials, or no query interface."""
    try:
        answer = wire.request("GET", "-/", accept=f"{spec.TEXT_PLAIN}, {spec.OCCI_JSON};q=0.9")
    except UnreachableError as error:
        return f"no answer from {wire.endpoint}: {error}"
    except Failed as error:
        return error.detail
    if answer.status in (401, 403):
        challenge = answer.headers.get("www-authenticate")
        hint = f" (the server asks for {challenge})" if challenge else ""
        return f"the server refused the credentials: {answer.describe()}{hint}"
    if answer.status == 404:
        return f"no OCCI query interface at {wire.url('-/')}: {answer.describe()}"
    if answer.status == 501:
        # GFD.223 Versioning: a server of a lower version refuses an OCCI/1.2 client so.
        server = answer.headers.get("server", "no Server header")
        return (
            f"the server does not serve OCCI 1.2 clients ({answer.describe()}; Server: "
            f"{server}); this checker checks OCCI 1.2"
        )
    return None


def run_one(run: Run, check_: Check) -> Outcome:
    """Run one check; its outcome whatever happens in it."""
    outcome = Outcome(check_.name, check_.group, check_.title, check_.spec, Result.PASS)
    run.wire.record = outcome.exchanges
    started = time.monotonic()
    try:
        detail = check_.function(run)
        outcome.detail = detail or ""
    except Verdict as verdict:
        outcome.result, outcome.detail = verdict.result, verdict.detail
    except UnreachableError as error:
        outcome.result, outcome.detail = Result.ERROR, str(error)
    except Exception as error:  # a fault of the checker: report it, run the others
        outcome.result = Result.ERROR
        outcome.detail = f"the check itself failed ({type(error).__name__}: {error})"
    finally:
        outcome.seconds = time.monotonic() - started
        run.wire.record = []
    return outcome
