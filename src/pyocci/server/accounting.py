"""``occi-server accounting export``: the usage records of a period, as APEL or JSON.

The records come from the store (`pyocci.store.usage`, filled by the
service as computes change) and are computed by
`pyocci.service.usage_records`; this module reads the period the operator
names, and writes the records in one of two formats:

- ``apel``: an APEL cloud usage record message, format v0.4: the header
  line ``APEL-cloud-message: v0.4``, then each record as ``Field: value``
  lines in APEL's order, each record followed by a ``%%`` line. A value
  the server does not know is written ``NULL``.
- ``json``: ``{"since", "until", "records": [...]}``, instants as ISO 8601
  UTC text, each record an object with APEL's field names (null for what
  is unknown), one record a line.

Both are written a page of computes at a time, so an export of a large
site holds one page in memory, not the whole period.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import json
import math
from collections.abc import Iterable
from typing import TextIO

from pyocci.server.config import ServerConfig, redact_url
from pyocci.service.usage_records import FIELDS, Site, UsageRecord, records
from pyocci.store.database import Database, default_database_url
from pyocci.store.errors import StoreError
from pyocci.store.usage import UsageRepository

#: The formats `render` writes.
FORMATS = ("apel", "json")
#: The first line of an APEL cloud usage record message of the format written.
APEL_HEADER = "APEL-cloud-message: v0.4"
#: What separates (and ends) records in an APEL message.
APEL_SEPARATOR = "%%"
#: How an APEL message writes a value the server does not know.
APEL_NULL = "NULL"


class ExportError(Exception):
    """A period or a configuration the export cannot work with, said in one line."""


def parse_instant(text: str, option: str) -> float:
    """Seconds since the epoch of an ISO 8601 date or date and time (UTC unless it says
    otherwise: ``2026-12-01``, ``2026-12-01T08:00:00Z``, ``2026-12-01T09:00+01:00``), or
    of a number of seconds since the epoch; ExportError naming `option` otherwise."""
    stripped = text.strip()
    try:
        seconds = float(stripped)
    except ValueError:
        pass
    else:
        if math.isfinite(seconds) and _representable(seconds):
            return seconds
        raise ExportError(f"{option}: {text!r} is not a time between the years 1970 and 9999")
    try:
        moment = datetime.datetime.fromisoformat(stripped)
    except ValueError:
        raise ExportError(
            f"{option}: {text!r} is not a time; give an ISO 8601 date or date and time "
            "(2026-12-01, 2026-12-01T08:00:00Z) or seconds since the epoch"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    seconds = moment.timestamp()
    if not _representable(seconds):
        raise ExportError(f"{option}: {text!r} is not a time between the years 1970 and 9999")
    return seconds


def _representable(seconds: float) -> bool:
    try:
        datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return False
    return seconds >= 0


def site_of(config: ServerConfig, format_: str) -> Site:
    """Who reports, from ``[accounting]``; the APEL format needs the site's and the cloud
    service's names (ExportError when one is not set)."""
    accounting = config.accounting
    if format_ == "apel":
        for key, value in (
            ("site_name", accounting.site_name),
            ("cloud_compute_service", accounting.cloud_compute_service),
        ):
            if value is None:
                raise ExportError(
                    f"the APEL format needs [accounting] {key} (or PYOCCI_ACCOUNTING_"
                    f"{key.upper()}): the name the accounting repository knows"
                )
    return Site(
        name=accounting.site_name,
        cloud_compute_service=accounting.cloud_compute_service,
        cloud_type=accounting.cloud_type or config.backend,
    )


def export(config: ServerConfig, since: float, until: float, format_: str, out: TextIO) -> None:
    """Write the usage records of ``[since, until)`` in the configured store to `out`, as
    `format_`, a page of computes at a time (memory does not grow with their number)."""
    if format_ not in FORMATS:
        raise ExportError(f"--format: expected one of {', '.join(FORMATS)}, got {format_!r}")
    if until <= since:
        raise ExportError(f"--until ({_iso(until)}) must be later than --since ({_iso(since)})")
    site = site_of(config, format_)
    database = Database(config.database_url or default_database_url())
    try:
        # The same schema the server migrates to: an export may come first.
        database.upgrade()
        pages = UsageRepository(database).pages(since, until)
        found = (record for page in pages for record in records(page, since, until, site))
        if format_ == "apel":
            write_apel(found, out)
        else:
            write_json(found, since, until, out)
    except StoreError as error:
        detail = getattr(error, "detail", "")
        raise ExportError(
            f"database {redact_url(database.url.render_as_string(hide_password=True))}: "
            f"{error.message}" + (f" ({' '.join(detail.split())})" if detail else "")
        ) from None
    finally:
        database.dispose()


def write_apel(found: Iterable[UsageRecord], out: TextIO) -> None:
    """Write an APEL cloud usage record message (v0.4) of the records."""
    out.write(APEL_HEADER + "\n")
    for record in found:
        lines = [f"{name}: {_apel_value(getattr(record, name))}" for name in FIELDS]
        out.write("\n".join([*lines, APEL_SEPARATOR]) + "\n")


def render_apel(found: Iterable[UsageRecord]) -> str:
    """An APEL cloud usage record message (v0.4) of the records, as one string."""
    text = io.StringIO()
    write_apel(found, text)
    return text.getvalue()


def _apel_value(value: object) -> str:
    if value is None:
        return APEL_NULL
    # One record is one line per field: a line break in a name must not start another.
    return " ".join(str(value).split())


def write_json(found: Iterable[UsageRecord], since: float, until: float, out: TextIO) -> None:
    """Write the records as one JSON document, with the period they cover: an object with
    ``since``, ``until`` and ``records``, one record a line."""
    period = json.dumps({"since": _iso(since), "until": _iso(until)})
    out.write(period[:-1] + ', "records": [')
    separator = "\n  "
    for record in found:
        out.write(separator + json.dumps(dataclasses.asdict(record)))
        separator = ",\n  "
    out.write("\n]}\n")


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.isoformat().replace("+00:00", "Z")
