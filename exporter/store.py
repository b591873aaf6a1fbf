"""The state file: validators, incidents, counters and events, in SQLite.

Every poll's outcome is one transaction, so a crash at any moment leaves either the
state before the poll or the state after it, with the events that led there. All
calls come from one thread (the poller's store executor).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from exporter.errors import ExporterError
from exporter.model import Incident

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS providers (
    name TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    health TEXT NOT NULL DEFAULT '{}',
    first_poll_done INTEGER NOT NULL DEFAULT 0,
    seen_ids TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS incidents (
    provider TEXT NOT NULL,
    id TEXT NOT NULL,
    incident TEXT NOT NULL,
    last_seen REAL NOT NULL,
    PRIMARY KEY (provider, id)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    provider TEXT NOT NULL,
    event TEXT NOT NULL,
    reason TEXT,
    incident TEXT NOT NULL
);
"""
# Closed incidents that left the feed this long ago cannot come back in its window.
FORGET_CLOSED_AFTER_SECONDS = 90 * 86400
KEEP_EVENTS = 100_000
# A feed whose ids change on every request would otherwise fill the file: past
# this many closed incidents a provider keeps the most recently seen ones (a
# feed window never holds more than the parser's 1000).
KEEP_CLOSED_PER_PROVIDER = 2000
_FORGOTTEN_INCIDENTS = """
SELECT provider, id FROM (
    SELECT provider, id, last_seen, ROW_NUMBER() OVER (
        PARTITION BY provider ORDER BY last_seen DESC
    ) AS newness
    FROM incidents
    WHERE json_extract(incident, '$.status') IN ('resolved', 'postmortem', 'completed')
)
WHERE last_seen < ? OR newness > ?
"""
# Our ids are milliseconds since the epoch (about 1.8e12 in 2026). An id from
# elsewhere is adopted only below this, which leaves SQLite's 2**63 ample room.
EVENT_ID_CEILING = 2**53


