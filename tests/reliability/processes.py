"""A server as the kernel sees it: its process tree, memory and open files (Linux ``/proc``).

An ``occi-server`` with several workers is a supervisor and its worker
processes; `tree` finds them all, `kill_tree` kills them all at once (kill -9
of the whole server), `rss_bytes` and `open_fds` add up what they hold.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")


def children(pid: int) -> list[int]:
    """The direct children of a process (none if it is gone)."""
    found: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants, parents before children."""
    found = [pid]
    index = 0
    while index < len(found):
        found += [child for child in children(found[index]) if child not in found]
        index += 1
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return fields[0] not in ("Z", "X")


def kill_tree(pid: int, timeout: float = 15.0) -> list[int]:
    """SIGKILL `pid` and every descendant, the root first (so no worker is restarted),
    and wait until all are gone; the pids killed. TimeoutError if one lives on."""
    pids = tree(pid)
    for one in pids:
        try:
            os.kill(one, signal.SIGKILL)
        except ProcessLookupError:
            continue
    # Workers started between the listing and the root's death would be orphans: look
    # for them under the dead root's pids once more.
    pids += [child for one in pids for child in tree(one) if child not in pids]
    for one in pids:
        try:
            os.kill(one, signal.SIGKILL)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + timeout
    while any(alive(one) for one in pids):
        if time.monotonic() > deadline:
            raise TimeoutError(f"processes {[p for p in pids if alive(p)]} outlived SIGKILL")
        time.sleep(0.02)
    return pids


def rss_bytes(pid: int) -> int:
    """The resident memory of `pid` and its descendants, in bytes."""
    total = 0
    for one in tree(pid):
        try:
            for line in (PROC / str(one) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def open_fds(pid: int) -> int:
    """The open file descriptors of `pid` and its descendants."""
    total = 0
    for one in tree(pid):
        try:
            total += len(os.listdir(PROC / str(one) / "fd"))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total
