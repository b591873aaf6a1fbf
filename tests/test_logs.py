"""Log lines carry their key=value context as fields of their own."""

from __future__ import annotations

import json
import logging

from exporter.logs import JsonFormatter, LogfmtFormatter, split_fields


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("exporter.poller", logging.WARNING, "x", 1, message,
                             args, None)  # fmt: skip


def test_fields_are_split_from_the_text() -> None:
    text, fields = split_fields("poll failed provider=acme retry_in=60.0s err='a b'")
    assert text == "poll failed"
    assert fields == [("provider", "acme"), ("retry_in", "60.0s"), ("err", "a b")]


def test_logfmt_line_has_real_fields_and_quotes_spaces() -> None:
    line = LogfmtFormatter().format(
        record("poll failed provider=%s err=%r", "acme", 'HTTP 503 "down"')
    )
    assert ' msg="poll failed" provider=acme ' in line
    assert line.endswith('err="HTTP 503 \\"down\\""')


def test_json_line_has_the_fields_as_keys() -> None:
    entry = json.loads(JsonFormatter().format(record("poll failed provider=%s", "x")))
    assert (entry["msg"], entry["provider"], entry["level"]) == (
        "poll failed", "x", "warning",
    )  # fmt: skip
