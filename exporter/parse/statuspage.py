"""Parse Atlassian Statuspage `history.atom` and `history.rss` entries.

Each entry embeds the incident's whole history as HTML paragraphs, newest
first: `<p><small>Mon DD, HH:MM ZONE</small><br><strong>Label</strong> - text</p>`.
LambStatus writes the same grammar with a year, which is accepted too.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from exporter.model import CLOSED_STATUSES, Incident
from exporter.parse.feed import Entry, Feed
from exporter.parse.identity import display_url, key_from_reference
from exporter.parse.impact import impact_from_text
from exporter.parse.states import (
    current_status,
    is_update_label,
    kind_of,
    label_status,
)
from exporter.parse.text import html_to_text, shorten
from exporter.parse.times import MONTHS, in_utc, place_in_year, zone_offset

# Hostile feeds are matched too: no two quantifiers in a row may take the same
# characters (a run of spaces would cost polynomial time), and tags end at the
# next "<" as well as at ">". Free text is captured whole and trimmed in Python.
_VAR_TAG = re.compile(r"</?var\b[^<>]*>", re.I)
_PARAGRAPH_HEAD = re.compile(
    r"<small>\s*(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2})"
    r"(?:,\s*(?P<year>\d{4}))?,\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?P<tail>[^<]*)</small>"
    r"\s*(?:<br\s*/?>\s*)?<strong>(?P<label>[^<]*)</strong>"
    r"\s*(?:(?:-|&ndash;|\u2013)\s*)?",
    re.I,
)
_SCHEDULED_HEADER = re.compile(r"THIS IS A SCHEDULED EVENT", re.I)
# How far ahead of its announcement a maintenance window may lie.
WINDOW_LEAD = timedelta(days=330)
_SCHEDULED_START = re.compile(
    r"THIS IS A SCHEDULED EVENT\s+(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2})"
    r"(?:,\s*(?P<year>\d{4}))?,\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"\s*(?:(?P<meridiem>[AP]M)\b\s*)?(?P<zone>[A-Z]{2,5}|[+-]\d{2}:?\d{2})?",
    re.I,
)
_INCIDENT_CODE = re.compile(r"/incidents/([A-Za-z0-9]+)/*$")
# Statuspage's automated component sentences, e.g. "Codespaces is experiencing
# degraded performance" and "reports of degraded availability for Pages".
_COMPONENT_SENTENCE = re.compile(
    r"(?:(?:^|[.!?]\s+)(?P<subject>[^.!?]{1,100}?) is experiencing "
    r"(?:degraded (?:performance|availability)|an? (?:partial|major|full) outage))"
    r"|(?:\breports of degraded (?:performance|availability) for "
    r"(?P<object>[^.!?]{1,100}?)\s*(?:[.!?]|$))",
    re.I,
)
# Known limit: a component whose name contains " and " is split in two; the
# automated sentences join several components the same way.
_NAME_SEPARATOR = re.compile(r",\s*(?:and\s+)?|\s+and\s+")


@dataclasses.dataclass(frozen=True)
class PostedUpdate:
    """One paragraph of an incident's history: its label, time and text."""

    label: str
    posted_at: datetime | None
    text: str


def has_history_paragraphs(html: str) -> bool:
    """Tell whether the HTML holds a `<small>` time followed by a `<strong>` label."""
    return _PARAGRAPH_HEAD.search(_VAR_TAG.sub("", html)) is not None


def parse_statuspage(feed: Feed, *, now: datetime) -> list[Incident]:
    """Turn every entry of a Statuspage feed into an incident."""
    return [incident_from_entry(entry, now=now) for entry in feed.entries]


def incident_from_entry(entry: Entry, *, now: datetime) -> Incident:
    """Turn one entry and its embedded history into an incident."""
    # `published` is the display time of the newest paragraph, the best anchor
    # for the missing years; `updated` moves with any later edit.
    updates = posted_updates(entry.html, before=entry.published or entry.updated or now)
    scheduled = _SCHEDULED_HEADER.search(entry.html) is not None
    labels = [update.label for update in updates]
    status = "scheduled" if scheduled else current_status(labels)
    kind = "maintenance" if scheduled else kind_of({label_status(x) for x in labels})
    return Incident(
        id=incident_id(entry),
        kind=kind,
        title=entry.title,
        status=status,
        impact="maintenance" if kind == "maintenance" else _impact(updates),
        url=display_url(entry.link),
        started_at=_maintenance_start(entry, updates)
        if kind == "maintenance"
        else _oldest_time(updates),
        updated_at=entry.updated or _newest_time(updates) or entry.published,
        resolved_at=_resolved_at(status, updates),
        components=components_named(updates),
        update=shorten(updates[0].text if updates else html_to_text(entry.html)),
    )


