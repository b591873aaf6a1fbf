"""Tracking rules: which changes become opened, updated and resolved events."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from exporter.model import Incident
from exporter.track import track

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
WEEK = timedelta(days=7)


def incident(
    code: str = "abc", status: str = "investigating", **changes: object
) -> Incident:
    base = Incident(
        id=code, kind="incident", title="API errors", status=status, impact="minor",
        url=f"https://status.example.com/incidents/{code}",
        started_at=NOW - timedelta(hours=2), updated_at=NOW - timedelta(hours=1),
        resolved_at=None, components=("API",), update="We are investigating.",
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def events_of(known: dict[str, Incident], parsed: list[Incident], first: bool = False):
    tracked = track(known, parsed, first_poll=first, now=NOW, expire_after=WEEK)
    return [(c.event, c.incident.id, c.reason) for c in tracked.changes], tracked


def test_first_poll_records_closed_history_silently() -> None:
    history = [incident(f"old{i}", "resolved") for i in range(25)]
    found, tracked = events_of({}, history, first=True)
    assert found == []
    assert len(tracked.stored) == 25


def test_first_poll_opens_incidents_that_are_still_open() -> None:
    found, _ = events_of({}, [incident("live"), incident("done", "resolved")], True)
    assert found == [("opened", "live", None)]


def test_incident_opened_and_closed_between_polls_counts_as_opened_and_resolved() -> (
    None
):
    found, _ = events_of({}, [incident("flash", "resolved")])
    assert found == [("opened", "flash", None), ("resolved", "flash", None)]


def test_status_change_of_open_incident_is_an_update() -> None:
    known = {"abc": incident()}
    found, _ = events_of(known, [incident(status="identified")])
    assert found == [("updated", "abc", None)]


def test_same_incident_again_is_no_event_and_nothing_to_store() -> None:
    known = {"abc": incident()}
    found, tracked = events_of(known, [incident()])
    assert found == []
    assert tracked.stored == ()


def test_new_latest_update_text_is_an_update() -> None:
    known = {"abc": incident()}
    found, _ = events_of(known, [incident(update="Fix is rolling out.")])
    assert found == [("updated", "abc", None)]


def test_closing_status_resolves() -> None:
    found, _ = events_of({"abc": incident()}, [incident(status="postmortem")])
    assert found == [("resolved", "abc", None)]


def test_edit_of_resolved_incident_is_not_a_reopen() -> None:
    known = {"abc": incident(status="resolved")}
    edited = incident(status="resolved", title="API errors (root cause added)",
                      updated_at=NOW)  # fmt: skip
    found, tracked = events_of(known, [edited])
    assert found == []
    assert tracked.stored[0].title == "API errors (root cause added)"


def test_newer_open_status_after_resolution_reopens() -> None:
    known = {"abc": incident(status="resolved")}
    found, _ = events_of(known, [incident(status="investigating", updated_at=NOW)])
    assert found == [("opened", "abc", "reopened")]


def test_empty_feed_resolves_nothing() -> None:
    found, tracked = events_of({"abc": incident()}, [])
    assert found == []
    assert tracked.stored == ()


def test_open_incident_gone_from_feed_stays_open_until_it_expires() -> None:
    other = incident("other", "resolved")
    recent = {"abc": incident(updated_at=NOW - timedelta(days=6)), "other": other}
    assert events_of(recent, [other])[0] == []
    stale = {"abc": incident(updated_at=NOW - timedelta(days=8)), "other": other}
    found, tracked = events_of(stale, [other])
    assert found == [("resolved", "abc", "expired")]
    assert tracked.stored[0].status == "resolved"
    assert tracked.stored[0].resolved_at == NOW


def test_empty_poll_never_expires_anything() -> None:
    stale = {"abc": incident(updated_at=NOW - timedelta(days=30))}
    assert events_of(stale, [])[0] == []


def test_older_copy_of_the_feed_is_ignored() -> None:
    current = incident(status="identified", updated_at=NOW - timedelta(minutes=5))
    lagging = incident(status="investigating", updated_at=NOW - timedelta(hours=1))
    found, tracked = events_of({"abc": current}, [lagging])
    assert found == []
    assert tracked.stored == ()


def test_update_time_in_the_future_does_not_freeze_the_incident() -> None:
    skewed = incident(updated_at=NOW + timedelta(hours=1))  # the vendor's clock
    resolved = incident(status="resolved", updated_at=NOW + timedelta(minutes=10))
    found, _ = events_of({"abc": skewed}, [resolved])
    assert found == [("resolved", "abc", None)]


def test_first_poll_takes_entries_without_status_or_time_as_history() -> None:
    bare = incident("bare", "unknown", updated_at=None, started_at=None)
    found, tracked = events_of({}, [bare], first=True)
    assert found == []
    assert not tracked.stored[0].is_open


def test_later_entry_without_status_or_time_opens() -> None:
    bare = incident("bare", "unknown", updated_at=None, started_at=None)
    found, tracked = events_of({}, [bare])
    assert found == [("opened", "bare", None)]
    assert tracked.stored[0].updated_at == NOW


def test_stale_open_incident_still_in_feed_stays_open() -> None:
    old = incident(updated_at=NOW - timedelta(days=60))
    found, _ = events_of({"abc": old}, [old])
    assert found == []


def test_entry_without_status_expires_even_in_the_feed() -> None:
    old = incident(status="unknown", updated_at=NOW - timedelta(days=30))
    found, tracked = events_of({}, [old], first=True)
    assert found == []
    assert tracked.stored[0].status == "resolved"


def test_impact_only_escalates() -> None:
    known = {"abc": incident(impact="major")}
    found, tracked = events_of(known, [incident(impact="none", status="resolved")])
    assert found == [("resolved", "abc", None)]
    assert tracked.stored[0].impact == "major"


def test_impact_escalation_is_an_update() -> None:
    found, tracked = events_of({"abc": incident()}, [incident(impact="critical")])
    assert found == [("updated", "abc", None)]
    assert tracked.stored[0].impact == "critical"


def test_duplicate_entries_count_once() -> None:
    found, _ = events_of({}, [incident("dup"), incident("dup", status="resolved")])
    assert found == [("opened", "dup", None)]


def test_open_incidents_gone_from_the_feed_are_capped_oldest_first() -> None:
    gone = {
        f"r{n}": incident(f"r{n}", updated_at=NOW - timedelta(minutes=n))
        for n in range(1003)
    }
    current = incident("now")
    found, _ = events_of({**gone, "now": current}, [current])
    assert sorted(found) == [
        ("resolved", f"r{n}", "expired") for n in (1000, 1001, 1002)
    ]
