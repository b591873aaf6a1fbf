"""Delivery of stored events to the events file, across crashes at any point."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import pytest

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


def restart(path: Path, store: StateStore) -> EventsFile:
    """Open the events file as a restarted exporter does, recovery included."""
    events = EventsFile(str(path), store)
    events.recover()
    return events


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

    restarted = restart(path, store)
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

    restarted = restart(path, store)
    restarted.deliver()
    assert path.read_bytes() == whole
    store.close()


def test_events_file_behind_the_store_is_caught_up_in_order(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    store = StateStore(str(tmp_path / "state.db"))
    _store_events(store, "a")
    EventsFile(str(path), store).deliver()
    _store_events(store, "b", "c")  # stored, then the process died

    restarted = restart(path, store)
    assert restarted.deliver() == 2
    assert _codes(path) == ["a", "b", "c"]
    store.close()


@pytest.mark.parametrize(
    "last_line",
    [
        '{"id": 99999999999999999999, "event": "opened"}',
        '{"id": 9223372036854775807, "event": "opened"}',
        '{"id": 9007199254740992, "event": "opened"}',
        '{"id": true, "event": "opened"}',
        '{"id": -5, "event": "opened"}',
        '{"id": "12", "event": "opened"}',
    ],
)
def test_implausible_last_id_in_the_file_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, last_line: str
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(last_line + "\n")
    store = StateStore(str(tmp_path / "state.db"))
    cursor = store.delivered_cursor()
    events = EventsFile(str(path), store)
    with caplog.at_level(logging.WARNING, logger="exporter.events"):
        events.recover()
    assert any(
        str(path) in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.records
    )
    assert store.delivered_cursor() == events.cursor == cursor

    _store_events(store, "a", "b")  # polls go on storing and delivering
    assert events.deliver() == 2
    assert _codes_after(path, last_line) == ["a", "b"]
    assert cursor < store.latest_event_id() < 2**53
    store.close()


def test_a_foreign_id_after_ours_leaves_the_file_aligned_with_ours(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.jsonl"
    store = StateStore(str(tmp_path / "state.db"))
    _store_events(store, "a")
    EventsFile(str(path), store).deliver()
    with path.open("a") as appended:
        appended.write('{"id": 99999999999999999999}\n')
    store.set_delivered_cursor(0)

    restarted = restart(path, store)  # must not raise OverflowError
    assert restarted.deliver() == 0  # "a" is in the file already
    _store_events(store, "b")
    assert restarted.deliver() == 1
    assert json.loads(path.read_text().splitlines()[-1])["incident"]["id"] == "b"
    store.close()


def _codes_after(path: Path, first_line: str) -> list[str]:
    lines = path.read_text().splitlines()
    assert lines[0] == first_line
    return [json.loads(line)["incident"]["id"] for line in lines[1:]]
