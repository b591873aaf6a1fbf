"""Entries built to make a backtracking parser run for hours parse in linear time.

Each body is parsed in a child process with a deadline, so a regression fails the
test instead of hanging the run. Without the linear patterns, the first case alone
(a few thousand spaces after a Statuspage time) takes longer than an hour, and
the unclosed tags and list items take minutes.
"""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = 100_000
DEADLINE_SECONDS = 30


def entry_feed(content: str, *, statuspage: bool) -> bytes:
    """Return an Atom feed of one entry whose HTML content is `content`."""
    entry_id = (
        "tag:status.example.test,2005:Incident/1"
        if statuspage
        else "https://status.example.test/notices/1"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><id>tag:example</id>'
        "<title>Example</title><updated>2026-03-01T10:00:00Z</updated>"
        f"<entry><id>{entry_id}</id><title>Hostile</title>"
        "<updated>2026-03-01T10:00:00Z</updated>"
        "<published>2026-03-01T10:00:00Z</published>"
        '<link href="https://status.example.test/incidents/abc123"/>'
        f'<content type="html">{html.escape(content)}</content></entry></feed>'
    ).encode()


STATUS = "<strong>Status: Resolved</strong><b>Affected components</b><ul>"
HOSTILE = {
    "spaces after a Statuspage time": (
        "<p><small>Dec 3, 12:00" + " " * RUN + "x",
        True,
    ),
    "spaces in a Statuspage label": (
        "<p><small>Dec 3, 12:00 UTC</small><br><strong>" + " " * RUN + "x",
        True,
    ),
    "spaces after a scheduled window": (
        "THIS IS A SCHEDULED EVENT Dec 3, 12:00" + " " * RUN + "x",
        True,
    ),
    "spaces after an incident.io status": ("<strong>Status:" + " " * RUN, False),
    "unclosed scripts": ("<script" * RUN, False),
    "unclosed comments": ("<!--" * RUN, False),
    "tags that never end": ("<a" * RUN + "<p" * RUN + "<var" * RUN, True),
    "unclosed list items": (STATUS + "<li>" * RUN, False),
    "a component name of open parentheses": (STATUS + "<li>" + " (" * RUN, False),
}


PARSE_IN_A_CHILD = (
    "import sys\n"
    "from datetime import datetime, timezone\n"
    "from exporter.parse import parse_feed\n"
    "found = parse_feed(sys.stdin.buffer.read(), now=datetime.now(timezone.utc))\n"
    "print(len(found), *(incident.title for incident in found[:1]))\n"
)


def parse_in_a_child(body: bytes) -> list[str]:
    """Parse the body in another process within the deadline; return its output."""
    done = subprocess.run(
        [sys.executable, "-c", PARSE_IN_A_CHILD], input=body,
        capture_output=True, cwd=ROOT, timeout=DEADLINE_SECONDS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().split()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_entry_parses_within_a_deadline(case: str) -> None:
    content, statuspage = HOSTILE[case]
    body = entry_feed(content, statuspage=statuspage)
    assert parse_in_a_child(body) == ["1", "Hostile"]


@pytest.mark.parametrize("misc", ["<!---->", "<?a?>"])
def test_a_million_trailing_comments_parse_within_a_deadline(misc: str) -> None:
    body = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'
    assert parse_in_a_child(body + misc.encode() * 700_000) == ["0"]
