"""Log lines carry their key=value context as fields of their own."""

from __future__ import annotations

import json
import logging
import socket
import sys
from pathlib import Path

from exporter.logs import (
    JsonFormatter,
    LogfmtFormatter,
    MalformedRequestFilter,
    split_fields,
)
from tests.exporterproc import ExporterProcess, write_config
from tests.feeds import statuspage_atom
from tests.feedserver import FeedServer, wait_until


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


GARBAGE_REQUESTS = (
    b"GET / HTTP/1.1 and some garbage\r\n\r\n",
    b"GET / HTTP/1.1\r\nX-Padding: " + b"a" * 200_000 + b"\r\n\r\n",
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
)


def test_malformed_requests_log_one_debug_line_and_no_traceback(
    tmp_path: Path, server: FeedServer
) -> None:
    server.publish("vendor.atom", statuspage_atom([]))
    config = write_config(tmp_path / "providers.yaml", {
        "vendor": {"url": server.url("vendor.atom"), "interval": "200ms"},
    })  # fmt: skip
    exporter = ExporterProcess(tmp_path, config)
    try:
        exporter.start()
        for request in GARBAGE_REQUESTS:
            with socket.create_connection(("127.0.0.1", exporter.port), 5) as client:
                client.sendall(request)
                assert client.recv(100).startswith(b"HTTP/1.0 400")
        wait_until(
            lambda: exporter.stderr().count("malformed HTTP request refused") == 3,
            10, "a debug line per malformed request",
        )  # fmt: skip
    finally:
        if exporter.process is not None:
            exporter.stop()
    logged = exporter.stderr()
    assert "Traceback" not in logged
    assert "level=error" not in logged
    assert "error=LineTooLong" in logged


def test_handler_errors_keep_their_level_and_traceback() -> None:
    try:
        raise ValueError("a bug in a handler")
    except ValueError:
        failure = logging.LogRecord(
            "aiohttp.server", logging.ERROR, "x", 1, "Error handling request",
            None, sys.exc_info(),
        )  # fmt: skip
    assert MalformedRequestFilter(logging.INFO).filter(failure)
    assert failure.levelno == logging.ERROR
    assert "a bug in a handler" in LogfmtFormatter().format(failure)