@dataclasses.dataclass(frozen=True)
class ProviderRecord:
    """What is kept of one provider between polls."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    health: dict[str, Any] = dataclasses.field(default_factory=dict)
    first_poll_done: bool = False
    seen_ids: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class StoredEvent:
    """An event as written in the store, before or after delivery."""

    id: int
    time: str
    provider: str
    event: str
    reason: str | None
    incident: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class NewEvent:
    """An event to be written with the poll that found it."""

    time: str
    provider: str
    event: str
    reason: str | None
    incident: Incident


class StateStore:
    """The exporter's durable state in one SQLite file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.connection = _open_or_set_aside(path)

    def close(self) -> None:
        """Close the database."""
        self.connection.close()

    # -- providers and incidents ------------------------------------------------

    def provider(self, name: str) -> ProviderRecord:
        """Return what is stored of a provider (empty when never polled)."""
        row = self.connection.execute(
            "SELECT etag, last_modified, body_hash, health, first_poll_done, "
            "seen_ids FROM providers WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return ProviderRecord()
        try:
            return _provider_record(row)
        except (ValueError, TypeError) as error:
            log.error(
                "stored provider state unreadable, starting its baseline afresh "
                "provider=%s err=%r", name, str(error),
            )  # fmt: skip
            return ProviderRecord()

    def incidents(self, provider: str) -> dict[str, Incident]:
        """Return every incident known for a provider, by id."""
        rows = self.connection.execute(
            "SELECT id, incident FROM incidents WHERE provider = ?", (provider,)
        )
        known = {}
        for incident_id, text in rows:
            try:
                known[incident_id] = Incident.from_json(json.loads(text))
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                log.error(
                    "stored incident unreadable, forgetting it provider=%s "
                    "incident=%s err=%r", provider, incident_id, str(error),
                )  # fmt: skip
        return known

    def record_poll(
        self,
        provider: str,
        record: ProviderRecord,
        incidents: Sequence[Incident],
        events: Sequence[NewEvent],
    ) -> None:
        """Write one poll's outcome and its events in a single transaction."""
        now = time.time()
        with self.connection:
            self._write_provider(provider, record)
            self.connection.executemany(
                "INSERT OR REPLACE INTO incidents VALUES (?, ?, ?, ?)",
                [(provider, i.id, json.dumps(i.to_json()), now) for i in incidents],
            )
            self.connection.executemany(
                "UPDATE incidents SET last_seen = ? WHERE provider = ? AND id = ?",
                [(now, provider, incident_id) for incident_id in record.seen_ids],
            )
            self.connection.executemany(
                "INSERT INTO events (time, provider, event, reason, incident) "
                "VALUES (?, ?, ?, ?, ?)",
                [_event_row(event) for event in events],
            )

    def _write_provider(self, name: str, record: ProviderRecord) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO providers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                record.etag,
                record.last_modified,
                record.body_hash,
                json.dumps(record.health),
                int(record.first_poll_done),
                json.dumps(list(record.seen_ids)),
            ),
        )

    # -- events -----------------------------------------------------------------

    def events_after(self, after: int, limit: int) -> list[StoredEvent]:
        """Return up to `limit` events with an id above `after`, oldest first."""
        rows = self.connection.execute(
            "SELECT id, time, provider, event, reason, incident FROM events "
            "WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [
            StoredEvent(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]))
            for row in rows
        ]

    def latest_event_id(self) -> int:
        """Return the id of the newest event, or 0."""
        row = self.connection.execute("SELECT MAX(id) FROM events").fetchone()
        return int(row[0] or 0)

    def delivered_cursor(self) -> int:
        """Return the id of the last event delivered to the events file."""
        return int(self._meta("delivered") or 0)

    def keep_event_ids_above(self, event_id: int) -> None:
        """Make sure new events get ids above one already delivered elsewhere."""
        if not 0 < event_id < EVENT_ID_CEILING:
            raise ValueError(f"event id {event_id} is out of range")
        with self.connection:
            self.connection.execute(
                "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'events'",
                (event_id,),
            )

    def set_delivered_cursor(self, event_id: int) -> None:
        """Record that every event up to `event_id` was delivered."""
        with self.connection:
            self._set_meta("delivered", str(event_id))

    def prune(self) -> list[tuple[str, str]]:
        """Forget long-closed incidents that left their feed, and old events.

        Return the (provider, incident) keys forgotten, so memory can follow.
        """
        cutoff = time.time() - FORGET_CLOSED_AFTER_SECONDS
        delivered = self.delivered_cursor()
        with self.connection:
            forgotten = self.connection.execute(
                _FORGOTTEN_INCIDENTS, (cutoff, KEEP_CLOSED_PER_PROVIDER)
            ).fetchall()
            self.connection.executemany(
                "DELETE FROM incidents WHERE provider = ? AND id = ?", forgotten
            )
            self.connection.execute(
                "DELETE FROM events WHERE id <= ? AND id NOT IN "
                "(SELECT id FROM events ORDER BY id DESC LIMIT ?)",
                (delivered, KEEP_EVENTS),
            )
        return [(str(provider), str(key)) for provider, key in forgotten]

    def _meta(self, key: str) -> str | None:
        row = self.connection.execute(
            "SELECT value FROM meta WHERE key = ?", (key,)
        ).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self.connection.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value)
        )


def _provider_record(row: tuple[Any, ...]) -> ProviderRecord:
    health = json.loads(row[3])
    seen = json.loads(row[5])
    if not isinstance(health, dict) or not isinstance(seen, list):
        raise TypeError("health must be an object and seen_ids a list")
    text = (row[0], row[1], row[2])
    if not all(value is None or isinstance(value, str) for value in text):
        raise TypeError("validators and hash must be text")
    return ProviderRecord(
        row[0], row[1], row[2], health, bool(row[4]), tuple(str(i) for i in seen)
    )


def _event_row(event: NewEvent) -> tuple[str, str, str, str | None, str]:
    incident = json.dumps(event.incident.to_json())
    return (event.time, event.provider, event.event, event.reason, incident)


class StateFileError(ExporterError):
    """The state file cannot be used, and moving it aside would not help."""


class _CorruptState(Exception):
    """The state file's content is unusable: move it aside."""


