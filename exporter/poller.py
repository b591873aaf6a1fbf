"""Poll every provider on its own schedule and carry each poll to the end.

One poll: fetch -> (skip when not modified or unchanged) -> parse in a thread ->
track -> store and events in one transaction -> a new metrics snapshot.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import TypeVar

import aiohttp

from exporter.config import Config, ProviderConfig
from exporter.errors import FeedError
from exporter.events import EventsFile
from exporter.fetch import FetchError, FetchResult, Validators, fetch_feed
from exporter.metrics import Health, SnapshotCollector, view_of
from exporter.model import Incident, rfc3339
from exporter.parse import parse_feed
from exporter.schedule import effective_interval, first_delay, next_delay
from exporter.store import NewEvent, ProviderRecord, StateStore
from exporter.track import Change, track

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Process-wide polling settings from the command line."""

    min_interval: float = 15.0
    concurrency: int = 20
    expire_after: timedelta = timedelta(days=7)
    prune_every: float = 6 * 3600.0


@dataclasses.dataclass
class ProviderState:
    """Everything the poller holds about one provider between polls."""

    config: ProviderConfig
    interval: float
    record: ProviderRecord
    health: Health
    incidents: dict[str, Incident]
    failures_in_row: int = 0
    rejected: Outcome | None = None  # the last body that failed to parse
    next_wait: float = 0.0
    task: asyncio.Task[None] | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one fetch-and-parse produced."""

    kind: str  # "changed", "not_modified", "unchanged" or "failed"
    validators: Validators | None = None
    body_hash: str | None = None
    incidents: tuple[Incident, ...] = ()
    failure: str | None = None
    message: str = ""
    retry_after: float | None = None


class Poller:
    """Owns the per-provider schedules, the state store and the events file."""

    def __init__(
        self,
        store: StateStore,
        events: EventsFile,
        collector: SnapshotCollector,
        settings: Settings,
    ) -> None:
        self.store = store
        self.events = events
        self.collector = collector
        self.settings = settings
        self.states: dict[str, ProviderState] = {}
        self.session: aiohttp.ClientSession | None = None
        self.semaphore = asyncio.Semaphore(settings.concurrency)
        self.store_thread = ThreadPoolExecutor(1, thread_name_prefix="store")
        self.parse_threads = ThreadPoolExecutor(2, thread_name_prefix="parse")
        self.rng = random.Random()
        self.polled_once: set[str] = set()
        self.delivery_pending = False
        self.ready = asyncio.Event()
        self.housekeeping: asyncio.Task[None] | None = None
        # Kept as an attribute so a test can run a parser that breaks.
        self.parse: Callable[..., list[Incident]] = parse_feed

    # -- life cycle -------------------------------------------------------------

    async def start(self, config: Config, session: aiohttp.ClientSession) -> None:
        """Load state, deliver events left from a crash, start every schedule."""
        self.session = session
        try:
            await self.in_store(self.events.recover)
        except OSError as error:
            log.error("cannot read the events file to recover it err=%r", str(error))
        await self.deliver_events()
        for provider in config.providers:
            await self._add(provider)
        self._check_ready()
        await self.prune()
        self.housekeeping = asyncio.create_task(self._keep_house(), name="prune")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop every schedule, let running work end, flush the events file."""
        tasks = [s.task for s in self.states.values() if s.task is not None]
        if self.housekeeping is not None:
            tasks.append(self.housekeeping)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        await self.deliver_events()
        self.parse_threads.shutdown(wait=False, cancel_futures=True)
        self.store_thread.shutdown(wait=True)
        self.store.close()

    async def apply(self, config: Config) -> None:
        """Switch to a new configuration, keeping unchanged providers as they are."""
        wanted = {p.name: p for p in config.providers}
        for name in list(self.states):
            if name not in wanted:
                await self._remove(name)
        for provider in config.providers:
            state = self.states.get(provider.name)
            if state is None:
                await self._add(provider)
            elif state.config != provider:
                await self._remove(provider.name)
                await self._add(
                    provider, fresh_feed=_feed_changed(state.config, provider)
                )
        self._check_ready()

    async def in_store(self, work: Callable[[], T]) -> T:
        """Run store work on the store's own thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.store_thread, work)

    async def poll_all_once(
        self, config: Config, session: aiohttp.ClientSession
    ) -> None:
        """Poll every provider once, now, without starting schedules."""
        self.session = session
        for provider in config.providers:
            await self._add(provider, schedule=False)
        polls = [self.poll(state) for state in self.states.values()]
        for name, result in zip(
            self.states,
            await asyncio.gather(*polls, return_exceptions=True),
            strict=True,
        ):
            if isinstance(result, Exception):
                log.error("poll crashed provider=%s err=%r", name, str(result))

    async def _add(
        self, provider: ProviderConfig, fresh_feed: bool = False, schedule: bool = True
    ) -> None:
        record, known = await self.in_store(
            lambda: (
                self.store.provider(provider.name),
                self.store.incidents(provider.name),
            )
        )
        if fresh_feed:
            record = dataclasses.replace(
                record, etag=None, last_modified=None, body_hash=None,
                first_poll_done=False,
            )  # fmt: skip
        interval = effective_interval(provider.interval, self.settings.min_interval)
        state = ProviderState(
            provider, interval, record, Health.from_json(record.health), known
        )
        self.states[provider.name] = state
        self._publish(state)
        if schedule:
            state.task = asyncio.create_task(self._run(state), name=provider.name)
            log.debug(
                "provider scheduled provider=%s interval=%.1fs",
                provider.name, interval,
            )  # fmt: skip

    async def _remove(self, name: str) -> None:
        state = self.states.pop(name)
        self.polled_once.discard(name)
        if state.task is not None:
            state.task.cancel()
            await asyncio.gather(state.task, return_exceptions=True)
        providers = dict(self.collector.snapshot.providers)
        providers.pop(name, None)
        self.collector.snapshot = dataclasses.replace(
            self.collector.snapshot, providers=providers
        )

    # -- one provider's schedule ------------------------------------------------

    async def _run(self, state: ProviderState) -> None:
        await asyncio.sleep(first_delay(state.interval, self.rng))
        while True:
            try:
                await self.poll(state)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop this provider for good
                log.exception("poll crashed provider=%s", state.config.name)
                state.next_wait = state.interval
            self.polled_once.add(state.config.name)
            self._check_ready()
            await asyncio.sleep(state.next_wait)

    async def _keep_house(self) -> None:
        while True:
            await asyncio.sleep(self.settings.prune_every)
            try:
                await self.prune()
            except sqlite3.Error as error:
                log.error("cannot prune the state file err=%r", str(error))

    async def prune(self) -> None:
        """Forget long-closed incidents and old events, in the store and here."""
        forgotten = await self.in_store(self.store.prune)
        for provider, incident_id in forgotten:
            state = self.states.get(provider)
            if state is not None:
                state.incidents.pop(incident_id, None)
        if forgotten:
            log.info("forgot long-closed incidents count=%d", len(forgotten))

    def _check_ready(self) -> None:
        if self.states and set(self.states) <= self.polled_once:
            self.ready.set()

    async def poll(self, state: ProviderState) -> Outcome:
        """Poll one provider once and record everything it found."""
        before = (state.record, Health.from_json(state.health.to_json()))
        try:
            async with self.semaphore:
                started = time.monotonic()
                outcome = await self._fetch_and_parse(state)
                state.health.observe_duration(time.monotonic() - started)
            await self._record_changes(state, outcome)
        except BaseException:
            # Nothing was stored: forget this poll's counts, validators and hash
            # too, so the next one fetches and compares the same content again.
            state.record, state.health = before
            raise
        return outcome

    async def _fetch_and_parse(self, state: ProviderState) -> Outcome:
        assert self.session is not None
        record = state.record
        validators = Validators(record.etag, record.last_modified)
        try:
            result = await fetch_feed(self.session, state.config, validators)
        except FetchError as error:
            if error.status is not None:
                state.health.count(state.health.responses, str(error.status))
            return Outcome("failed", failure=error.reason, message=str(error),
                           retry_after=error.retry_after)  # fmt: skip
        state.health.count(state.health.responses, str(result.status))
        return await self._parse(state, result)

    async def _parse(self, state: ProviderState, result: FetchResult) -> Outcome:
        if result.body is None:
            return Outcome("not_modified", result.validators)
        digest = hashlib.sha256(result.body).hexdigest()
        if digest == state.record.body_hash:
            return Outcome("unchanged", result.validators, digest)
        if state.rejected is not None and state.rejected.body_hash == digest:
            return state.rejected  # the same bad bytes again: no second parse
        outcome = await self._parse_body(state, result, digest)
        state.rejected = (
            dataclasses.replace(outcome, body_hash=digest)
            if outcome.kind == "failed"
            else None
        )
        return outcome

    async def _parse_body(
        self, state: ProviderState, result: FetchResult, digest: str
    ) -> Outcome:
        assert result.body is not None
        parse = functools.partial(
            self.parse, result.body, content_type=result.content_type,
            expected_format=state.config.format, now=datetime.now(timezone.utc),
        )  # fmt: skip
        try:
            loop = asyncio.get_running_loop()
            incidents = await loop.run_in_executor(self.parse_threads, parse)
        except FeedError as error:
            return Outcome("failed", failure=error.reason, message=str(error))
        except Exception as error:  # a parser bug: count it as a failed poll
            log.exception("parser failed provider=%s", state.config.name)
            message = f"parser failed: {type(error).__name__}: {error}"
            return Outcome("failed", failure="parse", message=message[:300])
        return Outcome("changed", result.validators, digest, tuple(incidents))

    # -- recording --------------------------------------------------------------

    async def _record_changes(self, state: ProviderState, outcome: Outcome) -> None:
        now = datetime.now(timezone.utc)
        health = state.health
        health.polls += 1
        health.last_poll = now.timestamp()
        if outcome.kind == "failed":
            self._note_failure(state, outcome)
            changes: tuple[Change, ...] = ()
            stored: tuple[Incident, ...] = ()
        else:
            self._note_success(state, outcome, now)
            stored, changes = self._track(state, outcome, now)
        for change in changes:
            health.count(health.events, change.event)
        events = [_new_event(state.config.name, change, now) for change in changes]
        state.record = dataclasses.replace(state.record, health=health.to_json())
        record = state.record

        await self.in_store(
            lambda: self.store.record_poll(state.config.name, record, stored, events)
        )
        for incident in stored:
            state.incidents[incident.id] = incident
        self._publish(state)
        if events or self.delivery_pending:
            await self.deliver_events()

    async def deliver_events(self) -> None:
        """Append stored events to the events file; retry later if it fails."""
        try:
            await self.in_store(self.events.deliver)
        except OSError as error:
            if not self.delivery_pending:
                log.error(
                    "cannot write the events file, events wait in the state file "
                    "path=%r err=%r",
                    self.events.target, str(error),
                )  # fmt: skip
            self.delivery_pending = True
            return
        self.delivery_pending = False

    def _track(
        self, state: ProviderState, outcome: Outcome, now: datetime
    ) -> tuple[tuple[Incident, ...], tuple[Change, ...]]:
        if outcome.kind == "changed":
            parsed = outcome.incidents
        else:  # same content as last time: only expiry can change anything
            seen = state.record.seen_ids
            parsed = tuple(state.incidents[i] for i in seen if i in state.incidents)
        tracked = track(
            state.incidents, parsed, first_poll=not state.record.first_poll_done,
            now=now, expire_after=self.settings.expire_after,
        )  # fmt: skip
        # Only a feed with entries makes a baseline: a first answer that is empty
        # (or a 304 to a request without validators) must not turn the history
        # that comes later into a storm of events.
        first_poll_done = state.record.first_poll_done or bool(parsed)
        state.record = dataclasses.replace(
            state.record,
            first_poll_done=first_poll_done,
            seen_ids=tuple(i.id for i in parsed),
        )
        for change in tracked.changes:
            log.info(
                "incident %s provider=%s incident=%s status=%s impact=%s%s",
                change.event, state.config.name, change.incident.id,
                change.incident.status, change.incident.impact,
                f" reason={change.reason}" if change.reason else "",
            )  # fmt: skip
        return tracked.stored, tracked.changes

    def _note_success(
        self, state: ProviderState, outcome: Outcome, now: datetime
    ) -> None:
        health = state.health
        if state.failures_in_row:
            log.info("provider recovered provider=%s", state.config.name)
        state.failures_in_row, state.next_wait = 0, state.interval
        health.up = 1
        health.last_success = now.timestamp()
        validators = outcome.validators or Validators()
        state.record = dataclasses.replace(
            state.record, etag=validators.etag, last_modified=validators.last_modified
        )
        if outcome.kind == "changed":
            health.content_changes += 1
            health.last_change = now.timestamp()
            state.record = dataclasses.replace(
                state.record, body_hash=outcome.body_hash
            )
        log.debug("poll ok provider=%s result=%s", state.config.name, outcome.kind)

    def _note_failure(self, state: ProviderState, outcome: Outcome) -> None:
        health = state.health
        assert outcome.failure is not None
        health.up = 0
        health.count(health.failures, outcome.failure)
        state.failures_in_row += 1
        state.next_wait = next_delay(
            state.interval, state.failures_in_row, outcome.retry_after, self.rng
        )
        log.warning(
            "poll failed provider=%s reason=%s failures_in_row=%d retry_in=%.1fs "
            "err=%r",
            state.config.name, outcome.failure, state.failures_in_row,
            state.next_wait, outcome.message,
        )  # fmt: skip

    def _publish(self, state: ProviderState) -> None:
        view = view_of(
            state.config, state.interval, state.health, state.incidents.values()
        )
        snapshot = self.collector.snapshot
        providers = {**snapshot.providers, state.config.name: view}
        self.collector.snapshot = dataclasses.replace(snapshot, providers=providers)

    def open_incidents(self) -> list[tuple[str, Incident]]:
        """Return every open incident and pending maintenance, by provider."""
        return [
            (name, incident)
            for name, view in sorted(self.collector.snapshot.providers.items())
            for incident in sorted(view.incidents, key=lambda i: i.id)
        ]


def _new_event(provider: str, change: Change, now: datetime) -> NewEvent:
    moment = rfc3339(now)
    assert moment is not None
    return NewEvent(moment, provider, change.event, change.reason, change.incident)


def _feed_changed(old: ProviderConfig, new: ProviderConfig) -> bool:
    return (old.url, old.format, old.headers) != (new.url, new.format, new.headers)
