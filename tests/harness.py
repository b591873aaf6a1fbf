"""Drive a Poller poll by poll over a real state file and a loopback feed."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import Config, ProviderConfig
from exporter.events import EventsFile
from exporter.metrics import Snapshot, SnapshotCollector
from exporter.poller import Poller, Settings
from exporter.store import StateStore
from tests.feedserver import FeedServer


def provider_for(url: str, name: str = "vendor") -> ProviderConfig:
    return ProviderConfig(
        name=name, url=url, interval=60.0, timeout=2.0, format="auto", headers=(),
        display_name=name.title(), labels=(), max_body_bytes=5 * 1024 * 1024,
    )  # fmt: skip


class Harness:
    """A poller over a state file in tmp_path, driven poll by poll."""

    def __init__(self, tmp: Path, server: FeedServer, session: aiohttp.ClientSession):
        self.tmp, self.server, self.session = tmp, server, session
        self.config = Config(
            path=str(tmp / "providers.yaml"),
            providers=(provider_for(server.url("vendor.atom")),),
        )
        self.open_poller()

    def open_poller(self) -> None:
        store = StateStore(str(self.tmp / "state.db"))
        self.collector = SnapshotCollector(Snapshot("test"))
        self.events_path = self.tmp / "events.jsonl"
        self.poller = Poller(
            store, EventsFile(str(self.events_path), store), self.collector, Settings()
        )

    async def poll(self) -> str:
        if not self.poller.states:
            await self.poller.poll_all_once(self.config, self.session)
            state = self.poller.states["vendor"]
        else:
            state = self.poller.states["vendor"]
            await self.poller.poll(state)
        return (state.health.up and "up") or "down"

    async def restart(self) -> None:
        await self.poller.stop()
        self.open_poller()

    def metric(self, name: str, **labels: str) -> float | None:
        registry = CollectorRegistry()
        registry.register(self.collector)
        text = generate_latest(registry).decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return None

    def events(self) -> list[dict[str, object]]:
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines()]
