"""Measure what many providers cost one process, and print the figures.

    python bench/poll_bench.py [--providers 1000] [--incidents 25]

Rounds over a loopback feed server: a first poll of every provider (200, parse,
track, store), an idle round (every feed answers 304), a round where every feed
changed, then a scrape of /metrics, a 5 MB feed parse, and the longest stall of the
event loop while that feed is parsed in the poller's thread pool.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry, generate_latest

from exporter.config import Config, ProviderConfig
from exporter.events import EventsFile
from exporter.fetch import new_session
from exporter.metrics import Snapshot, SnapshotCollector
from exporter.poller import Poller, Settings
from exporter.store import StateStore
from tests.feeds import ScriptedIncident, statuspage_atom, utc
from tests.feedserver import FeedServer


def history(count: int, open_one: bool, salt: int = 0) -> bytes:
    """Return a Statuspage feed of `count` incidents, the newest maybe open."""
    incidents = []
    for n in range(count):
        incident = ScriptedIncident(f"c{n:010d}{salt:02d}", f"Incident {n}", number=n)
        incident.post(
            "Investigating", "Elevated error rates " * 8, utc("2026-01-01T00:00:00")
        )
        incident.post(
            "Update", "We are still working on it " * 8, utc("2026-01-01T01:00:00")
        )
        if n or not open_one:
            incident.post(
                "Resolved",
                "This incident has been resolved.",
                utc("2026-01-01T02:00:00"),
            )
        incidents.append(incident)
    return statuspage_atom(incidents)


def provider(name: str, url: str) -> ProviderConfig:
    return ProviderConfig(
        name=name, url=url, interval=60.0, timeout=30.0, format="auto", headers=(),
        display_name=name, labels=(("tier", "standard"),), max_body_bytes=8 << 20,
    )  # fmt: skip


async def timed_round(label: str, poller: Poller, count: int) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(poller.poll(state) for state in poller.states.values()))
    wall = time.perf_counter() - started
    used = time.process_time() - cpu
    print(f"{label:<28} {wall:7.2f} s wall  {count / wall:8.0f} polls/s  "
          f"{used * 1000 / count:6.2f} ms CPU/poll")  # fmt: skip


async def loop_stall_during(work: asyncio.Future[object]) -> float:
    worst, last = 0.0, time.perf_counter()
    while not work.done():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        worst, last = max(worst, now - last - 0.005), now
    return worst


async def main(providers: int, incidents: int) -> None:
    server = FeedServer().start()
    body = history(incidents, open_one=True)
    for n in range(providers):
        server.publish(f"p{n}.atom", body)
    config = Config("bench", tuple(provider(f"p{n}", server.url(f"p{n}.atom"))
                                   for n in range(providers)))  # fmt: skip
    print(f"{providers} providers, {incidents} incidents each, "
          f"feed {len(body) / 1024:.0f} KiB")  # fmt: skip
    with tempfile.TemporaryDirectory() as workdir:
        store = StateStore(f"{workdir}/state.db")
        collector = SnapshotCollector(Snapshot("bench"))
        poller = Poller(store, EventsFile(f"{workdir}/events.jsonl", store), collector,
                        Settings(concurrency=50))  # fmt: skip
        async with new_session() as session:
            started = time.perf_counter()
            await poller.poll_all_once(config, session)
            wall = time.perf_counter() - started
            print(f"{'first poll (200, parse)':<28} {wall:7.2f} s wall  "
                  f"{providers / wall:8.0f} polls/s")  # fmt: skip
            await timed_round("idle round (304)", poller, providers)
            changed = history(incidents, open_one=False, salt=1)
            for n in range(providers):
                server.publish(f"p{n}.atom", changed)
            await timed_round("every feed changed (200)", poller, providers)
            await scrape(collector)
            await big_feed(poller, session, server)
        await poller.stop()
        size = Path(f"{workdir}/state.db").stat().st_size
        print(f"state file                   {size / 1024 / 1024:7.1f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS                     {rss:7.0f} MiB (feed server included)")
    server.stop()


async def scrape(collector: SnapshotCollector) -> None:
    registry = CollectorRegistry()
    registry.register(collector)
    started = time.perf_counter()
    text = generate_latest(registry)
    wall = time.perf_counter() - started
    print(f"{'scrape /metrics':<28} {wall * 1000:7.1f} ms, {len(text) / 1024:.0f} KiB")


async def big_feed(poller: Poller, session: object, server: FeedServer) -> None:
    body = history(2300, open_one=True, salt=2)
    server.publish("big.atom", body)
    big = Config("bench", (provider("big", server.url("big.atom")),))
    await poller.apply(big)
    state = poller.states["big"]
    if state.task is not None:
        state.task.cancel()
    work = asyncio.ensure_future(poller.poll(state))
    started = time.perf_counter()
    stall = await loop_stall_during(work)
    wall = time.perf_counter() - started
    print(f"{len(body) / 1e6:.1f} MB feed poll              {wall:7.2f} s, "
          f"longest event-loop stall {stall * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=1000)
    parser.add_argument("--incidents", type=int, default=25)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.providers, arguments.incidents))
