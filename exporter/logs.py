"""Operator logs on standard error, as logfmt or JSON lines."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("logfmt", "json")


class LogfmtFormatter(logging.Formatter):
    """Write `time=... level=... logger=... msg="..."` lines."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        fields = [
            ("time", _timestamp(record)),
            ("level", record.levelname.lower()),
            ("logger", record.name),
            ("msg", record.getMessage()),
        ]
        line = " ".join(f"{key}={_quote(value)}" for key, value in fields)
        if record.exc_info:
            line += " exc=" + _quote(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    """Write one JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        entry = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, style: str) -> None:
    """Send the package's logs to standard error in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if style == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log is per request chatter; operators want ours.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _quote(value: str) -> str:
    if value and not any(c in value for c in ' "=\n\t'):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
