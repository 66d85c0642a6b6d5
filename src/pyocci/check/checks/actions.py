"""Actions and the state changes they cause (GFD.223 "Trigger Action"; GFD.221 Action;
GFD.224's state diagrams)."""

from __future__ import annotations

from pyocci.check import spec, text
from pyocci.check.checks.common import fail_with
from pyocci.check.documents import EntityView, json_body
from pyocci.check.outcome import Failed, NotSupported, Skipped, Warned
from pyocci.check.registry import check
from pyocci.check.run import Run
from pyocci.check.spec import StateMachine
from pyocci.check.wire import Answer

UNDEFINED_ACTION = "http://schemas.occi-check.example.org/action#occi-check-undefined"


def invocation(action: str, media_type: str) -> tuple[bytes, list[tuple[str, str]]]:
    """An action invocation (GFD.226 "Action invocation", GFD.229 action_definition)."""
    if media_type in spec.JSON_TYPES:
        return json_body({"action": action}), []
    structures = [("Category", text.category_value(action, "action"))]
    if media_type == spec.TEXT_OCCI:
        return b"", structures
    return text.write_lines(structures).encode(), []


def trigger(run: Run, location: str, action: str, media_type: str) -> Answer:
    """``POST <location>?action=<term>`` with the invocation in `media_type`."""
    body, headers = invocation(action, media_type)
    return run.send(
        "POST",
        f"{location}?action={spec.term_of(action)}",
        accept=media_type,
        content_type=media_type,
        body=body,
        headers=headers,
    )


def declared(run: Run, kind: str, term: str) -> str:
    """The action's identifier; NotSupported when the kind does not declare it."""
    action = spec.action_id(kind, term)
    found = run.model.kind(kind)
    if found is None:
        raise NotSupported(f"the query interface does not list {spec.term_of(kind)}")
    if action not in found.actions:
        raise NotSupported(f"{spec.term_of(kind)} does not declare {term}")
    return action


def probe_undeclared(run: Run, fixture: str, kind: str, term: str, absent: NotSupported) -> None:
    """An action the query interface does not list: NotSupported when the server refuses
    it too (501, or 400 and 404 for an unknown action), Failed when it performs it."""
    location = run.need(fixture)
    answer = trigger(run, location, spec.action_id(kind, term), run.rendering)
    if answer.status < 300:
        raise Failed(f"{absent.detail}, yet {answer.describe()}")
    if answer.status in (400, 404, 501):
        raise NotSupported(f"{absent.detail}; {answer.describe()}")
    raise Failed(f"{absent.detail}, and {answer.describe()} (GFD.223: 501)")


def advertised_problems(view: EntityView, machine: StateMachine, state: str) -> list[str]:
    """GFD.221 Action: a rendering lists the actions applicable now; for the standard
    actions whose starting states GFD.224's diagram settles, that is what it draws."""
    scheme = spec.action_scheme(machine.kind)
    offered = {spec.term_of(a) for a in view.actions if a.startswith(scheme)}
    wrong = machine.misplaced(state, offered)
    if wrong:
        return [f"in state {state} it offers {wrong}, which GFD.224 draws from other states"]
    return []


class _LeftByItselfError(Exception):
    """The entity left the state an action was to start from before it was triggered
    (a storage the cloud was still writing reads offline, then online by itself)."""


def move(
    run: Run,
    location: str,
    machine: StateMachine,
    term: str,
    media_type: str,
    start: str | None = None,
) -> tuple[Answer, EntityView]:
    """Trigger `term` and wait for the state GFD.224 says it leads to; from `start`, if
    given (`_LeftByItselfError` when the entity is no longer in it)."""
    kind = machine.kind
    action = declared(run, kind, term)
    state_name = spec.STATE_ATTRIBUTE[kind]
    before = run.wait_for(location, kind)
    state = before.attribute(state_name)
    if start is not None and state != start:
        raise _LeftByItselfError(str(state))
    target = machine.target(str(state), term)
    if target is None:
        raise Skipped(f"{term} does not apply in state {state}")
    answer = trigger(run, location, action, media_type)
    if answer.status != 200:
        raise Failed(f"{answer.describe()} (GFD.223: 200)")
    after = run.wait_for(location, kind, {target})
    return answer, after


