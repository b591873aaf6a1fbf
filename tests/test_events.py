"""Delivery of stored events to the events file, across crashes at any point."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from exporter.events import EventsFile
from exporter.model import Incident
from exporter.store import NewEvent, ProviderRecord, StateStore


def _incident(code: str) -> Incident:
    moment = datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
    return Incident(
        code, "incident", f"Outage {code}", "investigating", "major",
        f"https://status.example.test/incidents/{code}", moment, moment, None,
    )  # fmt: skip


def _store_events(store: StateStore, *codes: str) -> None:
    events = [
        NewEvent("2026-03-01T10:00:00Z", "vendor", "opened", None, _incident(code))
        for code in codes
    ]
    store.record_poll("vendor", ProviderRecord(), [], events)


def _codes(path: Path) -> list[str]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["id"] for e in lines] == sorted({e["id"] for e in lines})
    return [e["incident"]["id"] for e in lines]


def test_crash_after_writing_before_moving_the_cursor_delivers_no_duplicate(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.jsonl"
    store = StateStore(str(tmp_path / "state.db"))
    _store_events(store, "a", "b")
    EventsFile(str(path), store).deliver()
    store.set_delivered_cursor(0)  # the crash came before the cursor was stored
    _store_events(store, "c")

    restarted = EventsFile(str(path), store)
    restarted.recover()
    restarted.deliver()
    assert _codes(path) == ["a", "b", "c"]
    assert store.delivered_cursor() == store.latest_event_id()
    store.close()


def test_half_written_last_line_is_cut_and_written_again_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.jsonl"
    store = StateStore(str(tmp_path / "state.db"))
    _store_events(store, "a", "b")
    events = EventsFile(str(path), store)
    events.deliver()
    whole = path.read_bytes()
    second = whole.splitlines(keepends=True)[1]
    path.write_bytes(whole[: len(whole) - len(second) // 2])  # cut mid-line
    store.set_delivered_cursor(store.latest_event_id() - 1)

    restarted = EventsFile(str(path), store)
    restarted.recover()
    restarted.deliver()
    assert path.read_bytes() == whole
    store.close()


def test_events_file_behind_the_store_is_caught_up_in_order(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    store = StateStore(str(tmp_path / "state.db"))
    _store_events(store, "a")
    EventsFile(str(path), store).deliver()
    _store_events(store, "b", "c")  # stored, then the process died

    restarted = EventsFile(str(path), store)
    restarted.recover()
    assert restarted.deliver() == 2
    assert _codes(path) == ["a", "b", "c"]
    store.close()
