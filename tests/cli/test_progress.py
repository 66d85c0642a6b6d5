"""The --wait display: one line per entity with its state."""

from __future__ import annotations

import io
import threading

from rich.console import Console

from pyocci.cli.progress import wait_display
from pyocci.model import Resource

COMPUTE = "http://schemas.ogf.org/occi/infrastructure#compute"


def test_the_display_follows_the_state_on_a_terminal():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with wait_display(console) as display:
        update = display.tracker("/compute/1", "active")
        update(Resource(kind=COMPUTE), "waiting", 0.5)
        update(Resource(kind=COMPUTE), "active", 1.0)
    shown = screen.getvalue()
    assert "/compute/1: waiting -> active" in shown
    assert "/compute/1: active" in shown


def test_nothing_is_drawn_where_stderr_is_not_a_terminal():
    screen = io.StringIO()
    with wait_display(Console(file=screen, force_terminal=False)) as display:
        display.tracker("/compute/1", "active")(Resource(kind=COMPUTE), "active", 0.1)
    assert screen.getvalue() == ""


def test_waits_in_several_threads_share_one_display():
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    started = threading.Barrier(3)
    failures: list[BaseException] = []

    def wait(site: str) -> None:
        try:
            with wait_display(console) as display:
                started.wait(timeout=10)
                display.tracker(f"{site}:/compute/1", "active")(Resource(kind=COMPUTE), "active", 1)
                started.wait(timeout=10)
        except BaseException as error:  # collected for the assertion below
            failures.append(error)

    threads = [threading.Thread(target=wait, args=(site,)) for site in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert failures == []
    shown = screen.getvalue()
    assert all(f"{site}:/compute/1: active" in shown for site in "abc")
