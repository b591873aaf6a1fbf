"""Parse incident.io status-page feeds (`feed.atom`, `feed.rss`).

Each entry holds only the latest update: `<b>Status: X</b>`, the message,
then `<b>Affected components</b><ul><li>Name (State)</li></ul>`.
"""

from __future__ import annotations

import logging
import re

from exporter.model import CLOSED_STATUSES, IMPACT_LADDER, Incident
from exporter.parse.feed import Entry, Feed
from exporter.parse.identity import display_url, key_from_reference
from exporter.parse.states import kind_of, label_status
from exporter.parse.text import html_to_text, shorten

logger = logging.getLogger(__name__)

# Written for hostile input too: no two quantifiers in a row share characters,
# so a long run of spaces or tags costs linear time.
_STATUS_HEADER = re.compile(r"<(b|strong)>\s*Status:(?P<word>[^<]*)</\1>", re.I)
_COMPONENTS_HEADER = re.compile(r"<(b|strong)>\s*Affected components\s*</\1>", re.I)
_LIST_ITEM_START = re.compile(r"<li\b[^<>]*>", re.I)
_LIST_ITEM_END = re.compile(r"</li\s*>|</[ou]l\s*>", re.I)

# Wordings for maintenances beside the plain labels Scheduled, In progress...
STATUS_ALIASES = {
    "complete": "completed",
    "maintenance scheduled": "scheduled",
    "maintenance in progress": "in_progress",
    "maintenance complete": "completed",
    "maintenance completed": "completed",
    "under maintenance": "in_progress",
}

IMPACT_BY_COMPONENT_STATE = {
    "operational": "none",
    "degraded performance": "minor",
    "partial outage": "major",
    "full outage": "critical",
}


def has_status_header(html: str) -> bool:
    """Tell whether the HTML carries incident.io's `<b>Status: X</b>` header."""
    return _STATUS_HEADER.search(html) is not None


def parse_incidentio(feed: Feed) -> list[Incident]:
    """Turn every entry of an incident.io feed into an incident."""
    return [incident_from_entry(entry) for entry in feed.entries]


def incident_from_entry(entry: Entry) -> Incident:
    """Turn one entry, which holds the latest update only, into an incident."""
    html = _html_with_header(entry)
    header = _STATUS_HEADER.search(html)
    wording = header["word"].strip() if header else ""
    status = status_from_wording(wording)
    kind = "maintenance" if "maintenance" in wording.lower() else kind_of({status})
    states = component_states(html)
    updated_at = entry.updated or entry.published
    return Incident(
        id=key_from_reference(entry.link or entry.id),
        kind=kind,
        title=entry.title,
        status=status,
        impact="maintenance" if kind == "maintenance" else impact_of(states),
        url=display_url(entry.link),
        started_at=None,  # the feed shows neither the first update nor its time
        updated_at=updated_at,
        resolved_at=updated_at if status in CLOSED_STATUSES else None,
        components=tuple(states),
        update=shorten(latest_message(html)),
    )


def status_from_wording(wording: str) -> str:
    """Map the `Status:` text to a status; localised or new words are "unknown"."""
    normalised = " ".join(wording.lower().split())
    status = STATUS_ALIASES.get(normalised) or label_status(normalised)
    if status == "unknown" and wording:
        logger.debug("unknown incident.io status wording=%r", wording)
    return status


def component_states(html: str) -> dict[str, str]:
    """Return each listed component with its state, in the feed's order."""
    listed = _around_component_list(html)[1]
    states: dict[str, str] = {}
    for item in list_items(listed):
        named = name_and_state(html_to_text(item))
        if named is not None:
            states.setdefault(*named)
    return states


def list_items(html: str) -> list[str]:
    """Return the HTML inside each `<li>`, up to its end or the next item."""
    items = []
    for piece in _LIST_ITEM_START.split(html)[1:]:
        end = _LIST_ITEM_END.search(piece)
        items.append(piece if end is None else piece[: end.start()])
    return items


def name_and_state(item: str) -> tuple[str, str] | None:
    """Split `Name (State)`; None when the item is not of that shape."""
    opening = item.rfind("(")
    if opening < 0 or not item.endswith(")") or ")" in item[opening:-1]:
        return None
    name = item[:opening].rstrip()
    return (name, item[opening + 1 : -1].strip()) if name else None


def impact_of(states: dict[str, str]) -> str:
    """Return the worst impact among component states; "unknown" if none is known."""
    impacts = (
        IMPACT_BY_COMPONENT_STATE.get(state.lower()) for state in states.values()
    )
    known = [impact for impact in impacts if impact is not None]
    return max(known, key=IMPACT_LADDER.index, default="unknown")


def latest_message(html: str) -> str:
    """Return the update's message without the status header and component list."""
    message = _around_component_list(html)[0]
    return html_to_text(_STATUS_HEADER.sub(" ", message, count=1))


def _html_with_header(entry: Entry) -> str:
    # Some feeds carry the full text (and the component list) only in the
    # summary, others in the content; take the first with the header.
    for html in (entry.content_html, entry.summary_html):
        if has_status_header(html):
            return html
    return entry.html


def _around_component_list(html: str) -> tuple[str, str]:
    # Without the (English) header, every list item may name a component.
    header = _COMPONENTS_HEADER.search(html)
    if header is None:
        return html, html
    return html[: header.start()], html[header.end() :]
