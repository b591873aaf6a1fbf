"""Deliver stored events to the events file, one JSON line each, exactly once.

Events reach the store in the same transaction as the incident change that caused
them. Delivery then appends them to the events file and moves a cursor. A crash
between the two is repaired at start-up: the file's last complete line names the last
event it holds, and a half-written line is cut off and written again.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import sys
from typing import Any, TypeGuard

from exporter.store import EVENT_ID_CEILING, StateStore, StoredEvent

log = logging.getLogger(__name__)

STDOUT = "-"
BATCH = 500
TAIL_BYTES = 1 << 20


def event_json(event: StoredEvent) -> dict[str, Any]:
    """Return an event as the events log and the API write it."""
    record: dict[str, Any] = {
        "id": event.id,
        "time": event.time,
        "provider": event.provider,
        "event": event.event,
    }
    if event.reason:
        record["reason"] = event.reason
    record["incident"] = event.incident
    return record


def event_line(event: StoredEvent) -> bytes:
    """Return an event as one line of the events file."""
    return json.dumps(event_json(event), ensure_ascii=False).encode() + b"\n"


class EventsFile:
    """The events log: a file that is appended to, or standard output."""

    def __init__(self, target: str, store: StateStore) -> None:
        self.target = target
        self.store = store
        self.cursor = store.delivered_cursor()

    def recover(self) -> None:
        """Repair the file after a crash and align the cursor with it."""
        if self.target == STDOUT or not os.path.isfile(self.target):
            return
        last_id = _repair_tail(self.target)
        if last_id is not None:
            # A fresh state file (an old one moved aside) must not reuse ids
            # the file already holds.
            self.store.keep_event_ids_above(last_id)
        if last_id is not None and last_id > self.cursor:
            log.info(
                "events file ahead of the store cursor, catching up "
                "file_id=%d cursor=%d",
                last_id,
                self.cursor,
            )
            self.cursor = last_id
            self.store.set_delivered_cursor(last_id)

    def deliver(self) -> int:
        """Append every undelivered event; return how many were written."""
        written = 0
        while True:
            batch = self.store.events_after(self.cursor, BATCH)
            if not batch:
                return written
            self._append(b"".join(event_line(event) for event in batch))
            self.cursor = batch[-1].id
            self.store.set_delivered_cursor(self.cursor)
            written += len(batch)

    def _append(self, lines: bytes) -> None:
        if self.target == STDOUT:
            sys.stdout.buffer.write(lines)
            sys.stdout.buffer.flush()
            return
        descriptor = os.open(self.target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            _write_whole(descriptor, lines)
        finally:
            os.close(descriptor)


def _write_whole(descriptor: int, lines: bytes) -> None:
    """Write every byte and sync, or leave the file as it was (disk full)."""
    regular = stat.S_ISREG(os.fstat(descriptor).st_mode)
    start = os.lseek(descriptor, 0, os.SEEK_END) if regular else 0
    try:
        view = memoryview(lines)
        while view:
            view = view[os.write(descriptor, view) :]
        _sync(descriptor)
    except OSError:
        if regular:
            _cut_back(descriptor, start)
        raise


def _cut_back(descriptor: int, size: int) -> None:
    try:
        os.ftruncate(descriptor, size)
    except OSError:
        log.error("cannot cut a half-written batch off the events file")


def _sync(descriptor: int) -> None:
    try:
        os.fsync(descriptor)
    except OSError as error:
        # Pipes and character devices (a FIFO, /dev/null) cannot be synced.
        if error.errno != errno.EINVAL:
            raise


def _repair_tail(path: str) -> int | None:
    """Cut a half-written last line; return the id of the last complete event."""
    with open(path, "rb+") as events:
        size = events.seek(0, os.SEEK_END)
        start = max(0, size - TAIL_BYTES)
        events.seek(start)
        tail = events.read()
        end = tail.rfind(b"\n") + 1
        if end < len(tail):
            log.warning("events file ends in a half-written line, cutting it off")
            events.truncate(start + end)
            tail = tail[:end]
    return _last_event_id(path, tail.splitlines())


def _last_event_id(path: str, lines: list[bytes]) -> int | None:
    """Return the last id this exporter can have written; warn about others."""
    refused = False
    for line in reversed(lines):
        event_id = _event_id(line)
        if event_id is None:
            continue
        if _plausible_id(event_id):
            return event_id
        if not refused:
            # Our ids are milliseconds since the epoch; adopting a far bigger
            # one would use up SQLite's integers and stop every poll for good.
            log.warning(
                "events file holds an id this exporter never writes, "
                "not aligning with it path=%r id=%s",
                path, repr(event_id)[:40],
            )  # fmt: skip
            refused = True
    return None


def _event_id(line: bytes) -> object:
    """Return the `id` of a line holding a JSON object, or None."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record.get("id") if isinstance(record, dict) else None


def _plausible_id(value: object) -> TypeGuard[int]:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 0 < value < EVENT_ID_CEILING
    )
