"""A clock the test moves by hand, for code that takes an injectable clock (and sleep).

Time passes only when the test says so (``clock.now += 5``, ``clock.advance(5)``)
or when the code under test sleeps on it (``clock.sleep``, ``clock.asleep``),
so that ages, deadlines and back-offs are not a matter of timing.
"""

from __future__ import annotations

#: Where a clock starts unless told otherwise: a plausible ``time.time()``
#: (2023-11-14T22:13:20Z), for code that reads the clock as a date.
START = 1_700_000_000.0


class FakeClock:
    """Seconds since the epoch that move only when told to, or when code sleeps on them.

    Pass the clock itself (or `time`) where a ``() -> float`` clock is expected,
    `sleep` where a blocking sleep is and `asleep` where an async one is: both
    record the pause in `pauses` and move the clock by it, without waiting.
    """

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def time(self) -> float:
        """The current time (`now`), as ``time.time`` would answer it."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """Record a pause of `seconds` and let that much time pass, at once."""
        self.pauses.append(seconds)
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        """`sleep`, for code that awaits its sleep."""
        self.sleep(seconds)
