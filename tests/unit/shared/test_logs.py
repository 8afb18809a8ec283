"""Log lines: one JSON object per line with the context a reader needs, or readable text."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import Flask, g

from shared import logs


@pytest.fixture
def captured(monkeypatch):
    def capture(fmt: str) -> tuple[logging.Logger, io.StringIO]:
        monkeypatch.setenv(logs.LOG_FORMAT_ENV, fmt)
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logs.formatter("identity", "web"))
        handler.addFilter(logs.ContextFilter())
        logger = logging.getLogger(f"test.logs.{fmt}")
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
        return logger, stream

    return capture


def test_json_lines_carry_service_process_and_correlation(captured):
    logger, stream = captured("json")
    token = logs.correlation_id.set("req-1")
    try:
        logger.info("stored %d events", 3, extra={"event_id": "ev-9"})
    finally:
        logs.correlation_id.reset(token)
    line = json.loads(stream.getvalue())
    assert line["message"] == "stored 3 events" and line["level"] == "info"
    assert (line["service"], line["process"], line["correlation_id"], line["event_id"]) == (
        "identity", "web", "req-1", "ev-9")
    assert line["time"].endswith("+00:00") and isinstance(line["pid"], int)


def test_an_exception_stays_on_one_line(captured):
    logger, stream = captured("json")
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        logger.exception("failed")
    text = stream.getvalue()
    assert text.count("\n") == 1
    assert "ValueError: bad" in json.loads(text)["exception"]


def test_the_request_id_of_a_flask_request_is_the_correlation_id(captured):
    logger, stream = captured("json")
    app = Flask("t")
    with app.test_request_context("/"):
        g.request_id = "rid-42"
        logger.warning("inside a request")
    assert json.loads(stream.getvalue())["correlation_id"] == "rid-42"


def test_text_is_the_default_and_readable(captured):
    logger, stream = captured("")
    token = logs.correlation_id.set("req-7")
    try:
        logger.info("hello")
    finally:
        logs.correlation_id.reset(token)
    text = stream.getvalue()
    assert " INFO test.logs.: hello [correlation_id=req-7]" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
