"""What recording usage for accounting costs a compute's changes: on against off.

Run: ``python bench/accounting.py [--quick]``.

In-process, through the service (no HTTP): two services over the sim, each
on a SQLite file of its own, one recording usage (``[accounting] enabled``,
the default) and one not (the baseline). A cycle is one compute's life:
create, stop, start, delete, four changes, each recorded by the first
service in the transaction that makes the change (the sim keeps its
computes in the same database). Rounds alternate the two; each figure
is the median time per cycle over the rounds, and its ratio to the
baseline measured in the same run. The machine is shared: read the ratio,
not the milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from pyocci.backends.api import Tenant
from pyocci.backends.sim.backend import SimBackend
from pyocci.model.category import Kind
from pyocci.model.entity import Resource
from pyocci.model.infrastructure import COMPUTE
from pyocci.model.standard import standard_model
from pyocci.service.accounting import UsageRecorder
from pyocci.service.occi import OcciService
from pyocci.service.paths import EntityPath, resolve
from pyocci.store import Database
from pyocci.store.mixins import MixinRepository
from pyocci.store.usage import UsageRepository

TENANT = Tenant("bench")


async def _service(directory: Path, name: str, *, recording: bool) -> OcciService:
    database = Database(f"sqlite:///{directory / name}.sqlite3")
    database.upgrade()
    standard = standard_model()
    backend = SimBackend(model=standard, database=database)
    await backend.open()
    return OcciService(
        standard=standard,
        backend=backend,
        store=MixinRepository(database),
        runner=database,
        usage=UsageRecorder(UsageRepository(database), database) if recording else None,
    )


async def _cycles(service: OcciService, count: int) -> float:
    """Seconds per compute life (create, stop, start, delete), over `count` lives."""
    model = await service.model_for(TENANT)
    kind = model.get(COMPUTE.id)
    assert isinstance(kind, Kind)
    began = time.perf_counter()
    for _ in range(count):
        written = await service.create(TENANT, model, kind, Resource(kind=COMPUTE.id))
        path = resolve(model, written.entities[0].location or "")
        assert isinstance(path, EntityPath)
        for term in ("stop", "start"):
            await service.trigger(TENANT, model, path, term, None)
        await service.delete(TENANT, model, path)
    return (time.perf_counter() - began) / count


async def _main(rounds: int, lives: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        off = await _service(Path(directory), "off", recording=False)
        on = await _service(Path(directory), "on", recording=True)
        await _cycles(off, 5)  # warm both up: caches, the first transactions
        await _cycles(on, 5)
        times: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(rounds):
            times["off"].append(await _cycles(off, lives))
            times["on"].append(await _cycles(on, lives))
    baseline = statistics.median(times["off"])
    print(f"{'accounting':<12}{'ms per life':>12}{'ratio':>8}")
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"{name:<12}{median * 1000:>12.2f}{median / baseline:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    args = parser.parse_args()
    rounds, lives = (3, 20) if args.quick else (9, 100)
    asyncio.run(_main(rounds, lives))


if __name__ == "__main__":
    main()
