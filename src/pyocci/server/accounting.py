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
  is unknown).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from collections.abc import Sequence

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


def export(config: ServerConfig, since: float, until: float, format_: str) -> str:
    """The usage records of ``[since, until)`` in the configured store, as `format_`."""
    if format_ not in FORMATS:
        raise ExportError(f"--format: expected one of {', '.join(FORMATS)}, got {format_!r}")
    if until <= since:
        raise ExportError(f"--until ({_iso(until)}) must be later than --since ({_iso(since)})")
    site = site_of(config, format_)
    database = Database(config.database_url or default_database_url())
    try:
        # The same schema the server migrates to: an export may come first.
        database.upgrade()
        usages = UsageRepository(database).usage(since, until)
    except StoreError as error:
        detail = getattr(error, "detail", "")
        raise ExportError(
            f"database {redact_url(str(database.url.render_as_string(hide_password=True)))}: "
            f"{error.message}" + (f" ({' '.join(detail.split())})" if detail else "")
        ) from None
    finally:
        database.dispose()
    found = records(usages, since, until, site)
    return render_apel(found) if format_ == "apel" else render_json(found, since, until)


def render_apel(found: Sequence[UsageRecord]) -> str:
    """An APEL cloud usage record message (v0.4) of the records."""
    lines = [APEL_HEADER]
    for record in found:
        for name in FIELDS:
            lines.append(f"{name}: {_apel_value(getattr(record, name))}")
        lines.append(APEL_SEPARATOR)
    return "\n".join(lines) + "\n"


def _apel_value(value: object) -> str:
    if value is None:
        return APEL_NULL
    # One record is one line per field: a line break in a name must not start another.
    return " ".join(str(value).split())


def render_json(found: Sequence[UsageRecord], since: float, until: float) -> str:
    """The records as one JSON document, with the period they cover."""
    document = {
        "since": _iso(since),
        "until": _iso(until),
        "records": [dataclasses.asdict(record) for record in found],
    }
    return json.dumps(document, indent=2) + "\n"


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.isoformat().replace("+00:00", "Z")
