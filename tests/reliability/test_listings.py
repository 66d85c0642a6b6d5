"""Small requests are answered while big listings stream (the figure is the bench's)."""

from __future__ import annotations

from pathlib import Path

from reliability.listings import probe_during_listings


def test_probes_are_answered_while_listings_stream(tmp_path: Path) -> None:
    # Every probe and every listing asserts its own 200; a starved server would make
    # the probes outlast the listings' time and fail on the readers' bound.
    idle, busy = probe_during_listings(tmp_path, computes=200, listings=8, probes=60, seconds=8.0)
    assert len(idle.probes_ms) == len(busy.probes_ms) == 60
    assert busy.listings_read >= 8, "each reader finished at least one full listing"
