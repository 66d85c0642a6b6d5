"""The report of a run: the outcomes, the cleanup, and the exit status they mean."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pyocci.check.outcome import Outcome, Result

#: Exit statuses of ``occi check``.
ALL_PASSED, FAILURES, COULD_NOT_RUN = 0, 1, 2


@dataclass
class Report:
    """What a run found."""

    endpoint: str
    outcomes: list[Outcome] = field(default_factory=list)
    #: The outcome of deleting what the run created (None when nothing ran).
    cleanup: Outcome | None = None
    #: Why no check could run (unreachable, credentials refused, no query interface).
    could_not_run: str | None = None

    def all_outcomes(self) -> list[Outcome]:
        """The checks' outcomes, then the cleanup's."""
        return [*self.outcomes, *([self.cleanup] if self.cleanup else [])]

    def counts(self) -> dict[str, int]:
        """How many outcomes of each result (every result named, zeros included)."""
        counted = Counter(outcome.result for outcome in self.all_outcomes())
        return {result.value: counted.get(result, 0) for result in Result}

    @property
    def exit_status(self) -> int:
        """0 when nothing failed, 1 when something failed, 2 when checks could not run
        (and nothing failed)."""
        if self.could_not_run is not None:
            return COULD_NOT_RUN
        results = {outcome.result for outcome in self.all_outcomes()}
        if Result.FAIL in results:
            return FAILURES
        if Result.ERROR in results:
            return COULD_NOT_RUN
        return ALL_PASSED

    def outcome(self, name: str) -> Outcome:
        """The outcome of the check `name` (KeyError when it did not run)."""
        for outcome in self.all_outcomes():
            if outcome.name == name:
                return outcome
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        """The report as ``--output json`` prints it."""
        return {
            "endpoint": self.endpoint,
            "exit_status": self.exit_status,
            "could_not_run": self.could_not_run,
            "summary": self.counts(),
            "checks": [outcome.as_dict() for outcome in self.outcomes],
            "cleanup": self.cleanup.as_dict() if self.cleanup else None,
        }

    def summary_line(self) -> str:
        """``77 checks on URL: 75 pass, 1 fail, 1 not supported; cleanup: pass``."""
        if self.could_not_run is not None:
            return f"could not check {self.endpoint}: {self.could_not_run}"
        counted = Counter(outcome.result for outcome in self.outcomes)
        text = ", ".join(f"{counted[r]} {r.value}" for r in Result if counted.get(r))
        line = f"{len(self.outcomes)} checks on {self.endpoint}: {text or 'none run'}"
        if self.cleanup is not None:
            line += f"; cleanup: {self.cleanup.result.value}"
        return line