def incident_id(entry: Entry) -> str:
    """Return the public incident code from the link, shared by Atom and RSS."""
    code = _INCIDENT_CODE.search(urlsplit(entry.link).path)
    if code is not None:
        return code.group(1)
    return key_from_reference(entry.link or entry.id)


def posted_updates(html: str, *, before: datetime) -> list[PostedUpdate]:
    """Split the history HTML into updates, newest first, with years restored."""
    markup = _VAR_TAG.sub("", html)
    heads = list(_PARAGRAPH_HEAD.finditer(markup))
    updates = []
    for index, head in enumerate(heads):
        body_end = heads[index + 1].start() if index + 1 < len(heads) else None
        posted_at = _posted_at(_with_meridiem_and_zone(head.groupdict()), before)
        # Each older paragraph is placed before the newer one, so a history
        # that runs across New Year steps back into the previous year.
        before = posted_at or before
        text = html_to_text(markup[head.end() : body_end])
        updates.append(PostedUpdate(head["label"].strip(), posted_at, text))
    return updates


def _with_meridiem_and_zone(head: dict[str, Any]) -> dict[str, Any]:
    """Split what follows the time (`PM UTC`, `-0700`, ...) into its two parts."""
    time_of_day = {key: value for key, value in head.items() if key != "tail"}
    tail = head["tail"].strip()
    meridiem = tail[:2].upper()
    if meridiem in ("AM", "PM") and not tail[2:3].isalnum():
        return {**time_of_day, "meridiem": meridiem, "zone": tail[2:].strip()}
    return {**time_of_day, "meridiem": None, "zone": tail}


def _posted_at(head: Mapping[str, Any], before: datetime) -> datetime | None:
    month = MONTHS.get(head["month"][:3].lower())
    if month is None:
        return None
    day, minute = int(head["day"]), int(head["minute"])
    hour = _hour_of_day(int(head["hour"]), head["meridiem"])
    offset = zone_offset(head["zone"])
    if head["year"] is None:
        return place_in_year(month, day, hour, minute, offset, before)
    try:
        local = datetime(int(head["year"]), month, day, hour, minute)
    except ValueError:
        return None
    return in_utc(local, offset)


def _hour_of_day(hour: int, meridiem: str | None) -> int:
    if meridiem is None:
        return hour
    return hour % 12 + (12 if meridiem.upper() == "PM" else 0)


def components_named(updates: list[PostedUpdate]) -> tuple[str, ...]:
    """Return the components the automated sentences name, oldest mention first."""
    names: dict[str, None] = {}
    for update in reversed(updates):
        for sentence in _COMPONENT_SENTENCE.finditer(update.text):
            listed = sentence["subject"] or sentence["object"]
            for name in _NAME_SEPARATOR.split(listed):
                if name.strip():
                    names.setdefault(name.strip(), None)
    return tuple(names)


def _impact(updates: list[PostedUpdate]) -> str:
    # Every paragraph counts: the newest one of a resolved incident usually
    # says only that it has been resolved.
    return impact_from_text(*(update.text for update in updates))


def _maintenance_start(entry: Entry, updates: list[PostedUpdate]) -> datetime | None:
    """Return when a maintenance began, or the start of its announced window."""
    began = [
        u.posted_at
        for u in updates
        if label_status(u.label) == "in_progress" and u.posted_at is not None
    ]
    if began:
        return min(began)
    window = _SCHEDULED_START.search(_VAR_TAG.sub("", entry.html))
    announced = _oldest_time(updates) or entry.updated or entry.published
    if window is not None and announced is not None:
        # The header's date has no year: take the first one that does not put
        # the window long before its announcement.
        fields = {**window.groupdict(), "zone": window["zone"] or "UTC"}
        return _posted_at(fields, announced + WINDOW_LEAD)
    return _oldest_time(updates)


def _oldest_time(updates: list[PostedUpdate]) -> datetime | None:
    return next((u.posted_at for u in reversed(updates) if u.posted_at), None)


def _newest_time(updates: list[PostedUpdate]) -> datetime | None:
    return next((u.posted_at for u in updates if u.posted_at), None)


def _resolved_at(status: str, updates: list[PostedUpdate]) -> datetime | None:
    # The oldest closing paragraph since the last open state: a Postmortem
    # posted days later does not move the time the incident was resolved.
    if status not in CLOSED_STATUSES:
        return None
    resolved_at = None
    for update in updates:
        if label_status(update.label) in CLOSED_STATUSES:
            resolved_at = update.posted_at or resolved_at
        elif not is_update_label(update.label):
            break
    return resolved_at
