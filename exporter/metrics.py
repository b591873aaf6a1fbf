"""Prometheus metrics, built from an immutable snapshot on every scrape.

The poller replaces a provider's view after each poll; `collect()` only reads the
current snapshot, so a scrape never waits on I/O and never sees half a poll.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from exporter.config import ProviderConfig
from exporter.model import IMPACTS, Incident
from exporter.track import EVENTS

FAILURE_REASONS = (
    "timeout",
    "connection",
    "http_status",
    "rate_limited",
    "not_a_feed",
    "parse",
    "too_large",
)
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclasses.dataclass
class Health:
    """A provider's poll counters and times; persisted with its state."""

    up: int = 0
    polls: int = 0
    failures: dict[str, int] = dataclasses.field(default_factory=dict)
    responses: dict[str, int] = dataclasses.field(default_factory=dict)
    content_changes: int = 0
    events: dict[str, int] = dataclasses.field(default_factory=dict)
    duration_buckets: list[int] = dataclasses.field(
        default_factory=lambda: [0] * len(DURATION_BUCKETS)
    )
    duration_sum: float = 0.0
    last_poll: float = 0.0
    last_success: float = 0.0
    last_change: float = 0.0

    def observe_duration(self, seconds: float) -> None:
        """Count one poll's duration in the histogram."""
        self.duration_sum += seconds
        for index, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self.duration_buckets[index] += 1

    def count(self, table: dict[str, int], key: str, amount: int = 1) -> None:
        """Add to one labelled counter."""
        table[key] = table.get(key, 0) + amount

    def to_json(self) -> dict[str, Any]:
        """Return the health as stored in the state file."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, fields: Mapping[str, Any]) -> Health:
        """Rebuild stored health, ignoring fields of other versions."""
        known = {f.name for f in dataclasses.fields(cls)}
        health = cls(**{k: v for k, v in fields.items() if k in known})
        if len(health.duration_buckets) != len(DURATION_BUCKETS):
            health.duration_buckets = [0] * len(DURATION_BUCKETS)
        return health


@dataclasses.dataclass(frozen=True)
class ProviderView:
    """What /metrics shows of one provider, frozen at the end of a poll."""

    config: ProviderConfig
    interval: float
    health: Health
    incidents: tuple[Incident, ...]


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Everything a scrape reads; replaced whole, never changed in place."""

    version: str
    providers: Mapping[str, ProviderView] = dataclasses.field(default_factory=dict)
    reload_successful: int = 1
    reload_success_time: float = 0.0


def view_of(
    config: ProviderConfig,
    interval: float,
    health: Health,
    incidents: Iterable[Incident],
) -> ProviderView:
    """Freeze a provider's state for scrapes (open incidents only)."""
    frozen = Health.from_json(health.to_json())
    shown = tuple(i for i in incidents if i.is_open)
    return ProviderView(config, interval, frozen, shown)


