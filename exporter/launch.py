"""The command's first step: hold signals off while the rest is imported.

Importing aiohttp, feedparser and prometheus_client takes a good part of a
second; a SIGHUP sent by a service manager in that time must not end `serve`,
and a SIGTERM must end it cleanly.
"""

from __future__ import annotations

import signal
import sys


def main() -> None:
    """Run the command line; for `serve`, with start-up signals handled."""
    if sys.argv[1:2] == ["serve"]:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _exit_before_start)

    from exporter.cli import main as command_line

    command_line()


def _exit_before_start(signum: int, frame: object) -> None:
    sys.exit(0)
