"""How the server's log lines look: text for people, or JSON lines for machines.

``log_format`` chooses. `logging_config` builds the `logging.config`
dictionary that ``occi-server`` hands to the ASGI server, which applies it
in every worker process: pyocci's loggers (``pyocci.*``, the access log
``pyocci.access`` among them) write to standard error through
`TextFormatter` or `JsonFormatter`, and in JSON mode the ASGI server's own
lines (start-up, errors) are JSON too. Every line written while a request is
answered carries its request id (`RequestIdFilter`).

The standard library's logging with a formatter of our own, rather than a
logging library: a JSON line is one ``orjson.dumps`` (already a dependency,
and fast), and the fields written are exactly those listed here and in the
access record, never whatever a caller passed along, so that nothing (a
credential in an ``extra``) reaches the log unplanned.
"""

from __future__ import annotations

import copy
import datetime
import logging
from collections.abc import Mapping
from typing import Any

import orjson

from pyocci.server.observation import current_request

__all__ = ["JsonFormatter", "RequestIdFilter", "TextFormatter", "logging_config"]

#: The record attributes every line may carry besides the message.
_PLAIN_FIELDS = ("request_id",)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record: the id of the request being answered, or
    None outside requests."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            answering = current_request.get()
            record.request_id = answering.request_id if answering is not None else None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``process`` (the worker's id), ``message``, ``request_id`` when answering a request,
    the access record's fields for an access line, ``exception`` with the traceback of
    an error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            # Which worker process wrote it: each has its own caches and connections.
            "process": record.process,
            "message": record.getMessage(),
        }
        for name in _PLAIN_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        access = getattr(record, "access", None)
        if isinstance(access, Mapping):
            line.update(access)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line, default=str).decode("utf-8")


class TextFormatter(logging.Formatter):
    """``<time> <level> <logger> [<request id>] <message>``, one line (a traceback
    follows an error's)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(request_tag)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        record.request_tag = f"[{request_id}] " if request_id else ""
        return super().format(record)


_LEVELS = {"trace": "DEBUG"}


def logging_config(log_format: str, log_level: str, base: Mapping[str, Any]) -> dict[str, Any]:
    """The `logging.config.dictConfig` of a server: the ASGI server's own (`base`), with
    pyocci's loggers added at `log_level`, and with `log_format` ``json`` every handler
    writing JSON lines."""
    config = copy.deepcopy(dict(base))
    json_lines = log_format == "json"
    formatter = "JsonFormatter" if json_lines else "TextFormatter"
    config.setdefault("formatters", {})["pyocci"] = {"()": f"{__name__}.{formatter}"}
    config.setdefault("filters", {})["pyocci_request"] = {"()": f"{__name__}.RequestIdFilter"}
    handlers = config.setdefault("handlers", {})
    if json_lines:
        for handler in handlers.values():
            handler["formatter"] = "pyocci"
            handler.setdefault("filters", []).append("pyocci_request")
    handlers["pyocci"] = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "pyocci",
        "filters": ["pyocci_request"],
    }
    config.setdefault("loggers", {})["pyocci"] = {
        "handlers": ["pyocci"],
        "level": _LEVELS.get(log_level, log_level.upper()),
        "propagate": False,
    }
    config["disable_existing_loggers"] = False
    return config
