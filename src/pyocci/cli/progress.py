"""``--wait``: a live display of the entities being waited for, on stderr."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pyocci.client.exports import ENDED, ExportStatus
from pyocci.client.waiting import Progress as ProgressCallback
from pyocci.model.entity import Entity

_lock = threading.Lock()


class WaitDisplay:
    """One progress line per entity: its location, its state, the time spent."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def tracker(self, label: str, wanted: str) -> ProgressCallback:
        """An `on_progress` callback for `OcciClient.wait_for` showing one entity."""
        with _lock:
            task = self._progress.add_task(f"{label}: waiting for {wanted}", total=None)

        def update(entity: Entity, state: str | None, elapsed: float) -> None:
            done = state == wanted
            with _lock:
                self._progress.update(
                    task,
                    description=f"{label}: {state or '?'}" + ("" if done else f" -> {wanted}"),
                )
                if done:
                    self._progress.stop_task(task)
                # Polls are seconds apart: draw each one rather than wait for a refresh tick.
                self._progress.refresh()

        return update

    def export_tracker(self, label: str) -> Callable[[ExportStatus, float], None]:
        """An `on_progress` callback for `wait_for_export`: state, percent and bytes."""
        with _lock:
            task = self._progress.add_task(f"{label}: pending", total=None)

        def update(status: ExportStatus, elapsed: float) -> None:
            shown = f"{label}: {status.state}"
            if status.stage is not None:
                shown += f" ({status.stage})"  # the percent below is the stage's
            if status.progress is not None:
                shown += f" {status.progress}%"
            if status.bytes:
                size = f" of {status.size / 1e6:.1f}" if status.size is not None else ""
                shown += f" ({status.bytes / 1e6:.1f}{size} MB)"
            with _lock:
                self._progress.update(task, description=shown)
                if status.state in ENDED:
                    self._progress.stop_task(task)
                self._progress.refresh()

        return update


class _SharedProgress:
    """The one live display of the process: rich allows one at a time, and with
    ``--site all`` several sites wait at once, each in its own thread."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.users = 0

    def acquire(self, console: Console | None) -> Progress:
        with _lock:
            if self.progress is None:
                console = console or Console(stderr=True)
                self.progress = Progress(
                    SpinnerColumn(),
                    TextColumn("{task.description}"),
                    TimeElapsedColumn(),
                    console=console,
                    disable=not console.is_terminal,
                )
                self.progress.start()
            self.users += 1
            return self.progress

    def release(self) -> None:
        with _lock:
            self.users -= 1
            if self.users == 0 and self.progress is not None:
                self.progress.stop()
                self.progress = None


_shared = _SharedProgress()


@contextmanager
def wait_display(console: Console | None = None) -> Iterator[WaitDisplay]:
    """Show progress while the block runs (only where stderr, or `console`, is a terminal).

    Blocks running at the same time (in threads) share one display.
    """
    progress = _shared.acquire(console)
    try:
        yield WaitDisplay(progress)
    finally:
        _shared.release()
