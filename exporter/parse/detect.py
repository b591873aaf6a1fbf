"""Tell which status-page platform wrote a feed, by its fingerprints."""

from __future__ import annotations

import re

from exporter.parse import incidentio, statuspage
from exporter.parse.feed import Feed

_STATUSPAGE_ATOM_ID = re.compile(r"^tag:[^,]+,2005:Incident/\d+$")


def detect_platform(feed: Feed) -> str:
    """Return "incidentio", "statuspage" or "generic" for the feed."""
    if feed.generator == "incident.io" or any(
        incidentio.has_status_header(entry.summary_html or entry.html)
        for entry in feed.entries
    ):
        return "incidentio"
    if _is_statuspage(feed):
        return "statuspage"
    return "generic"


def _is_statuspage(feed: Feed) -> bool:
    # Look-alikes that merely use the same <strong> labels (DatoCMS, with an
    # em dash and no <small> time) fail all three tests and go to generic.
    return (
        feed.description == "Statuspage"
        or any(_STATUSPAGE_ATOM_ID.match(entry.id) for entry in feed.entries)
        or any(statuspage.has_history_paragraphs(entry.html) for entry in feed.entries)
    )
