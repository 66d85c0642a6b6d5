"""What a check concludes: a `Result`, and the exceptions a check raises to say so.

A check function returns normally to pass (optionally with a detail), or
raises one of `Failed`, `Warned`, `NotSupported` or `Skipped`. Anything else
it raises (a dropped connection, a bug) is reported as `Result.ERROR`: the
check could not be run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Result(enum.Enum):
    """The result of one check."""

    PASS = "pass"
    #: The server does not do what the specification requires.
    FAIL = "fail"
    #: The server does not do what the specification recommends (SHOULD), or does
    #: something it allows but which clients are known to trip on.
    WARN = "warn"
    #: The server declares it does not offer the feature (absent from discovery, and
    #: 501 or no such path when asked): nothing to hold it to.
    NOT_SUPPORTED = "not supported"
    #: Not run: something it needs could not be made (that failure is reported on its
    #: own check), or it was not chosen.
    SKIPPED = "skipped"
    #: The check could not be run: no answer, a timeout, or a fault of the checker.
    ERROR = "error"


class Verdict(Exception):  # noqa: N818  (a conclusion, raised to end a check; not an error)
    """A check's conclusion other than a plain pass."""

    result: Result = Result.FAIL

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Failed(Verdict):
    """The server broke a requirement of the specification."""

    result = Result.FAIL


class Warned(Verdict):
    """The server missed a recommendation."""

    result = Result.WARN


class NotSupported(Verdict):
    """The server declares it does not offer this."""

    result = Result.NOT_SUPPORTED


class Skipped(Verdict):
    """The check cannot run: something it needs is missing."""

    result = Result.SKIPPED


class Passed(Verdict):
    """A pass with something worth saying (raised or returned by a check)."""

    result = Result.PASS


@dataclass
class Exchange:
    """One request and the status it got, kept as evidence for a check's result."""

    method: str
    url: str
    status: int | None
    #: Why there is no status (no connection, a timeout).
    error: str | None = None

    def line(self) -> str:
        """``GET /compute/ -> 200``."""
        answer = str(self.status) if self.status is not None else (self.error or "no answer")
        return f"{self.method} {self.url} -> {answer}"


@dataclass
class Outcome:
    """The result of one check, with what it saw."""

    name: str
    group: str
    title: str
    spec: str
    result: Result
    detail: str = ""
    #: The requests the check made (for failures: what to look at).
    exchanges: list[Exchange] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self, *, with_exchanges: bool = True) -> dict[str, object]:
        """The outcome as JSON shows it."""
        record: dict[str, object] = {
            "name": self.name,
            "group": self.group,
            "title": self.title,
            "spec": self.spec,
            "result": self.result.value,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }
        if with_exchanges:
            record["exchanges"] = [exchange.line() for exchange in self.exchanges]
        return record
