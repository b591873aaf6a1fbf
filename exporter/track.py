"""Compare a fresh parse with what is known and name the changes.

Pure functions: no clock, no I/O. The rules, in the words of the field:

- opened: an open incident not seen before; one first seen already closed (it opened
  and closed between two polls) is opened and resolved at once, so `opened` counts every
  incident. The first poll of a provider records closed history silently.
- updated: an open incident whose status, title or latest update changed.
- resolved: an open incident now closed; or one that has had no update for
  expire-after and either fell out of the feed window or never carried a status;
  or, past MAX_ABSENT_OPEN of them, the oldest that fell out of the window.
- An edit of a closed incident is stored silently; it is not a re-open. Only a newer
  update that puts it back in an open status opens it again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone

from exporter.model import Incident, worse_impact

OPENED, UPDATED, RESOLVED = "opened", "updated", "resolved"
# How far ahead of ours a status page's clock may run and still order updates.
CLOCK_SKEW = timedelta(minutes=5)
# Open incidents that left the feed window and are kept open, at most, per feed.
MAX_ABSENT_OPEN = 1000
EVENTS = (OPENED, UPDATED, RESOLVED)


@dataclasses.dataclass(frozen=True)
class Change:
    """One detected change of one incident."""

    event: str
    incident: Incident
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class Tracked:
    """The outcome of comparing a parse: what to store and what to announce."""

    stored: tuple[Incident, ...]
    changes: tuple[Change, ...]


def track(
    known: Mapping[str, Incident],
    parsed: Sequence[Incident],
    *,
    first_poll: bool,
    now: datetime,
    expire_after: timedelta,
) -> Tracked:
    """Compare parsed incidents with known ones; return what changed."""
    stored: list[Incident] = []
    changes: list[Change] = []
    seen: set[str] = set()
    for fresh in _unique(parsed):
        seen.add(fresh.id)
        old = known.get(fresh.id)
        if first_poll and _is_undatable_history(fresh):
            stored.append(_expire(fresh, now))
            continue
        fresh = _with_update_time(fresh, old, now)
        incident, found = _compare(old, fresh, first_poll, now, expire_after)
        if incident != old:
            stored.append(incident)
        changes.extend(found)
    # An empty poll proves nothing: whatever it "lost" stays as it was.
    absent = _expired_absent(known, seen, now, expire_after) if seen else ()
    for incident in absent:
        stored.append(incident)
        changes.append(Change(RESOLVED, incident, "expired"))
    return Tracked(tuple(stored), tuple(changes))


def _is_undatable_history(fresh: Incident) -> bool:
    """Tell an entry of a first poll that has neither a status nor any time.

    Nothing says whether it is current or years old; taking it as history keeps a
    first poll of such a feed from opening every entry at once.
    """
    return (
        fresh.status == "unknown"
        and fresh.updated_at is None
        and fresh.started_at is None
    )


def _unique(parsed: Iterable[Incident]) -> Iterable[Incident]:
    taken: set[str] = set()
    for incident in parsed:
        if incident.id not in taken:
            taken.add(incident.id)
            yield incident


def _with_update_time(fresh: Incident, old: Incident | None, now: datetime) -> Incident:
    """Give an entry without any time the time it was first seen, so it can age."""
    if fresh.updated_at is not None:
        return fresh
    first_seen = old.updated_at if old is not None else None
    return dataclasses.replace(fresh, updated_at=first_seen or now)


def _compare(
    old: Incident | None,
    fresh: Incident,
    first_poll: bool,
    now: datetime,
    expire_after: timedelta,
) -> tuple[Incident, list[Change]]:
    if old is None:
        return _first_sight(fresh, first_poll, now, expire_after)
    if _is_older_version(old, fresh, now):
        return old, []
    incident = _merge(old, fresh)
    if old.is_open and _is_stale_without_status(incident, now, expire_after):
        closed = _expire(incident, now)
        return closed, [Change(RESOLVED, closed, "expired")]
    if old.is_open and not incident.is_open:
        return incident, [Change(RESOLVED, incident)]
    if not old.is_open and incident.is_open:
        return _reopen_or_keep(old, incident)
    if old.is_open and _differs_for_readers(old, incident):
        return incident, [Change(UPDATED, incident)]
    return incident, []


def _first_sight(
    fresh: Incident, first_poll: bool, now: datetime, expire_after: timedelta
) -> tuple[Incident, list[Change]]:
    if _is_stale_without_status(fresh, now, expire_after):
        return _expire(fresh, now), []
    if first_poll:
        return fresh, [Change(OPENED, fresh)] if fresh.is_open else []
    if fresh.is_open:
        return fresh, [Change(OPENED, fresh)]
    return fresh, [Change(OPENED, fresh), Change(RESOLVED, fresh)]


def _is_older_version(old: Incident, fresh: Incident, now: datetime) -> bool:
    """Tell a stale copy of the feed (a lagging mirror or cache) from news.

    A known time in the future (a vendor's clock ahead of ours) orders nothing:
    trusting it would ignore every real update until that time had passed.
    """
    return (
        old.updated_at is not None
        and fresh.updated_at is not None
        and fresh.updated_at < old.updated_at <= now + CLOCK_SKEW
    )


def _reopen_or_keep(old: Incident, incident: Incident) -> tuple[Incident, list[Change]]:
    newer = (
        incident.updated_at is not None
        and old.updated_at is not None
        and incident.updated_at > old.updated_at
    )
    if newer and incident.status != "unknown":
        reopened = dataclasses.replace(incident, resolved_at=None)
        return reopened, [Change(OPENED, reopened, "reopened")]
    return old, []


def _merge(old: Incident, fresh: Incident) -> Incident:
    """Keep what the feed no longer says: the worst impact, components, start."""
    return dataclasses.replace(
        fresh,
        impact=worse_impact(old.impact, fresh.impact),
        components=fresh.components or old.components,
        started_at=fresh.started_at or old.started_at,
    )


def _differs_for_readers(old: Incident, new: Incident) -> bool:
    return (old.status, old.title, old.update, old.impact) != (
        new.status,
        new.title,
        new.update,
        new.impact,
    )


def _is_stale_without_status(
    incident: Incident, now: datetime, expire_after: timedelta
) -> bool:
    return incident.status == "unknown" and _is_stale(incident, now, expire_after)


def _is_stale(incident: Incident, now: datetime, expire_after: timedelta) -> bool:
    last = incident.updated_at or incident.started_at
    return last is None or now - last > expire_after


def _expired_absent(
    known: Mapping[str, Incident],
    seen: set[str],
    now: datetime,
    expire_after: timedelta,
) -> list[Incident]:
    stale: list[Incident] = []
    waiting: list[Incident] = []
    for incident_id, incident in known.items():
        if incident_id not in seen and incident.is_open:
            is_stale = _is_stale(incident, now, expire_after)
            (stale if is_stale else waiting).append(incident)
    # A feed whose ids change on every poll would pile up open incidents
    # without end; past the cap the oldest news expires early.
    waiting.sort(key=_last_news, reverse=True)
    return [_expire(i, now) for i in stale + waiting[MAX_ABSENT_OPEN:]]


def _last_news(incident: Incident) -> datetime:
    return (
        incident.updated_at
        or incident.started_at
        or datetime.min.replace(tzinfo=timezone.utc)
    )


def _expire(incident: Incident, now: datetime) -> Incident:
    return dataclasses.replace(incident, status="resolved", resolved_at=now)
