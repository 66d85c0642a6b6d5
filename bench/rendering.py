"""Parse and render throughput of every rendering, with a stdlib baseline beside it.

Run: ``python bench/rendering.py [--quick]``. Prints:

1. single-document latency: median parse time of one compute resource per
   media type (target < 50 us for text/plain and JSON);
2. throughput over the third-party vectors (documents/s and MB/s) per
   media type, where ``shared/vectors`` is beside the repository;
3. a generated collection of 10,000 computes with two links each: render
   (and, for JSON, parse) time, MB/s, and peak memory, next to the time
   ``json.dumps``/``json.loads`` take for equivalent plain data in the same
   run (target: JSON render < 0.5 s).

Absolute times drift on a shared machine; the ratio column compares with a
baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

from pyocci.model import Link, Resource, standard_model
from pyocci.model.infrastructure import COMPUTE_ACTION, INFRA
from pyocci.rendering import CODECS, ParseError, UnsupportedDocumentError
from pyocci.rendering.negotiation import OCCI_JSON, TEXT_OCCI, TEXT_PLAIN, URI_LIST

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"
OS_TPL = "http://example.org/occi/os_tpl#ubuntu-22.04"
SMALL = "http://schemas.ogf.org/occi/infrastructure/compute/template/1.1#small"
IPNETWORKINTERFACE = (
    "http://schemas.ogf.org/occi/infrastructure/networkinterface#ipnetworkinterface"
)


def make_compute(index: int) -> Resource:
    """A realistic compute: two templates, seven attributes, four actions, two links."""
    compute_id = str(uuid.UUID(int=index))
    location = f"/compute/{compute_id}"
    return Resource(
        kind=INFRA + "compute",
        mixins=[OS_TPL, SMALL],
        location=location,
        actions=[COMPUTE_ACTION + term for term in ("stop", "restart", "suspend", "save")],
        attributes={
            "occi.core.id": compute_id,
            "occi.core.title": f"vm-{index}",
            "occi.compute.architecture": "x64",
            "occi.compute.cores": 1,
            "occi.compute.memory": 1.0,
            "occi.compute.hostname": f"vm-{index}.example.org",
            "occi.compute.state": "active",
        },
        links=[
            Link(
                kind=INFRA + "networkinterface",
                mixins=[IPNETWORKINTERFACE],
                location=f"/networkinterface/{compute_id}_nic0",
                attributes={
                    "occi.core.id": f"{compute_id}_nic0",
                    "occi.core.source": location,
                    "occi.core.target": "/network/public",
                    "occi.core.target.kind": INFRA + "network",
                    "occi.networkinterface.interface": "eth0",
                    "occi.networkinterface.mac": f"02:00:00:00:{index // 256 % 256:02x}:"
                    f"{index % 256:02x}",
                    "occi.networkinterface.address": f"10.0.{index // 256 % 256}.{index % 256}",
                    "occi.networkinterface.state": "active",
                },
            ),
            Link(
                kind=INFRA + "storagelink",
                location=f"/storagelink/{compute_id}_disk0",
                attributes={
                    "occi.core.id": f"{compute_id}_disk0",
                    "occi.core.source": location,
                    "occi.core.target": f"/storage/{compute_id}",
                    "occi.core.target.kind": INFRA + "storage",
                    "occi.storagelink.deviceid": "/dev/vdb",
                    "occi.storagelink.state": "active",
                },
            ),
        ],
    )


def plain_data(resource: Resource) -> dict:
    """The same content as plain dicts: what json.dumps alone would be asked to write."""
    return {
        "kind": resource.kind,
        "mixins": resource.mixins,
        "attributes": resource.attributes,
        "actions": resource.actions,
        "id": resource.id,
        "links": [
            {"kind": link.kind, "mixins": link.mixins, "attributes": link.attributes}
            for link in resource.links
        ],
    }


def median_seconds(function: Callable[[], object], *, repeat: int, number: int) -> float:
    """Median over `repeat` runs of the time one call takes (each run makes `number` calls)."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def single_document_latency(quick: bool) -> None:
    model = standard_model()
    compute = make_compute(7)
    repeat, number = (5, 200) if quick else (15, 1000)
    rows = []
    for media_type in (TEXT_PLAIN, TEXT_OCCI, OCCI_JSON):
        codec = CODECS[media_type]
        rendering = codec.render_entity(compute)
        parse_plain = median_seconds(
            lambda c=codec, r=rendering: c.parse_entity(r.body, r.headers),
            repeat=repeat,
            number=number,
        )
        parse_model = median_seconds(
            lambda c=codec, r=rendering: c.parse_entity(r.body, r.headers, model=model),
            repeat=repeat,
            number=number,
        )
        render = median_seconds(
            lambda c=codec: c.render_entity(compute), repeat=repeat, number=number
        )
        size = len(rendering.body) + sum(len(k) + len(v) + 4 for k, v in rendering.headers)
        rows.append(
            [
                media_type,
                str(size),
                f"{parse_plain * 1e6:.1f}",
                f"{parse_model * 1e6:.1f}",
                f"{render * 1e6:.1f}",
            ]
        )
    body = CODECS[OCCI_JSON].render_entity(compute).body
    baseline = median_seconds(lambda: json.loads(body), repeat=repeat, number=number)
    rows.append(["(json.loads baseline)", str(len(body)), f"{baseline * 1e6:.1f}", "", ""])
    print_table(
        "One compute with 2 links: median time per document (target: parse < 50 us)",
        ["media type", "bytes", "parse us", "parse+model us", "render us"],
        rows,
    )