class SnapshotCollector(Collector):
    """Render the current snapshot as Prometheus metric families."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        """Yield every family; reads one snapshot reference, no I/O."""
        snapshot = self.snapshot
        views = list(snapshot.providers.values())
        yield from _exporter_families(snapshot)
        yield from _provider_families(views)
        yield from _poll_families(views)
        yield from _incident_families(views)


def _exporter_families(snapshot: Snapshot) -> Iterator[Metric]:
    build = GaugeMetricFamily(
        "statuspage_build_info", "Version of the running exporter; always 1.",
        labels=["version"],
    )  # fmt: skip
    build.add_metric([snapshot.version], 1)
    yield build
    yield GaugeMetricFamily(
        "statuspage_config_last_reload_successful",
        "Whether the last configuration load or reload succeeded (1) or not (0).",
        value=snapshot.reload_successful,
    )
    yield GaugeMetricFamily(
        "statuspage_config_last_reload_success_timestamp_seconds",
        "Unix time of the last successful configuration load or reload.",
        value=snapshot.reload_success_time,
    )


def _provider_families(views: list[ProviderView]) -> Iterator[Metric]:
    user_labels = sorted({key for view in views for key, _ in view.config.labels})
    info = GaugeMetricFamily(
        "statuspage_provider_info",
        "Configured providers with their display name, feed URL and user labels.",
        labels=["provider", "name", "url", *user_labels],
    )
    interval = GaugeMetricFamily(
        "statuspage_poll_interval_seconds",
        "Time between two polls of the provider's feed, after --poll.min-interval.",
        labels=["provider"],
    )
    for view in views:
        config, own = view.config, dict(view.config.labels)
        values = [own.get(key, "") for key in user_labels]
        info.add_metric([config.name, config.display_name, config.url, *values], 1)
        interval.add_metric([config.name], view.interval)
    yield info
    yield interval


def _poll_families(views: list[ProviderView]) -> Iterator[Metric]:
    yield _per_provider(
        GaugeMetricFamily, "statuspage_up",
        "Whether the last poll of the provider's feed succeeded (1) or not (0).",
        views, lambda h: h.up,
    )  # fmt: skip
    yield _per_provider(
        CounterMetricFamily, "statuspage_polls",
        "Polls of the provider's feed, since the state file was created.",
        views, lambda h: h.polls,
    )  # fmt: skip
    yield _counted_by(
        "statuspage_poll_failures", "Polls that produced no usable feed, by reason.",
        "reason", views, lambda h: h.failures, FAILURE_REASONS,
    )  # fmt: skip
    yield _counted_by(
        "statuspage_responses",
        "HTTP responses from the provider's feed, by status code.",
        "code", views, lambda h: h.responses, ("200", "304"),
    )  # fmt: skip
    yield _per_provider(
        CounterMetricFamily, "statuspage_content_changes",
        "Feed responses whose content changed and was parsed.",
        views, lambda h: h.content_changes,
    )  # fmt: skip
    yield _durations(views)
    for name, what, read in (
        ("last_poll", "the last poll ended", lambda h: h.last_poll),
        ("last_success", "the last successful poll ended", lambda h: h.last_success),
        ("last_change", "the feed's content last changed", lambda h: h.last_change),
    ):
        yield _per_provider(
            GaugeMetricFamily, f"statuspage_{name}_timestamp_seconds",
            f"Unix time {what}; 0 if never.", views, read,
        )  # fmt: skip


def _per_provider(
    family: type[GaugeMetricFamily] | type[CounterMetricFamily],
    name: str,
    documentation: str,
    views: list[ProviderView],
    read: Callable[[Health], float],
) -> Metric:
    metric = family(name, documentation, labels=["provider"])
    for view in views:
        metric.add_metric([view.config.name], float(read(view.health)))
    return metric


def _counted_by(
    name: str,
    documentation: str,
    label: str,
    views: list[ProviderView],
    table: Callable[[Health], dict[str, int]],
    keys: tuple[str, ...] = (),
) -> Metric:
    """Build a counter by provider and one more label; fixed keys are always shown."""
    family = CounterMetricFamily(name, documentation, labels=["provider", label])
    for view in views:
        counts = table(view.health)
        for key in (*keys, *sorted(counts.keys() - set(keys))):
            family.add_metric([view.config.name, key], counts.get(key, 0))
    return family


def _durations(views: list[ProviderView]) -> Metric:
    histogram = HistogramMetricFamily(
        "statuspage_poll_duration_seconds",
        "Time from the start of a poll to its end, parsing included.",
        labels=["provider"],
    )
    for view in views:
        health = view.health
        buckets = [
            (str(bound), count)
            for bound, count in zip(
                DURATION_BUCKETS, health.duration_buckets, strict=True
            )
        ]
        buckets.append(("+Inf", health.polls))
        histogram.add_metric([view.config.name], buckets, health.duration_sum)
    return histogram


def _incident_families(views: list[ProviderView]) -> Iterator[Metric]:
    yield _open_by_impact(views)
    yield _active_maintenances(views)
    yield _counted_by(
        "statuspage_incident_events",
        "Incident changes detected (opened, updated, resolved).",
        "event", views, lambda h: h.events, EVENTS,
    )  # fmt: skip
    yield _incident_info(views)
    started = GaugeMetricFamily(
        "statuspage_incident_started_timestamp_seconds",
        "Unix time an open incident or maintenance started, as its page says.",
        labels=["provider", "incident"],
    )
    updated = GaugeMetricFamily(
        "statuspage_incident_updated_timestamp_seconds",
        "Unix time an open incident or maintenance was last updated on its page.",
        labels=["provider", "incident"],
    )
    for view in views:
        for incident in view.incidents:
            labels = [view.config.name, incident.id]
            if incident.started_at is not None:
                started.add_metric(labels, incident.started_at.timestamp())
            if incident.updated_at is not None:
                updated.add_metric(labels, incident.updated_at.timestamp())
    yield started
    yield updated


def _open_by_impact(views: list[ProviderView]) -> Metric:
    family = GaugeMetricFamily(
        "statuspage_incidents_open",
        "Open incidents (not maintenances) of the provider, by impact.",
        labels=["provider", "impact"],
    )
    for view in views:
        counts = dict.fromkeys(IMPACTS, 0)
        for incident in view.incidents:
            if incident.kind == "incident":
                counts[incident.impact] = counts.get(incident.impact, 0) + 1
        for impact, count in counts.items():
            family.add_metric([view.config.name, impact], count)
    return family


def _active_maintenances(views: list[ProviderView]) -> Metric:
    family = GaugeMetricFamily(
        "statuspage_maintenances_active",
        "Maintenances of the provider in progress or being verified right now.",
        labels=["provider"],
    )
    for view in views:
        active = sum(1 for i in view.incidents if i.is_active_maintenance)
        family.add_metric([view.config.name], active)
    return family


def _incident_info(views: list[ProviderView]) -> Metric:
    family = GaugeMetricFamily(
        "statuspage_incident_info",
        "Open incidents and maintenances not yet completed; always 1.",
        labels=[
            "provider", "incident", "kind", "status", "impact", "title", "url",
            "components",
        ],
    )  # fmt: skip
    for view in views:
        for incident in view.incidents:
            family.add_metric(
                [
                    view.config.name, incident.id, incident.kind, incident.status,
                    incident.impact, incident.title, incident.url,
                    ", ".join(incident.components),
                ],
                1,
            )  # fmt: skip
    return family
