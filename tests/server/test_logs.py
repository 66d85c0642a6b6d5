"""Log lines as text or JSON lines, each carrying the id of the request being answered;
the logging configuration handed to the ASGI servers."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import sys
from collections.abc import Iterator

import pytest
from granian.log import LOGGING_CONFIG as GRANIAN_LOGGING
from uvicorn.config import LOGGING_CONFIG as UVICORN_LOGGING

from pyocci.server.logs import JsonFormatter, RequestIdFilter, TextFormatter, logging_config
from pyocci.server.observation import RequestRecord, current_request


def record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("pyocci.test", logging.WARNING, __file__, 1, message, args, None)
    for name, value in extra.items():
        setattr(made, name, value)
    return made


@pytest.fixture
def answering() -> Iterator[RequestRecord]:
    watched = RequestRecord("req-9")
    token = current_request.set(watched)
    try:
        yield watched
    finally:
        current_request.reset(token)


def test_a_json_line_has_the_time_level_logger_and_message() -> None:
    line = json.loads(JsonFormatter().format(record("hello %s", "world")))
    assert line["message"] == "hello world"
    assert (line["level"], line["logger"]) == ("warning", "pyocci.test")
    assert line["time"].endswith("+00:00") and "T" in line["time"]
    assert "request_id" not in line


def test_an_access_line_carries_its_fields() -> None:
    fields = {"request_id": "r1", "status": 200, "tenant": None, "duration_ms": 1.5}
    line = json.loads(JsonFormatter().format(record("GET /", access=fields, request_id="r1")))
    assert line["status"] == 200 and line["duration_ms"] == 1.5 and line["tenant"] is None
    assert line["request_id"] == "r1"


def test_an_error_line_carries_its_traceback_on_one_line() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        failed = logging.LogRecord(
            "pyocci.test", logging.ERROR, __file__, 1, "oops", (), sys.exc_info()
        )
    text = JsonFormatter().format(failed)
    assert "\n" not in text
    assert "ValueError: broken" in json.loads(text)["exception"]


def test_other_attributes_of_a_record_are_not_written() -> None:
    line = json.loads(JsonFormatter().format(record("x", password="hunter2")))
    assert "hunter2" not in json.dumps(line)


def test_the_filter_adds_the_request_being_answered(answering: RequestRecord) -> None:
    made = record("inside")
    assert RequestIdFilter().filter(made)
    assert made.request_id == "req-9"
    assert "[req-9] inside" in TextFormatter().format(made)
    assert json.loads(JsonFormatter().format(made))["request_id"] == "req-9"


def test_outside_requests_there_is_no_request_id() -> None:
    made = record("outside")
    RequestIdFilter().filter(made)
    assert made.request_id is None
    assert TextFormatter().format(made).endswith("WARNING pyocci.test outside")


@pytest.mark.parametrize("base", [UVICORN_LOGGING, GRANIAN_LOGGING])
def test_json_mode_turns_every_handler_to_json_lines(base: dict) -> None:
    config = logging_config("json", "trace", base)
    assert {handler["formatter"] for handler in config["handlers"].values()} == {"pyocci"}
    assert config["loggers"]["pyocci"] == {
        "handlers": ["pyocci"],
        "level": "DEBUG",
        "propagate": False,
    }
    # The server's own loggers are kept, and the base is left as it was.
    assert set(base["loggers"]) <= set(config["loggers"])
    assert "pyocci" not in base["handlers"]


def test_text_mode_leaves_the_servers_own_lines_alone() -> None:
    config = logging_config("text", "info", UVICORN_LOGGING)
    assert config["handlers"]["default"]["formatter"] == "default"
    assert config["formatters"]["pyocci"] == {"()": "pyocci.server.logs.TextFormatter"}
    assert config["loggers"]["pyocci"]["level"] == "INFO"


def test_the_configuration_applies(answering: RequestRecord) -> None:
    # An empty base: the test reconfigures pyocci's loggers only, and restores them.
    config = logging_config("json", "info", {"version": 1})
    stream = io.StringIO()
    config["handlers"]["pyocci"]["stream"] = stream
    logger = logging.getLogger("pyocci")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    try:
        logging.config.dictConfig(config)
        logging.getLogger("pyocci.somewhere").info("applied %d", 1)
        logging.getLogger("pyocci.somewhere").debug("not at info")
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "applied 1" and line["request_id"] == "req-9"