# Only these mean "the content is bad". Anything else (locked, permission denied,
# a directory) is the operator's to fix, and moving the file would lose it.
CORRUPTION_MESSAGES = (
    "file is not a database",
    "malformed",
    "no such column",
    "no such table",
    "has no column",
    "database corrupt",
)


def _open_or_set_aside(path: str) -> sqlite3.Connection:
    """Open the state file; move a corrupt one aside and start afresh."""
    if path != ":memory:" and os.path.isdir(path):
        raise StateFileError(f"state path {path} is a directory, not a file")
    try:
        return _open(path)
    except _CorruptState as error:
        aside = f"{path}.corrupt-{int(time.time())}"
        log.error(
            "state file unreadable, moved aside; starting a fresh baseline "
            "path=%r moved_to=%r err=%r",
            path, aside, str(error),
        )  # fmt: skip
        _move_aside(path, aside)
        return _open(path)


def _move_aside(path: str, aside: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.replace(path + suffix, aside + suffix)


def _open(path: str) -> sqlite3.Connection:
    try:
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        connection = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=1.0
        )
    except (OSError, sqlite3.Error) as error:
        raise StateFileError(f"cannot open state file {path}: {error}") from error
    try:
        _prepare(connection)
    except sqlite3.DatabaseError as error:
        connection.close()
        if any(words in str(error) for words in CORRUPTION_MESSAGES):
            raise _CorruptState(str(error)) from error
        if "locked" in str(error):
            raise StateFileError(
                f"state file {path} is in use by another process"
            ) from error
        raise StateFileError(f"cannot use state file {path}: {error}") from error
    except _CorruptState:
        connection.close()
        raise
    connection.isolation_level = "DEFERRED"  # `with connection` opens a transaction
    return connection


def _prepare(connection: sqlite3.Connection) -> None:
    # One process per state file: an exclusive lock, held until the process ends,
    # keeps a second exporter from writing the same events twice.
    connection.execute("PRAGMA locking_mode = EXCLUSIVE")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("BEGIN EXCLUSIVE")
    connection.execute("COMMIT")
    check = connection.execute("PRAGMA quick_check").fetchone()
    if check is None or check[0] != "ok":
        raise _CorruptState(f"integrity check failed: {check}")
    # WAL with NORMAL survives a killed process; only a power loss may drop
    # the last transactions, which the next poll finds again.
    connection.execute("PRAGMA synchronous = NORMAL")
    _refuse_foreign(connection)
    connection.executescript(SCHEMA)
    _check_shape(connection)


def _refuse_foreign(connection: sqlite3.Connection) -> None:
    """Refuse a database that holds tables but is not a state file of ours."""
    tables = {
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    if tables and "meta" not in tables:
        raise _CorruptState(f"not a state file of this exporter: {sorted(tables)}")


def _check_shape(connection: sqlite3.Connection) -> None:
    """Refuse a file whose tables or bookkeeping are not ours."""
    for table, columns in (
        ("providers", "name, etag, last_modified, body_hash, health, "
                      "first_poll_done, seen_ids"),
        ("incidents", "provider, id, incident, last_seen"),
        ("events", "id, time, provider, event, reason, incident"),
    ):  # fmt: skip
        connection.execute(f"SELECT {columns} FROM {table} LIMIT 0")
    rows = dict(connection.execute("SELECT key, value FROM meta").fetchall())
    if "schema_version" not in rows:
        _initialise(connection)
        return
    if rows["schema_version"] != str(SCHEMA_VERSION):
        raise _CorruptState(f"unknown schema version {rows['schema_version']!r}")
    if not str(rows.get("delivered", "")).isdigit():
        raise _CorruptState("unreadable delivery cursor")


def _initialise(connection: sqlite3.Connection) -> None:
    # Event ids start at the creation time in milliseconds, so a store that
    # replaces a lost one never reuses the ids its consumers have seen.
    first_id = int(time.time() * 1000)
    connection.execute("BEGIN")
    connection.execute(
        "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
    )
    connection.execute(
        "INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (first_id,)
    )
    connection.execute("INSERT INTO meta VALUES ('delivered', ?)", (str(first_id),))
    connection.execute("COMMIT")
