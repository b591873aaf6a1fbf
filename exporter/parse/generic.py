"""Parse feeds of every other platform: cState, Google Cloud, AWS, look-alikes.

Such feeds state an incident's status in one of three ways, tried in order:
a prefix of the title (`[Resolved]`, `RESOLVED:`, `Service is operating
normally:`), cState's resolved time in `<category>`, or a `<strong>`/`<b>`
state label leading a paragraph of the body (newest first, as Statuspage
look-alikes such as DatoCMS write them). Anything else is "unknown".
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from exporter.model import CLOSED_STATUSES, Incident
from exporter.parse.feed import Entry, Feed
from exporter.parse.identity import (
    display_url,
    key_from_reference,
    same_page,
    short_hash,
)
from exporter.parse.impact import impact_from_text
from exporter.parse.states import (
    current_status,
    is_state_label,
    kind_of,
    label_status,
)
from exporter.parse.text import html_to_text, shorten
from exporter.parse.times import UTC, parse_loose_timestamp

_TITLE_PREFIX = re.compile(
    r"\s*(?:\[\s*(?P<bracketed>[^\]]{1,40}?)\s*\]"
    r"|(?P<phrase>[A-Za-z][A-Za-z ]{0,40}?)\s*:)"
)
# A title may stack prefixes ("Service is operating normally: [RESOLVED] ...",
# "UPDATE: Global: ..."); this many are read before giving up.
_TITLE_PREFIXES_READ = 3
TITLE_PHRASE_STATUS = {"service is operating normally": "resolved"}

_LEADING_LABEL = re.compile(
    r"(?:\A|<p\b[^<>]*>|<br\s*/?>)\s*<(strong|b)>\s*(?P<label>[^<]{1,40}?)\s*</\1>",
    re.I,
)
_DASHES = "-\u2013\u2014 "
_NO_TIME = datetime.min.replace(tzinfo=UTC)


def parse_generic(feed: Feed) -> list[Incident]:
    """Turn the feed into incidents, one per incident link or per entry id."""
    groups = group_entries(feed)
    ids = unique_ids(list(groups))
    return [incident_from_group(ids[key], entries) for key, entries in groups.items()]


def group_entries(feed: Feed) -> dict[str, list[Entry]]:
    """Gather the entries of each incident, keyed by incident link or entry id."""
    groups: dict[str, list[Entry]] = {}
    for entry in feed.entries:
        groups.setdefault(_group_key(entry, feed.link), []).append(entry)
    return groups


def _group_key(entry: Entry, home: str) -> str:
    # Google posts one entry per update, all linking to /incidents/<id>; AWS
    # links every item to the dashboard root, so there only the guid tells
    # the items apart.
    if is_incident_link(entry.link, home):
        return display_url(entry.link).rstrip("/")
    return entry.id or entry.link or short_hash(f"{entry.title}|{entry.published}")


def is_incident_link(link: str, home: str) -> bool:
    """Tell whether a link leads to a page of its own, not the feed's home page."""
    has_path = bool(urlsplit(link).path.strip("/"))
    return bool(link) and has_path and not same_page(link, home)


def unique_ids(keys: list[str]) -> dict[str, str]:
    """Map each group key to a short id; of keys that share one, the first keeps it.

    Short ids come from the whole path unless its last segment is distinctive,
    so they rarely collide; "first" is by the keys themselves, not by their place
    in the feed. Known limit: of two links with the same path on different hosts
    or with different queries, a new one that sorts first takes the id over.
    """
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for key in sorted(keys):
        short_id = key_from_reference(key)
        ids[key] = short_hash(key) if short_id in taken else short_id
        taken.add(short_id)
    return {key: ids[key] for key in keys}


def incident_from_group(incident_id: str, entries: list[Entry]) -> Incident:
    """Build one incident from its entries: the newest one tells its state."""
    ordered = _oldest_first(entries)
    newest = ordered[-1]
    labels = leading_labels(newest.html)
    status = _status(newest, labels)
    kind = kind_of({status} | {label_status(label) for label in labels})

    resolved_time = _category_time(newest)
    updated_at = _later(newest.updated or newest.published, resolved_time)
    closed = status in CLOSED_STATUSES
    texts = [html_to_text(entry.html) for entry in ordered]
    return Incident(
        id=incident_id,
        kind=kind,
        title=newest.title,
        status=status,
        impact="maintenance" if kind == "maintenance" else impact_from_text(*texts),
        url=display_url(newest.link),
        started_at=_started_at(ordered),
        updated_at=updated_at,
        resolved_at=(resolved_time or updated_at) if closed else None,
        update=shorten(latest_update_text(newest.html)),
    )


def status_from_title(title: str) -> str | None:
    """Return the status a title prefix such as `[Resolved]` states, if any."""
    position = 0
    for _ in range(_TITLE_PREFIXES_READ):
        prefix = _TITLE_PREFIX.match(title, position)
        if prefix is None:
            return None
        words = " ".join((prefix["bracketed"] or prefix["phrase"]).lower().split())
        status = TITLE_PHRASE_STATUS.get(words) or label_status(words)
        if status != "unknown":
            return status
        position = prefix.end()
    return None


def leading_labels(html: str) -> list[str]:
    """Return the state labels that open paragraphs of the body, in order."""
    found = (match["label"] for match in _LEADING_LABEL.finditer(html))
    return [label for label in found if is_state_label(label)]


def latest_update_text(html: str) -> str:
    """Return the text of the first labelled section, or of the whole body."""
    marks = [m for m in _LEADING_LABEL.finditer(html) if is_state_label(m["label"])]
    if not marks:
        return html_to_text(html)
    end = marks[1].start() if len(marks) > 1 else None
    return html_to_text(html[marks[0].end() : end]).lstrip(_DASHES)


def _status(newest: Entry, labels: list[str]) -> str:
    from_title = status_from_title(newest.title)
    if from_title is not None:
        return from_title
    if _category_time(newest) is not None:
        return "resolved"
    return current_status(labels)


def _category_time(entry: Entry) -> datetime | None:
    # cState writes the resolved time as the item's only category; categories
    # that are not times (topics, services) say nothing about the state.
    times = (parse_loose_timestamp(category) for category in entry.categories)
    return next((moment for moment in times if moment is not None), None)


def _started_at(ordered: list[Entry]) -> datetime | None:
    oldest = ordered[0]
    if oldest.published is not None:
        return oldest.published
    # Feeds without publication times (Google) post one entry per update, so
    # the first update's time is the best start known; a lone entry's is not.
    return oldest.updated if len(ordered) > 1 else None


def _oldest_first(entries: list[Entry]) -> list[Entry]:
    # Feeds list newest first, so among equal or missing times a later
    # position in the feed is the older entry.
    indexed = list(enumerate(entries))
    indexed.sort(key=lambda pair: (_moment(pair[1]), -pair[0]))
    return [entry for _, entry in indexed]


def _moment(entry: Entry) -> datetime:
    return entry.updated or entry.published or _NO_TIME


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    known = [moment for moment in (first, second) if moment is not None]
    return max(known, default=None)
