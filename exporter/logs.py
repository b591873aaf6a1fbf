"""Operator logs on standard error, as logfmt or JSON lines.

Messages are written as `what happened key=value key=value`; the formatters lift
the key=value pairs into fields of their own, so `provider` or `reason` can be
filtered on in any log store.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

from aiohttp.http_exceptions import HttpProcessingError

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("logfmt", "json")
_FIELD = re.compile(r"""(?:^|\s)(\w+)=('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\S*)""")


def split_fields(message: str) -> tuple[str, list[tuple[str, str]]]:
    """Split `text key=value ...` into the text and its fields, quotes removed."""
    fields = [(m.group(1), _unquote(m.group(2))) for m in _FIELD.finditer(message)]
    first = _FIELD.search(message)
    text = message[: first.start()].strip() if first else message
    return text, fields


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].replace("\\'", "'").replace('\\"', '"')
    return value


class LogfmtFormatter(logging.Formatter):
    """Write `time=... level=... logger=... msg="..." key=value` lines."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        text, fields = split_fields(record.getMessage())
        pairs = [
            ("time", _timestamp(record)),
            ("level", record.levelname.lower()),
            ("logger", record.name),
            ("msg", text),
            *fields,
        ]
        if record.exc_info:
            pairs.append(("exc", self.formatException(record.exc_info)))
        return " ".join(f"{key}={_quote(value)}" for key, value in pairs)


class JsonFormatter(logging.Formatter):
    """Write one JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        text, fields = split_fields(record.getMessage())
        entry = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": text,
        }
        for key, value in fields:
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, style: str) -> None:
    """Send the package's logs to standard error in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if style == "json" else LogfmtFormatter())
    handler.addFilter(MalformedRequestFilter(logging.getLevelName(level.upper())))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log is per request chatter; operators want ours.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class MalformedRequestFilter(logging.Filter):
    """Turn aiohttp's tracebacks for requests it cannot parse into debug lines.

    Any client can send a garbage request line or an oversized header; logging a
    traceback at error level for each would let it flood the log.
    """

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        """Demote a malformed request's record to debug; drop it unless debug is on."""
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        if not record.name.startswith("aiohttp."):
            return True
        record.msg = "malformed HTTP request refused error=%s err=%r"
        record.args = (type(error).__name__, _first_line(error.message))
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.threshold <= logging.DEBUG


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else ""


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _quote(value: str) -> str:
    if value and not any(c in value for c in ' "=\n\t'):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