def reach(run: Run, location: str, machine: StateMachine, state: str) -> None:
    """Bring an entity to `state` with the diagram's actions (preparing a check)."""
    kind = machine.kind
    current = run.wait_for(location, kind).attribute(spec.STATE_ATTRIBUTE[kind])
    if current == state:
        return
    for term in machine.applicable(str(current)):
        if machine.target(str(current), term) == state:
            try:
                move(run, location, machine, term, run.rendering)
            except Failed as failed:
                raise Skipped(f"could not bring it to {state} first: {failed.detail}") from None
            return
    raise Skipped(f"no action of GFD.224 leads from {current} to {state}")


def _cycle_check(
    name: str, machine: StateMachine, fixture: str, start: str, term: str, via: str | None
) -> None:
    """Register ``actions.<name>``: from `start`, `term` leads where GFD.224 says."""
    kind = machine.kind
    target = machine.target(start, term)

    @check(
        f"actions.{name}",
        f"{term} on a {spec.term_of(kind)} in state {start}: 200, then {target}",
        f"GFD.223 Trigger Action; GFD.224 {spec.NAMES[kind]} state diagram",
    )
    def cycle(run: Run) -> str:
        try:
            declared(run, kind, term)
        except NotSupported as absent:
            probe_undeclared(run, fixture, kind, term, absent)
        location = run.need(fixture)
        media_type = via if via in run.renderings() else run.rendering
        for attempt in range(3):
            reach(run, location, machine, start)
            try:
                _, after = move(run, location, machine, term, media_type, start=start)
                break
            except _LeftByItselfError as left:
                if attempt == 2:
                    raise Skipped(f"it leaves {start} by itself (now {left})") from None
        fail_with(advertised_problems(after, machine, str(target)))
        return f"{start} -> {target} ({media_type})"


_cycle_check("compute-stop", spec.COMPUTE_MACHINE, "compute", "active", "stop", None)
_cycle_check("compute-start", spec.COMPUTE_MACHINE, "compute", "inactive", "start", spec.TEXT_PLAIN)
_cycle_check("network-up", spec.NETWORK_MACHINE, "network", "inactive", "up", spec.TEXT_OCCI)
_cycle_check("network-down", spec.NETWORK_MACHINE, "network", "active", "down", None)
_cycle_check("storage-online", spec.STORAGE_MACHINE, "spare_storage", "offline", "online", None)
_cycle_check("storage-offline", spec.STORAGE_MACHINE, "spare_storage", "online", "offline", None)


@check(
    "actions.advertised",
    "A compute's rendering offers only the actions that apply in its state",
    "GFD.221 Action; GFD.224 Compute state diagram",
)
def advertised(run: Run) -> str:
    location = run.need("compute")
    view = run.wait_for(location, spec.COMPUTE)
    state = str(view.attribute("occi.compute.state"))
    problems = advertised_problems(view, spec.COMPUTE_MACHINE, state)
    kind = run.model.kind(spec.COMPUTE)
    offered = set(kind.actions) if kind else set()
    for mixin in view.mixins:
        category = run.model.categories.get(mixin)
        if category is not None:
            offered |= set(category.actions)
    stray = sorted(view.actions - offered)
    if stray:
        problems.append(f"it offers {stray}, which neither its kind nor its mixins declare")
    fail_with(problems)
    return f"{state}: " + ", ".join(sorted(spec.term_of(a) for a in view.actions))


@check(
    "actions.undefined",
    "Triggering an action nobody defines is a client error (400)",
    "GFD.223 Trigger Action; Status Codes (400; 1.1: 404)",
)
def undefined(run: Run) -> None:
    location = run.need("compute")
    answer = trigger(run, location, UNDEFINED_ACTION, spec.TEXT_PLAIN)
    if answer.status in (400, 404):
        return
    if 400 <= answer.status < 500 or answer.status == 501:
        raise Warned(f"{answer.describe()}: 400 says the request is wrong")
    raise Failed(f"{answer.describe()}, not 400")
