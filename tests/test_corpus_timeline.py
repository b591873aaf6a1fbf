"""Real GitHub feeds served in order: the events a user would have received."""

from __future__ import annotations

import pytest

from exporter.model import rfc3339
from tests.corpus import corpus_file
from tests.harness import Harness

pytestmark = pytest.mark.corpus

SEQUENCE = (
    "statuspage-history-github-2025-09-14-seq1-open.atom",
    "statuspage-history-github-2025-09-16-seq2-resolved.atom",
    "statuspage-history-github-2025-09-19-seq3-edited-after-resolve.atom",
)


async def serve_in_turn(harness: Harness, names: tuple[str, ...]) -> list[list[tuple]]:
    """Serve each file in turn, poll, and return the events each poll added."""
    seen = 0
    added = []
    for name in names:
        harness.server.publish("vendor.atom", corpus_file(name))
        assert await harness.poll() == "up"
        events = harness.events()
        added.append([(e["event"], e["incident"]["id"]) for e in events[seen:]])
        seen = len(events)
    return added


async def test_github_open_resolve_then_edit_is_not_a_reopen(harness) -> None:
    first, second, third = await serve_in_turn(harness, SEQUENCE)
    # First poll: only the open incident, closed history stays silent.
    assert first == [("opened", "n3vgjzqv7d18")]
    # It resolves; an incident that came and went between polls counts too.
    assert sorted(second) == sorted([
        ("resolved", "n3vgjzqv7d18"),
        ("opened", "ffh1r1w0hj6h"),
        ("resolved", "ffh1r1w0hj6h"),
    ])  # fmt: skip
    # The later edit of the resolved incident is no event at all; the three
    # incidents that came and went in the three days between are.
    assert third == [
        ("opened", "rdzg3x1qwtb3"), ("resolved", "rdzg3x1qwtb3"),
        ("opened", "nh22ywy9dh84"), ("resolved", "nh22ywy9dh84"),
        ("opened", "3kjv06tdxxfn"), ("resolved", "3kjv06tdxxfn"),
    ]  # fmt: skip
    assert harness.metric("statuspage_incident_info", incident="n3vgjzqv7d18") is None
    edited = harness.poller.states["vendor"].incidents["n3vgjzqv7d18"]
    assert (edited.status, rfc3339(edited.updated_at), rfc3339(edited.resolved_at)) == (
        "resolved", "2025-09-18T18:29:33Z", "2025-09-15T21:01:00Z",
    )  # fmt: skip
    assert harness.metric(
        "statuspage_incident_events_total", provider="vendor", event="opened"
    ) == 5  # fmt: skip


async def test_maintenance_announced_then_in_progress(harness) -> None:
    await serve_in_turn(harness, (
        "statuspage-history-github-2025-05-23-upcoming-maintenance.atom",
        "statuspage-history-github-2025-05-29-maintenance-in-progress.atom",
    ))  # fmt: skip
    maintenance = {"provider": "vendor", "incident": "67vdd3b7d1zq"}
    assert harness.metric("statuspage_maintenances_active", provider="vendor") == 1
    assert harness.metric(
        "statuspage_incident_info", kind="maintenance", status="in_progress",
        impact="maintenance", **maintenance,
    ) == 1  # fmt: skip
    kinds = [(e["event"], e["incident"]["status"]) for e in harness.events()
             if e["incident"]["id"] == "67vdd3b7d1zq"]  # fmt: skip
    assert kinds == [("opened", "scheduled"), ("updated", "in_progress")]


async def test_atom_and_rss_of_one_page_agree_on_ids(harness) -> None:
    await serve_in_turn(harness, ("statuspage-history-github-2022-03-16.rss",))
    stored = await harness.poller.in_store(
        lambda: harness.poller.store.incidents("vendor")
    )
    assert "fpk08rxnqjz2" in stored
    assert all(len(code) == 12 and code.isalnum() for code in stored)
