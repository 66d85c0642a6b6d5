"""``occi check``: a compliance checker of OCCI endpoints, from the OCCI specifications.

Any site can run it against any OCCI 1.2 endpoint (pyocci's or another's)::

    from pyocci.check import CheckOptions, run_checks

    report = run_checks("https://occi.example.org:11443", credentials)
    print(report.summary_line())
    raise SystemExit(report.exit_status)

Each check holds the server to one point of GFD.221 (Core), GFD.223 (HTTP
protocol), GFD.224 (Infrastructure), GFD.226 (JSON) or GFD.229 (text), and
cites it. The checker reads and writes the renderings itself and takes its
expectations from `pyocci.check.spec`, not from pyocci's model and
renderings, so that it does not share their mistakes. Whatever the checks
create is deleted at the end of the run, failures and interruptions
included.
"""

from pyocci.check.outcome import Outcome, Result
from pyocci.check.registry import CHECKS, Check, SelectionError, select
from pyocci.check.report import Report
from pyocci.check.run import CheckOptions, run_checks


def all_checks() -> list[Check]:
    """Every check, in the order of a run."""
    import pyocci.check.checks  # noqa: F401  (registers them)

    return list(CHECKS)


__all__ = [
    "Check",
    "CheckOptions",
    "Outcome",
    "Report",
    "Result",
    "SelectionError",
    "all_checks",
    "run_checks",
    "select",
]
