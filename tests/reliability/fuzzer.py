"""The HTTP fuzzer: seeded requests over raw sockets, several connections at once.

`fuzz(url, requests=..., seed=...)` sends requests made by `fuzzcases.generate`
and records the status of every answer. A failure is a 5xx (other than 501,
which says on purpose that something is not implemented, such as a newer
OCCI version), a connection closed or reset with no answer (or half of one)
to a complete request, or no answer within `answer_timeout`. Requests built
to be incomplete (a Content-Length longer than the body, a chunked body
without its end) are given `incomplete_wait` for an answer, then dropped:
only a 5xx counts against them. Each failure carries the seed, the index and
the exact bytes, and ``python -m reliability.fuzzer URL --seed S --replay
INDEX`` (in ``tests/``) sends that one request again.

`KNOWN_ISSUES` names failures tracked elsewhere: a run leaves the requests
matching the issues it is told to skip unsent (counted), and
`unexpected_errors` leaves out the log entries they explain, so that the rest
of the run stays meaningful. Deleting an entry re-enables it everywhere.

`figures(scale)` runs the fuzzer against fresh servers on SQLite and on
PostgreSQL (the bench's "fuzz requests sent and 5xx seen").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httptools

from reliability.figures import Figure
from reliability.fuzzcases import Case, Corpus, generate, load_corpus

#: How long a complete request may wait for its whole answer (the machine is shared
#: and noisy: this bounds a hang, it does not measure speed).
ANSWER_TIMEOUT = 20.0
#: How long an incomplete request waits for an early answer before it is dropped.
INCOMPLETE_WAIT = 0.3


@dataclass(frozen=True)
class KnownIssue:
    """A failure known and tracked elsewhere: the requests that meet it (`matches`, left
    unsent when the issue is skipped) or the server-log entries it leaves (`in_log`,
    not counted as unexpected errors when the issue is skipped)."""

    name: str
    why: str
    matches: Callable[[Case], bool] | None = None
    in_log: re.Pattern[str] | None = None


#: Failures owned elsewhere; pass their names to `fuzz(skip=...)` and
#: `unexpected_errors(skip=...)` where they apply. Remove an entry once its fix lands.
KNOWN_ISSUES: dict[str, KnownIssue] = {
    issue.name: issue
    for issue in (
        KnownIssue(
            "uvicorn-pipelined-disconnect",
            "uvicorn (httptools, uvloop) marks only the newest of pipelined requests "
            "disconnected when the client goes: the answer to an earlier one, still being "
            "worked on, is written to the closed connection and logged as an ASGI error "
            "(the client is gone; nobody sees a 500)",
            in_log=re.compile(
                r"Exception in ASGI application.*httptools_impl.*RuntimeError: unable to "
                r"perform operation on <TCPTransport closed=True",
                re.DOTALL,
            ),
        ),
    )
}


@dataclass(frozen=True)
class Failure:
    """A request the server answered wrongly, or not at all."""

    case: Case
    #: "5xx", "reset" (closed without a whole answer), "hang", "bad answer", "connect".
    what: str
    status: int | None
    detail: str

    def describe(self, limit: int = 2000) -> str:
        """What happened, the bytes sent (cut at `limit`) and how to replay it."""
        data = self.case.data
        shown = repr(data[:limit]) + (
            f" ... ({len(data) - limit} more bytes)" if len(data) > limit else ""
        )
        return (
            f"{self.what} (status {self.status}; {self.detail}) for request {self.case.index} of "
            f"seed {self.case.seed}, shape {self.case.shape}:\n  {shown}\n  replay (in tests/): "
            f"python -m reliability.fuzzer URL --seed {self.case.seed} --replay {self.case.index}"
        )


@dataclass
class FuzzReport:
    """What a fuzz run sent and what came back."""

    seed: int
    sent: int = 0
    #: Status (or "no answer" for dropped incomplete requests) -> count.
    statuses: Counter[int | str] = field(default_factory=Counter)
    #: Requests left unsent because they match a skipped known issue, by issue.
    skipped: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        """Answers with a failing 5xx status."""
        return sum(n for s, n in self.statuses.items() if isinstance(s, int) and _fails(s))

    def summary(self) -> str:
        """One paragraph: requests, statuses, failures, skips."""
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items(), key=str))
        skipped = ", ".join(f"{name}: {n}" for name, n in self.skipped.items()) or "none"
        return (
            f"seed {self.seed}: {self.sent} requests in {self.seconds:.1f} s; "
            f"statuses {statuses}; {len(self.failures)} failures; skipped (known issues) "
            f"{skipped}"
        )


def _fails(status: int) -> bool:
    return status >= 500 and status != 501


# --- one exchange ------------------------------------------------------------------------------


class _Answer:
    """The response as httptools reads it (only what the verdict needs)."""

    def __init__(self, head_only: bool) -> None:
        self.head_only = head_only
        self.status: int | None = None
        self.done = False
        self.keep_alive = False
        self.parser = httptools.HttpResponseParser(self)

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status >= 200:
            self.status = status
            if self.head_only:
                self.done = True  # a HEAD answer has no body, whatever its length says

    def on_message_complete(self) -> None:
        if self.parser.get_status_code() >= 200:  # 100 Continue is not the answer
            self.done = True
            self.keep_alive = self.parser.should_keep_alive()


@dataclass
class _Outcome:
    status: int | None
    failure: str | None = None
    detail: str = ""
    keep_alive: bool = False
    #: The server closed a reused connection before sending a byte: the request may be
    #: sent again on a new one (the keep-alive race every HTTP client allows for).
    stale: bool = False


async def _connect(host: str, port: int, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (host, port)), timeout)
    except BaseException:
        sock.close()
        raise
    return sock


async def _exchange(
    sock: socket.socket,
    case: Case,
    *,
    reused: bool,
    answer_timeout: float,
    incomplete_wait: float,
) -> _Outcome:
    """Send `case` and read the answer, both at once: a server may answer (413, 400)
    before it has read the whole request, and close."""
    loop = asyncio.get_running_loop()
    answer = _Answer(head_only=case.method.upper() == b"HEAD")
    wait = answer_timeout if case.complete else incomplete_wait
    deadline = loop.time() + wait
    sending = asyncio.ensure_future(loop.sock_sendall(sock, case.data))
    received = 0
    try:
        while not answer.done:
            try:
                data = await asyncio.wait_for(
                    loop.sock_recv(sock, 65536), max(deadline - loop.time(), 0.001)
                )
            except TimeoutError:
                if case.complete:
                    return _Outcome(answer.status, "hang", f"no whole answer within {wait} s")
                return _Outcome(answer.status)  # the server waits for the rest: fine
            except ConnectionError as error:
                data, how = b"", f"reset ({type(error).__name__})"
            else:
                how = "closed"
            if not data:
                if reused and received == 0:
                    return _Outcome(None, stale=True)
                if answer.status is not None and _fails(answer.status):
                    return _Outcome(answer.status)  # the 5xx is the failure
                if case.complete and sending.done() and sending.exception() is None:
                    return _Outcome(answer.status, "reset", f"connection {how} before an answer")
                # The server stopped reading before the request ended (a refusal whose
                # answer a reset may have overtaken), or the request was incomplete.
                return _Outcome(answer.status)
            received += len(data)
            try:
                answer.parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                answer.done = True
            except httptools.HttpParserError as error:
                return _Outcome(answer.status, "bad answer", f"unreadable response: {error}")
        return _Outcome(answer.status, keep_alive=answer.keep_alive)
    finally:
        sending.cancel()
        with contextlib.suppress(BaseException):
            await sending


# --- the run -----------------------------------------------------------------------------------


async def _run(
    host: str,
    port: int,
    cases: Iterator[Case],
    report: FuzzReport,
    skip: Collection[str],
    connections: int,
    answer_timeout: float,
    incomplete_wait: float,
) -> None:
    issues = [KNOWN_ISSUES[name] for name in skip if KNOWN_ISSUES[name].matches]
    gone = 0

    async def send(case: Case, sock: socket.socket | None) -> tuple[_Outcome, socket.socket]:
        """The outcome of `case` on `sock` (a new connection if None or stale)."""
        for reused in (True, False) if sock is not None else (False,):
            if not reused:
                if sock is not None:
                    sock.close()
                sock = await _connect(host, port, answer_timeout)
            assert sock is not None
            outcome = await _exchange(
                sock,
                case,
                reused=reused,
                answer_timeout=answer_timeout,
                incomplete_wait=incomplete_wait,
            )
            if not outcome.stale:
                return outcome, sock
        raise AssertionError("unreachable: a new connection is never stale")

    async def worker() -> None:
        nonlocal gone
        sock: socket.socket | None = None
        for case in cases:
            issue = next((i for i in issues if i.matches and i.matches(case)), None)
            if issue is not None:
                report.skipped[issue.name] += 1
                continue
            try:
                outcome, sock = await send(case, sock)
            except (OSError, TimeoutError) as error:
                sock = None
                gone += 1
                report.failures.append(Failure(case, "connect", None, repr(error)))
                if gone >= 5:
                    return  # the server is gone: the failures say so already
                continue
            report.sent += 1
            report.statuses[outcome.status if outcome.status is not None else "no answer"] += 1
            if outcome.failure is None and outcome.status is not None and _fails(outcome.status):
                outcome.failure = "5xx"
            if outcome.failure is not None:
                report.failures.append(
                    Failure(case, outcome.failure, outcome.status, outcome.detail)
                )
            if outcome.failure or not (case.reuse and outcome.keep_alive):
                sock.close()
                sock = None
        if sock is not None:
            sock.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


def _cases(
    seed: int, indexes: range, corpus: Corpus, credentials: tuple[str, str] | None
) -> Iterator[Case]:
    for index in indexes:
        yield generate(seed, index, corpus, credentials)


def fuzz(
    url: str,
    *,
    requests: int,
    seed: int,
    corpus: Corpus,
    connections: int = 8,
    credentials: tuple[str, str] | None = None,
    skip: Collection[str] = (),
    first: int = 0,
    answer_timeout: float = ANSWER_TIMEOUT,
    incomplete_wait: float = INCOMPLETE_WAIT,
) -> FuzzReport:
    """Send requests ``first .. first + requests - 1`` of `seed` to the server at `url`
    over `connections` connections; `credentials` (user, password) go with most of
    them as HTTP basic. Requests matching the `KNOWN_ISSUES` named in `skip` are not
    sent."""
    unknown = set(skip) - set(KNOWN_ISSUES)
    if unknown:
        raise ValueError(f"no known issues named {sorted(unknown)}")
    parts = urlsplit(url)
    report = FuzzReport(seed)
    cases = _cases(seed, range(first, first + requests), corpus, credentials)
    started = time.monotonic()
    asyncio.run(
        _run(
            parts.hostname or "127.0.0.1",
            parts.port or 80,
            cases,
            report,
            skip,
            connections,
            answer_timeout,
            incomplete_wait,
        )
    )
    report.seconds = time.monotonic() - started
    return report


def replay(url: str, case: Case, answer_timeout: float = ANSWER_TIMEOUT) -> tuple[int | None, str]:
    """Send one case on a new connection: its status (None: no answer) and the verdict."""

    async def once() -> tuple[int | None, str]:
        parts = urlsplit(url)
        sock = await _connect(parts.hostname or "127.0.0.1", parts.port or 80, answer_timeout)
        try:
            outcome = await _exchange(
                sock,
                case,
                reused=False,
                answer_timeout=answer_timeout,
                incomplete_wait=INCOMPLETE_WAIT,
            )
        finally:
            sock.close()
        failure = outcome.failure or (
            "5xx" if outcome.status is not None and _fails(outcome.status) else "ok"
        )
        return outcome.status, failure

    return asyncio.run(once())


# --- figures for the bench ---------------------------------------------------------------------

#: Requests per database, and how many with basic authentication on top, by scale.
SCALES = {"quick": (20_000, 2_000), "full": (100_000, 5_000)}
#: The known issues each database skips (see `KNOWN_ISSUES`).
SKIPPED_ON = {
    "sqlite": ("uvicorn-pipelined-disconnect",),
    "postgresql": ("uvicorn-pipelined-disconnect",),
}

BASIC_AUTH_CONFIG = """
[auth]
method = "basic"
users_file = "users.toml"
"""
FUZZ_USER = ("fuzzer", "fuzz-s3cret")


def add_fuzz_user(workdir: Path) -> None:
    """Write a users file holding `FUZZ_USER` (tenant ``fuzz``) in `workdir`."""
    from pyocci.server.auth import User, hash_password, write_users_file

    user, password = FUZZ_USER
    write_users_file(
        workdir / "users.toml", {user: User(user, "fuzz", hash_password(password), None)}
    )


def unexpected_errors(log: Path, skip: Collection[str] = ()) -> list[str]:
    """The entries of a server log that report an unexpected error (pyocci's 500 with a
    traceback, or an error logged by the ASGI server), each with the 30 lines after it;
    without those the `KNOWN_ISSUES` named in `skip` explain."""
    known = [KNOWN_ISSUES[name].in_log for name in skip if KNOWN_ISSUES[name].in_log]
    lines = log.read_text(errors="replace").splitlines()
    entries = [
        "\n".join(lines[n : n + 30])
        for n, line in enumerate(lines)
        if "unexpected error" in line or line.startswith("ERROR")
    ]
    return [e for e in entries if not any(p.search(e) for p in known if p is not None)]


def _fuzz_database(
    kind: str, plain: int, with_auth: int, corpus: Corpus
) -> tuple[list[FuzzReport], int]:
    """Fuzz fresh servers on a database of `kind`, without and with HTTP basic: the
    reports, and the unexpected errors their logs hold."""
    from e2e.server import occi_server
    from postgres import database_of

    skip = SKIPPED_ON[kind]
    reports = []
    logged = 0
    with database_of(kind) as database_url, tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        with occi_server(workdir, database_url=database_url) as server:
            reports.append(fuzz(server.url, requests=plain, seed=1, corpus=corpus, skip=skip))
        logged += len(unexpected_errors(server.log, skip))
        add_fuzz_user(workdir)
        with occi_server(workdir, database_url=database_url, config=BASIC_AUTH_CONFIG) as server:
            reports.append(
                fuzz(
                    server.url,
                    requests=with_auth,
                    seed=2,
                    corpus=corpus,
                    credentials=FUZZ_USER,
                    skip=skip,
                )
            )
        logged += len(unexpected_errors(server.log, skip))
    return reports, logged


def figures(scale: str) -> list[Figure]:
    """Fuzz requests sent and 5xx seen, per database, at `scale` ("quick" or "full")."""
    corpus = load_corpus()
    if corpus is None:
        return [Figure("fuzz requests", "not run: shared/vectors is missing", "", False)]
    plain, with_auth = SCALES[scale]
    rows = []
    for kind in ("sqlite", "postgresql"):
        reports, logged = _fuzz_database(kind, plain, with_auth, corpus)
        sent = sum(r.sent for r in reports)
        errors = sum(r.server_errors for r in reports)
        failures = sum(len(r.failures) for r in reports)
        skipped = sum(sum(r.skipped.values()) for r in reports)
        note = f"; {skipped:,} left unsent (known issues: {', '.join(SKIPPED_ON[kind])})"
        rows.append(
            Figure(
                f"fuzz on {kind}: 5xx seen of requests sent",
                f"{errors:,} of {sent:,}; {failures:,} failures (5xx, resets, hangs); "
                f"{logged} unexpected errors logged{note if skipped else ''}",
                f"0 of >= {plain + with_auth:,}",
                not (errors or failures or logged) and sent + skipped >= plain + with_auth,
            )
        )
    return rows


# --- command line ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m reliability.fuzzer URL [--seed S] [--requests N | --replay INDEX]``:
    fuzz a running server (run in ``tests/``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--first", type=int, default=0, help="the index of the first request")
    parser.add_argument("--replay", type=int, metavar="INDEX", help="send only this request")
    parser.add_argument("--user", help="USER:PASSWORD for HTTP basic")
    parser.add_argument("--skip", action="append", default=[], choices=sorted(KNOWN_ISSUES))
    args = parser.parse_args(argv)
    corpus = load_corpus()
    if corpus is None:
        print("shared/vectors is missing: no documents to fuzz with", file=sys.stderr)
        return 2
    credentials = tuple(args.user.split(":", 1)) if args.user else None
    if args.replay is not None:
        case = generate(args.seed, args.replay, corpus, credentials)  # type: ignore[arg-type]
        print(repr(case.data))
        status, verdict = replay(args.url, case)
        print(f"status {status}: {verdict}")
        return 0 if verdict == "ok" else 1
    report = fuzz(
        args.url,
        requests=args.requests,
        seed=args.seed,
        first=args.first,
        corpus=corpus,
        credentials=credentials,  # type: ignore[arg-type]
        skip=args.skip,
    )
    print(report.summary())
    for failure in report.failures[:20]:
        print(failure.describe(500))
    return 1 if report.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
