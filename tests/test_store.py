"""The state file: corruption, foreign files, locks and bad rows."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from exporter.events import EventsFile
from exporter.model import Incident
from exporter.store import (
    KEEP_CLOSED_PER_PROVIDER,
    ProviderRecord,
    StateFileError,
    StateStore,
)


def test_garbage_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"\x00garbage" * 1000)
    StateStore(str(path)).close()
    assert list(tmp_path.glob("state.db.corrupt-*"))


def test_foreign_sqlite_schema_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    foreign = sqlite3.connect(path)
    foreign.execute("CREATE TABLE providers (something TEXT)")
    foreign.commit()
    foreign.close()
    store = StateStore(str(path))
    assert store.provider("x") == ProviderRecord()
    store.close()
    assert list(tmp_path.glob("state.db.corrupt-*"))


def test_a_directory_is_refused_not_moved(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    with pytest.raises(StateFileError, match="directory"):
        StateStore(str(tmp_path / "state"))
    assert (tmp_path / "state").is_dir()
    assert not list(tmp_path.glob("state.corrupt-*"))


def test_a_second_process_on_the_same_state_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = StateStore(str(path))
    try:
        with pytest.raises(StateFileError, match="in use"):
            StateStore(str(path))
    finally:
        first.close()
    assert not list(tmp_path.glob("state.db.corrupt-*"))
    StateStore(str(path)).close()  # free again once the first is gone


def test_unreadable_rows_reset_only_their_provider(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    store = StateStore(path)
    store.record_poll("good", ProviderRecord(etag='"1"', first_poll_done=True), [], [])
    store.record_poll("bad", ProviderRecord(etag='"2"', first_poll_done=True), [], [])
    store.connection.execute("UPDATE providers SET health = '{' WHERE name = 'bad'")
    store.connection.execute(
        "INSERT INTO incidents VALUES ('good', 'x', '{\"id\": 1}', 0)"
    )
    assert store.provider("bad") == ProviderRecord()
    assert store.provider("good").etag == '"1"'
    assert store.incidents("good") == {}
    store.close()


def test_fresh_store_never_reuses_ids_already_in_the_events_file(
    tmp_path: Path,
) -> None:
    events = tmp_path / "events.jsonl"
    far_ahead = 10**15
    events.write_text(json.dumps({"id": far_ahead, "event": "opened"}) + "\n")
    store = StateStore(str(tmp_path / "state.db"))
    EventsFile(str(events), store).recover()
    store.connection.execute(
        "INSERT INTO events (time, provider, event, reason, incident) "
        "VALUES ('t', 'p', 'opened', NULL, '{}')"
    )
    assert store.latest_event_id() == far_ahead + 1
    store.close()


def test_a_batch_cut_short_by_a_full_disk_is_not_left_half_written(
    tmp_path: Path,
) -> None:
    # A file size limit makes the write fail part-way, as a full disk would.
    script = textwrap.dedent(f"""
        import resource, signal
        from exporter.events import EventsFile
        from exporter.model import Incident
        from exporter.store import NewEvent, ProviderRecord, StateStore
        store = StateStore({str(tmp_path / "state.db")!r})
        incident = Incident("i", "incident", "t" * 300, "investigating", "minor",
                            "u", None, None, None, (), "x" * 1000)
        events = [NewEvent("t", "p", "opened", None, incident) for _ in range(50)]
        store.record_poll("p", ProviderRecord(), [incident], events)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        try:
            EventsFile({str(tmp_path / "events.jsonl")!r}, store).deliver()
        except OSError as error:
            print("failed", error.errno)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert "failed" in result.stdout, result.stderr
    assert (tmp_path / "events.jsonl").read_bytes() == b""


def test_another_programs_database_is_moved_aside_not_adopted(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE foo (bar TEXT)")
    other.commit()
    other.close()
    StateStore(str(path)).close()
    (aside,) = tmp_path.glob("app.db.corrupt-*")
    tables = sqlite3.connect(aside).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    assert [row[0] for row in tables] == ["foo"]


def test_closed_incidents_beyond_the_cap_are_forgotten_newest_seen_kept(
    tmp_path: Path,
) -> None:
    store = StateStore(str(tmp_path / "state.db"))
    moment = datetime(2026, 3, 1, tzinfo=timezone.utc)
    closed = [
        Incident(
            f"c{n}", "incident", "Old", "resolved", "minor", "", moment, moment, moment
        )
        for n in range(KEEP_CLOSED_PER_PROVIDER + 5)
    ]
    for batch in (closed[:5], closed[5:]):  # the first five were seen earlier
        store.record_poll("vendor", ProviderRecord(), batch, [])
        store.connection.execute("UPDATE incidents SET last_seen = last_seen - 60")
    forgotten = store.prune()
    assert sorted(forgotten) == [("vendor", f"c{n}") for n in range(5)]
    assert len(store.incidents("vendor")) == KEEP_CLOSED_PER_PROVIDER
    store.close()