def vector_documents() -> dict[str, list[tuple[bytes, tuple[tuple[str, str], ...]]]]:
    """Positive vectors by media type, as (body, headers) ready to parse."""
    index = json.loads((VECTORS / "index.json").read_text())
    documents: dict[str, list[tuple[bytes, tuple[tuple[str, str], ...]]]] = {
        TEXT_PLAIN: [],
        OCCI_JSON: [],
    }
    for entry in index:
        if entry["expect"] != "positive":
            continue
        path = VECTORS / entry["file"]
        if entry["format"] == "text" and not path.name.endswith(".http"):
            documents[TEXT_PLAIN].append((path.read_bytes(), ()))
        elif entry["format"] == "json":
            documents[OCCI_JSON].append((path.read_bytes(), ()))
    return documents


def reader_for(codec, body: bytes, headers) -> Callable[[], object] | None:
    """The parse call that reads a vector (entity, categories, action or locations)."""
    for parse in (
        codec.parse_entity,
        codec.parse_categories,
        codec.parse_action,
        codec.parse_locations,
    ):
        try:
            parse(body, headers)
        except (ParseError, UnsupportedDocumentError):
            continue
        return functools.partial(parse, body, headers)
    return None


def vector_throughput(quick: bool) -> None:
    if not (VECTORS / "index.json").exists():
        print("\n(vectors not found beside the repository: throughput over vectors skipped)")
        return
    rows = []
    for media_type, documents in vector_documents().items():
        codec = CODECS[media_type]
        readers = []
        total_bytes = 0
        for body, headers in documents:
            reader = reader_for(codec, body, headers)
            if reader is not None:
                readers.append(reader)
                total_bytes += len(body)
        rounds = 3 if quick else 20
        start = time.perf_counter()
        for _ in range(rounds):
            for reader in readers:
                reader()
        elapsed = (time.perf_counter() - start) / rounds
        rows.append(
            [
                media_type,
                f"{len(readers)}/{len(documents)}",
                f"{len(readers) / elapsed:,.0f}",
                f"{total_bytes / elapsed / 1e6:.2f}",
            ]
        )
    print_table(
        "Positive third-party vectors that parse as one document (the rest are other media "
        "types or upstream mistakes)",
        ["media type", "documents", "docs/s", "MB/s"],
        rows,
    )


def collection_benchmark(quick: bool) -> None:
    count = 2_000 if quick else 10_000
    computes = [make_compute(i) for i in range(count)]
    rows = []
    for media_type in (OCCI_JSON, TEXT_PLAIN, TEXT_OCCI, URI_LIST):
        codec = CODECS[media_type]
        gc.collect()
        start = time.perf_counter()
        rendering = codec.render_collection(computes)
        elapsed = time.perf_counter() - start
        size = len(rendering.body) + sum(len(k) + len(v) + 4 for k, v in rendering.headers)
        rows.append(
            [
                f"render {media_type}",
                f"{elapsed:.3f}",
                f"{count / elapsed:,.0f}",
                f"{size / elapsed / 1e6:.1f}",
                f"{size / 1e6:.1f}",
            ]
        )
    json_codec = CODECS[OCCI_JSON]
    body = json_codec.render_collection(computes).body
    gc.collect()
    start = time.perf_counter()
    entities = json_codec.parse_entities(body)
    elapsed = time.perf_counter() - start
    assert len(entities) == count
    rows.append(
        [
            "parse application/occi+json",
            f"{elapsed:.3f}",
            f"{count / elapsed:,.0f}",
            f"{len(body) / elapsed / 1e6:.1f}",
            f"{len(body) / 1e6:.1f}",
        ]
    )
    plain = [plain_data(c) for c in computes]
    start = time.perf_counter()
    dumped = json.dumps({"resources": plain}, separators=(",", ":"))
    dump_time = time.perf_counter() - start
    start = time.perf_counter()
    json.loads(dumped)
    load_time = time.perf_counter() - start
    rows.append(
        ["(json.dumps of plain dicts)", f"{dump_time:.3f}", "", "", f"{len(dumped) / 1e6:.1f}"]
    )
    rows.append(["(json.loads of the same)", f"{load_time:.3f}", "", "", ""])
    print_table(
        f"Collection of {count:,} computes with 2 links each (target: JSON render < 0.5 s)",
        ["operation", "seconds", "entities/s", "MB/s", "MB"],
        rows,
    )
    json_render = float(rows[0][1])
    print(f"JSON render / json.dumps of the same data: {json_render / dump_time:.2f}x")
    print(f"JSON parse / json.loads of the same bytes: {elapsed / load_time:.2f}x")

    # Peak memory: the entities, the whole rendering, and streaming in chunks.
    del body, dumped, plain, entities
    gc.collect()
    tracemalloc.start()
    computes_again = [make_compute(i) for i in range(count)]
    model_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    json_codec.render_collection(computes_again)
    render_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    for _chunk in json_codec.iter_collection(iter(computes_again)):
        pass
    stream_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print_table(
        f"Peak traced memory, {count:,} computes",
        ["what", "MiB"],
        [
            ["the entities themselves", f"{model_peak / 2**20:.1f}"],
            ["entities + whole JSON rendering", f"{render_peak / 2**20:.1f}"],
            ["entities + streamed JSON (iter_collection)", f"{stream_peak / 2**20:.1f}"],
        ],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, 2,000 computes")
    arguments = parser.parse_args()
    print(f"pyocci rendering benchmark (python {sys.version.split()[0]})")
    single_document_latency(arguments.quick)
    vector_throughput(arguments.quick)
    collection_benchmark(arguments.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
