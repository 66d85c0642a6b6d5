"""Printing results: ``--output table|json|yaml|plain|uri-list``.

A command answers an `Output`: the full records (what json and yaml
print), the rows and columns a table and plain text show, and which field
holds each record's URL (for uri-list). Results of several sites are merged
with a ``site`` column.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import yaml
from rich.console import Console
from rich.table import Table

from pyocci.client.waiting import state_of
from pyocci.model.category import Category
from pyocci.model.entity import Entity, Link, Resource
from pyocci.model.registry import Model

#: The absolute URL of a location on the endpoint (`OcciClient.url`).
UrlOf = Callable[[str], str]


@dataclass
class Output:
    """What a command prints."""

    #: The full records, for json and yaml.
    records: list[dict[str, Any]] = field(default_factory=list)
    #: Flat rows for table and plain: column key -> value.
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: (key, header) of the columns, in order.
    columns: list[tuple[str, str]] = field(default_factory=list)
    #: Show each record as its own key/value table (describe) rather than one row each.
    detailed: bool = False
    #: Column keys plain text prints, when not every column (a created entity: its location).
    plain: list[str] | None = None


def default_output() -> str:
    """``table`` on a terminal, ``plain`` when stdout is a pipe or a file."""
    return "table" if sys.stdout.isatty() else "plain"


def term(identifier: str | None) -> str:
    """The term of a category identifier."""
    return (identifier or "").rsplit("#", 1)[-1]


def entity_record(entity: Entity, url: str | None) -> dict[str, Any]:
    """An entity as json/yaml show it."""
    record: dict[str, Any] = {
        "location": entity.location,
        "url": url,
        "kind": entity.kind,
        "mixins": list(entity.mixins),
        "attributes": dict(entity.attributes),
        "actions": list(entity.actions),
    }
    if isinstance(entity, Resource):
        record["links"] = [
            {
                "location": link.location,
                "kind": link.kind,
                "target": link.target,
                "mixins": list(link.mixins),
                "attributes": dict(link.attributes),
            }
            for link in entity.links
        ]
    return record


def entity_row(model: Model, entity: Entity, url: str | None) -> dict[str, Any]:
    """An entity as one row of a table."""
    row = {
        "location": entity.location,
        "url": url,
        "kind": term(entity.kind),
        "title": entity.title or "",
        "state": state_of(model, entity) or "",
    }
    if isinstance(entity, Link):
        row["target"] = entity.target
    return row


ENTITY_COLUMNS = [
    ("location", "LOCATION"),
    ("kind", "KIND"),
    ("title", "TITLE"),
    ("state", "STATE"),
]


def entities_output(
    model: Model, entities: Sequence[Entity], url: UrlOf, *, detailed: bool = False
) -> Output:
    """The usual Output of entities: records, rows, and the entity columns.

    `url` makes the absolute URL of a location (`OcciClient.url`).
    """
    records, rows = [], []
    for entity in entities:
        absolute = url(entity.location) if entity.location else None
        records.append(entity_record(entity, absolute))
        rows.append(entity_row(model, entity, absolute))
    return Output(records, rows, list(ENTITY_COLUMNS), detailed=detailed)


def category_record(category: Category) -> dict[str, Any]:
    """A kind, mixin or template as json/yaml show it: identifier, term, title, location."""
    return {
        "id": category.id,
        "term": category.term,
        "title": category.title,
        "location": getattr(category, "location", None),
    }


def records_output(
    records: Sequence[dict[str, Any]],
    url: UrlOf,
    columns: Sequence[tuple[str, str]],
    *,
    plain: list[str] | None = None,
    result: str | None = None,
) -> Output:
    """An Output of records that each have a ``location``; rows add its URL and `result`."""
    rows = []
    for record in records:
        row = {**record, "url": url(record["location"]) if record.get("location") else None}
        if result is not None:
            row.setdefault("result", result)
        rows.append(row)
    return Output(list(records), rows, list(columns), plain=plain)


def merge(results: Sequence[tuple[str, Output]]) -> Output:
    """Several sites' outputs as one, with a site column."""
    merged = Output(columns=[("site", "SITE"), *(results[0][1].columns if results else [])])
    for site, output in results:
        merged.records.extend({"site": site, **record} for record in output.records)
        merged.rows.extend({"site": site, **row} for row in output.rows)
        merged.detailed = merged.detailed or output.detailed
        if output.plain:
            merged.plain = ["site", *output.plain]
    return merged


def emit(output: Output, style: str, stream: TextIO | None = None) -> None:
    """Print an Output in a style."""
    stream = stream or sys.stdout
    if style == "json":
        stream.write(json.dumps(output.records, indent=2, default=str) + "\n")
    elif style == "yaml":
        stream.write(
            yaml.safe_dump(_plain_data(output.records), sort_keys=False, allow_unicode=True)
        )
    elif style == "uri-list":
        stream.writelines(f"{row['url']}\n" for row in output.rows if row.get("url"))
    elif style == "plain":
        _plain(output, stream)
    else:
        _table(output, stream)


def _plain(output: Output, stream: TextIO) -> None:
    if output.detailed:
        blocks = []
        for record in output.records:
            lines = [f"{key}\t{_text(value)}" for key, value in _flatten(record)]
            blocks.append("\n".join(lines))
        stream.write("\n\n".join(blocks) + ("\n" if blocks else ""))
        return
    keys = output.plain or [key for key, _ in output.columns]
    stream.writelines("\t".join(_text(row.get(key)) for key in keys) + "\n" for row in output.rows)


def _table(output: Output, stream: TextIO) -> None:
    console = Console(file=stream, soft_wrap=False)
    if output.detailed:
        for record in output.records:
            table = Table(
                title=str(record.get("url") or record.get("location") or ""), show_header=False
            )
            table.add_column("name", style="bold")
            table.add_column("value", overflow="fold")
            for key, value in _flatten(record):
                table.add_row(key, _text(value))
            console.print(table)
        return
    table = Table()
    for _, header in output.columns:
        table.add_column(header, overflow="fold")
    for row in output.rows:
        table.add_row(*(_text(row.get(key)) for key, _ in output.columns))
    console.print(table)


def _flatten(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """A record as (name, value) lines: attributes one per line, links one per line."""
    lines: list[tuple[str, Any]] = []
    for key, value in record.items():
        if key == "attributes" and isinstance(value, dict):
            lines.extend(value.items())
        elif key == "links" and isinstance(value, list):
            lines.extend(
                (
                    "link",
                    f"{link.get('location')} -> {link.get('target')} ({term(link.get('kind'))})",
                )
                for link in value
            )
        elif key in ("mixins", "actions") and isinstance(value, list):
            lines.extend((key[:-1], item) for item in value)
        elif key != "url":
            lines.append((key, value))
    return lines


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _plain_data(value: Any) -> Any:
    """Records with only YAML-safe types (tuples and the like become lists and strings)."""
    if isinstance(value, dict):
        return {str(k): _plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_data(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
