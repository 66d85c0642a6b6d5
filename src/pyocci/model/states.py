"""State machines: which actions apply in which state, and where they lead.

GFD.224 draws a state machine for compute, storage, network and the link
kinds. They are declared as data next to the kinds (see `infrastructure`);
this module only gives them a shape and the two questions asked of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class StateMachine:
    """The life cycle of one kind, driven by the value of its state attribute.

    `transitions` maps an action identifier to ``{state before: state after}``;
    an action is applicable exactly in the states it has an entry for.
    """

    attribute: str
    initial: str
    transitions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: States the cloud leaves by itself (an instance being prepared, a volume being
    #: backed up): an action that does not apply in one is refused for now, not for good.
    passing: frozenset[str] = frozenset()

    def applicable(self, state: str | None) -> list[str]:
        """The identifiers of the actions that can be triggered in `state`."""
        return [action for action, moves in self.transitions.items() if state in moves]

    def next_state(self, action: str, state: str | None) -> str | None:
        """Where `action` leads from `state`; None if the action does not apply there."""
        moves = self.transitions.get(action)
        if moves is None:
            return None
        return moves.get(state)  # type: ignore[arg-type]

    def already_done(self, action: str, state: str | None) -> bool:
        """Whether `action` does not apply in `state` only because it leads there: start on
        an active compute, stop on an inactive one. Scripts and EC2 treat such a request
        as done; every move of the action must end in that one state."""
        moves = self.transitions.get(action)
        if not moves or state is None or state in moves:
            return False
        return set(moves.values()) == {state}
