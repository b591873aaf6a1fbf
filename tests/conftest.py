"""Fixtures shared by the tests: a loopback feed server, an HTTP session, a poller."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from exporter.fetch import new_session
from tests.feedserver import FeedServer
from tests.harness import Harness


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_session() as client:
        yield client


@pytest.fixture
async def harness(
    tmp_path: Path, server: FeedServer, session: aiohttp.ClientSession
) -> AsyncIterator[Harness]:
    running = Harness(tmp_path, server, session)
    yield running
    await running.poller.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the feed-change-to-notification times the alerting tests measured."""
    measured = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "teardown"
        for name, value in report.user_properties
        if name == "feed_change_to_receiver_seconds"
    ]
    if not measured:
        return
    terminalreporter.write_sep("-", "feed change to receiver")
    for what, seconds in measured:
        terminalreporter.write_line(f"{what}: {seconds:.2f}s")
