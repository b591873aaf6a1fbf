"""Parse status-page feeds (Atom or RSS bytes) into incidents.

The flow step "parse": pure functions, no network and no clock. A body that
is not a feed raises NotAFeedError; a feed that cannot be read safely or
completely raises FeedParseError. A valid feed without entries gives [].
"""

from __future__ import annotations

from datetime import datetime

from exporter.errors import FeedParseError, NotAFeedError
from exporter.model import Incident
from exporter.parse.detect import detect_platform
from exporter.parse.document import (
    Document,
    inspect_document,
    require_entries_read,
)
from exporter.parse.feed import Feed, read_feed
from exporter.parse.generic import parse_generic
from exporter.parse.incidentio import parse_incidentio
from exporter.parse.limits import MAX_INCIDENTS, bounded
from exporter.parse.statuspage import parse_statuspage
from exporter.parse.times import UTC

__all__ = ["EXPECTED_FORMATS", "parse_feed"]

EXPECTED_FORMATS = ("auto", "atom", "rss")
_FORMAT_NAMES = {"atom": "Atom", "rss": "RSS"}


def parse_feed(
    body: bytes,
    *,
    content_type: str | None = None,
    expected_format: str = "auto",
    now: datetime,
) -> list[Incident]:
    """Return the incidents an Atom or RSS body describes, in feed order."""
    if expected_format not in EXPECTED_FORMATS:
        raise ValueError(f"expected_format must be one of {EXPECTED_FORMATS}")

    document = inspect_document(body, content_type)
    _require_format(document, expected_format)

    feed = read_feed(body, content_type)
    if not feed.version:
        # A <feed> or <rss> root of some other vocabulary, such as x:feed in
        # a namespace of its own: not a feed with no incidents.
        raise NotAFeedError(
            f"the root element <{document.root}> is not Atom or RSS (namespace)"
        )
    incidents = _incidents_of(feed, _as_utc(now))
    require_entries_read(document.text, len(incidents))
    kept = _one_per_id(incidents)[:MAX_INCIDENTS]
    return [bounded(incident) for incident in kept]


def _require_format(document: Document, expected_format: str) -> None:
    if expected_format not in ("auto", document.format):
        raise FeedParseError(
            f"expected an {_FORMAT_NAMES[expected_format]} feed but the document "
            f"is {_FORMAT_NAMES[document.format]} (root element <{document.root}>)"
        )


def _incidents_of(feed: Feed, now: datetime) -> list[Incident]:
    platform = detect_platform(feed)
    if platform == "incidentio":
        return parse_incidentio(feed)
    if platform == "statuspage":
        return parse_statuspage(feed, now=now)
    return parse_generic(feed)


def _as_utc(now: datetime) -> datetime:
    # A naive `now` is read as UTC, the zone every time in the model uses.
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _one_per_id(incidents: list[Incident]) -> list[Incident]:
    # Two entries for one incident would look like two changes to the
    # tracker; keep the most recently updated one, in the first one's place.
    kept: dict[str, Incident] = {}
    for incident in incidents:
        known = kept.get(incident.id)
        if known is None or _updated_key(incident) > _updated_key(known):
            kept[incident.id] = incident
    return list(kept.values())


def _updated_key(incident: Incident) -> datetime:
    return incident.updated_at or datetime.min.replace(tzinfo=UTC)
