"""One poll end to end, in process: real server, real SQLite, real collector."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import Config
from exporter.model import Incident
from exporter.parse import parse_feed
from exporter.poller import Settings
from exporter.store import StateStore
from tests.feeds import ScriptedIncident, statuspage_atom, utc
from tests.feedserver import HTML_ERROR_PAGE, Failure
from tests.harness import Harness, provider_for


def outage(code: str = "inc1") -> ScriptedIncident:
    return ScriptedIncident(code, "API unavailable").post(
        "Investigating", "The API is unavailable for some customers.",
        utc("2026-03-01T10:00:00"),
    )  # fmt: skip


async def test_open_incident_is_exported_and_logged(harness, server) -> None:
    server.publish("vendor.atom", statuspage_atom([outage()]))
    assert await harness.poll() == "up"
    assert (
        harness.metric("statuspage_incidents_open", provider="vendor", impact="major")
        == 1
    )
    info = harness.metric(
        "statuspage_incident_info", provider="vendor", incident="inc1",
        kind="incident", status="investigating", impact="major",
    )  # fmt: skip
    assert info == 1
    assert [(e["event"], e["incident"]["id"]) for e in harness.events()] == [
        ("opened", "inc1")
    ]


async def test_unchanged_feed_costs_a_304_and_no_parse(harness, server) -> None:
    server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    await harness.poll()
    assert (
        harness.metric("statuspage_responses_total", provider="vendor", code="304") == 1
    )
    assert harness.metric("statuspage_content_changes_total", provider="vendor") == 1
    assert harness.metric("statuspage_polls_total", provider="vendor") == 2


async def test_identical_body_without_validators_is_not_parsed_again(
    harness, server
) -> None:
    body = statuspage_atom([outage()])
    server.publish("vendor.atom", body)
    await harness.poll()
    server.publish("vendor.atom", body + b"")  # same bytes, fresh validators
    server.feeds["vendor.atom"].etag = '"another"'
    await harness.poll()
    assert (
        harness.metric("statuspage_responses_total", provider="vendor", code="200") == 2
    )
    assert harness.metric("statuspage_content_changes_total", provider="vendor") == 1


async def test_failed_poll_keeps_known_incidents(harness, server) -> None:
    server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    server.fail_next("vendor.atom", Failure(500))
    assert await harness.poll() == "down"
    assert harness.metric("statuspage_up", provider="vendor") == 0
    assert (
        harness.metric(
            "statuspage_poll_failures_total", provider="vendor", reason="http_status"
        )
        == 1
    )
    assert (
        harness.metric("statuspage_incidents_open", provider="vendor", impact="major")
        == 1
    )
    assert [e["event"] for e in harness.events()] == ["opened"]


async def test_html_error_page_with_200_is_not_a_feed(harness, server) -> None:
    server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    server.publish("vendor.atom", HTML_ERROR_PAGE, content_type="text/html")
    assert await harness.poll() == "down"
    assert (
        harness.metric(
            "statuspage_poll_failures_total", provider="vendor", reason="not_a_feed"
        )
        == 1
    )
    assert (
        harness.metric("statuspage_incidents_open", provider="vendor", impact="major")
        == 1
    )


async def test_bad_body_validators_are_not_kept(harness, server) -> None:
    good = server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    bad = server.publish("vendor.atom", b"<html>maintenance page</html>")
    await harness.poll()
    server.publish("vendor.atom", statuspage_atom([outage()]))
    assert await harness.poll() == "up"
    sent = server.requests("vendor.atom")[-1].headers["If-None-Match"]
    # Keeping the HTML page's ETag would have made the page look unchanged forever.
    assert sent == good.etag != bad.etag


async def test_resolution_is_an_event_and_clears_the_series(harness, server) -> None:
    incident = outage()
    server.publish("vendor.atom", statuspage_atom([incident]))
    await harness.poll()
    incident.post(
        "Resolved", "This incident has been resolved.", utc("2026-03-01T11:00:00")
    )
    server.publish("vendor.atom", statuspage_atom([incident]))
    await harness.poll()
    assert [e["event"] for e in harness.events()] == ["opened", "resolved"]
    assert harness.metric("statuspage_incident_info", incident="inc1") is None
    assert (
        harness.metric("statuspage_incidents_open", provider="vendor", impact="major")
        == 0
    )
    resolved = harness.events()[1]["incident"]
    assert resolved["resolved_at"] == "2026-03-01T11:00:00Z"


async def test_counters_and_incidents_survive_a_restart(harness, server) -> None:
    server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    await harness.poll()
    await harness.restart()
    await harness.poll()
    assert harness.metric("statuspage_polls_total", provider="vendor") == 3
    assert (
        harness.metric(
            "statuspage_incident_events_total", provider="vendor", event="opened"
        )
        == 1
    )
    assert (
        harness.metric("statuspage_incidents_open", provider="vendor", impact="major")
        == 1
    )
    assert (
        harness.metric("statuspage_responses_total", provider="vendor", code="304") == 2
    )
    assert len(harness.events()) == 1


async def test_label_values_with_quotes_newlines_and_unicode_render(
    harness, server
) -> None:
    title = 'Erreur "API" \\ sur l\'Europe \u2014 panne\nsecond line'
    incident = ScriptedIncident("weird", title).post(
        "Investigating", "Outage.", utc("2026-03-01T10:00:00")
    )
    server.publish("vendor.atom", statuspage_atom([incident]))
    await harness.poll()
    registry = CollectorRegistry()
    registry.register(harness.collector)
    text = generate_latest(registry).decode()
    titles = [
        sample.labels["title"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "statuspage_incident_info"
    ]
    assert len(titles) == 1
    assert '"API"' in titles[0] and "\u2014" in titles[0] and "\\" in titles[0]


async def test_every_provider_has_its_series_before_the_first_poll(
    tmp_path, server, session
) -> None:
    running = Harness(tmp_path, server, session)
    await running.poller._add(running.config.providers[0], schedule=False)
    assert running.metric("statuspage_up", provider="vendor") == 0
    assert running.metric("statuspage_polls_total", provider="vendor") == 0
    for reason in ("timeout", "too_large", "not_a_feed"):
        assert (
            running.metric(
                "statuspage_poll_failures_total", provider="vendor", reason=reason
            )
            == 0
        )
    assert (
        running.metric(
            "statuspage_incidents_open", provider="vendor", impact="critical"
        )
        == 0
    )
    await running.poller.stop()


async def test_removed_provider_leaves_metrics(harness, server) -> None:
    server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    other = provider_for(server.url("other.atom"), "other")
    await harness.poller.apply(Config(path="x", providers=(other,)))
    assert harness.metric("statuspage_up", provider="vendor") is None
    assert harness.metric("statuspage_up", provider="other") == 0
    assert dataclasses.asdict(other)["name"] == "other"


async def test_events_wait_in_the_store_while_the_events_file_cannot_be_written(
    tmp_path, server, session
) -> None:
    running = Harness(tmp_path, server, session)
    missing = tmp_path / "later" / "events.jsonl"
    running.poller.events.target = str(missing)
    server.publish("vendor.atom", statuspage_atom([outage()]))
    assert await running.poll() == "up"
    assert not missing.exists()
    assert running.poller.delivery_pending
    missing.parent.mkdir()
    await running.poll()
    delivered = [json.loads(line) for line in missing.read_text().splitlines()]
    assert [(e["event"], e["incident"]["id"]) for e in delivered] == [
        ("opened", "inc1")
    ]
    await running.poller.stop()


async def test_first_answer_304_or_empty_makes_no_baseline(harness, server) -> None:
    history = [
        ScriptedIncident(f"old{n}", "Old").post(
            "Resolved", "Fixed.", utc(f"2025-01-0{n + 1}T00:00:00")
        )
        for n in range(3)
    ]
    server.publish("vendor.atom", statuspage_atom([]))
    await harness.poll()  # a valid feed with no entries
    server.publish("vendor.atom", statuspage_atom(history))
    await harness.poll()
    assert harness.events() == []  # old history stays silent: still the baseline
    history.append(outage("new"))
    server.publish("vendor.atom", statuspage_atom(history))
    await harness.poll()
    assert [(e["event"], e["incident"]["id"]) for e in harness.events()] == [
        ("opened", "new")
    ]


async def test_poll_that_could_not_be_stored_is_fetched_again(harness, server) -> None:
    incident = outage()
    server.publish("vendor.atom", statuspage_atom([incident]))
    await harness.poll()
    incident.post("Resolved", "Fixed.", utc("2026-03-01T11:00:00"))
    server.publish("vendor.atom", statuspage_atom([incident]))
    store = harness.poller.store
    path = str(harness.tmp / "state.db")
    store.connection.close()  # the disk went away under the state file
    with pytest.raises(Exception, match="closed"):
        await harness.poll()
    store.connection = StateStore(path).connection
    await harness.poll()
    assert [e["event"] for e in harness.events()] == ["opened", "resolved"]


async def test_retry_after_decides_when_a_rate_limited_provider_is_polled_again(
    harness, server
) -> None:
    server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    server.fail_next("vendor.atom", Failure(429, retry_after="1800"))
    assert await harness.poll() == "down"
    state = harness.poller.states["vendor"]
    assert state.next_wait == 1800
    assert (
        harness.metric(
            "statuspage_poll_failures_total", provider="vendor", reason="rate_limited"
        )
        == 1
    )


async def test_failures_back_off_and_a_success_returns_to_the_interval(
    harness, server
) -> None:
    server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    state = harness.poller.states["vendor"]
    waits = []
    server.fail_always("vendor.atom", Failure(500))
    for _ in range(6):
        await harness.poll()
        waits.append(state.next_wait)
    assert waits[0] <= 60 < waits[-1] <= 600  # 1 interval up to the 10-interval cap
    assert waits[-1] > 300
    server.fail_always("vendor.atom", None)
    assert await harness.poll() == "up"
    assert state.next_wait == 60


async def test_min_interval_raises_the_configured_interval(
    tmp_path, server, session
) -> None:
    running = Harness(tmp_path, server, session)
    running.poller.settings = dataclasses.replace(Settings(), min_interval=90.0)
    await running.poller._add(running.config.providers[0], schedule=False)
    assert running.poller.states["vendor"].interval == 90
    assert running.metric("statuspage_poll_interval_seconds", provider="vendor") == 90
    await running.poller.stop()


async def test_304_and_200_counters_exist_before_any_response(
    tmp_path, server, session
) -> None:
    running = Harness(tmp_path, server, session)
    await running.poller._add(running.config.providers[0], schedule=False)
    for code in ("200", "304"):
        assert (
            running.metric("statuspage_responses_total", provider="vendor", code=code)
            == 0
        )
    await running.poller.stop()


async def test_long_closed_incident_that_left_the_feed_is_forgotten(
    harness, server
) -> None:
    old = ScriptedIncident("old", "Old").post(
        "Resolved", "Fixed.", utc("2025-01-01T00:00:00")
    )
    server.publish("vendor.atom", statuspage_atom([old, outage()]))
    await harness.poll()
    server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    store = harness.poller.store
    with store.connection:
        store.connection.execute(
            "UPDATE incidents SET last_seen = 0 WHERE id IN ('old', 'inc1')"
        )
    await harness.poller.prune()
    assert set(harness.poller.states["vendor"].incidents) == {"inc1"}
    assert set(store.incidents("vendor")) == {"inc1"}  # open ones are never forgotten


async def test_poll_that_could_not_be_stored_leaves_consistent_counters(
    harness, server
) -> None:
    server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    harness.poller.store.connection.close()
    with pytest.raises(Exception, match="closed"):
        await harness.poll()
    assert harness.metric("statuspage_polls_total", provider="vendor") == 1
    assert (
        harness.metric("statuspage_poll_duration_seconds_count", provider="vendor") == 1
    )
    assert (
        harness.metric(
            "statuspage_poll_duration_seconds_bucket", provider="vendor", le="+Inf"
        )
        == 1
    )
    harness.poller.store.connection = StateStore(
        str(harness.tmp / "state.db")
    ).connection


def broken_parser(body: bytes, **options: object) -> list[object]:
    """Fail the way a parser bug does: with an exception nobody expected."""
    raise OverflowError("date value out of range")


async def test_parser_bug_is_a_failed_parse_poll_that_keeps_incidents(
    harness, server, caplog
) -> None:
    server.publish("vendor.atom", statuspage_atom([outage()]))
    await harness.poll()
    server.publish("vendor.atom", statuspage_atom([outage(), outage("inc2")]))
    harness.poller.parse = broken_parser
    with caplog.at_level(logging.WARNING, logger="exporter.poller"):
        assert await harness.poll() == "down"
    assert harness.metric("statuspage_up", provider="vendor") == 0
    assert harness.metric("statuspage_polls_total", provider="vendor") == 2
    failures = harness.metric(
        "statuspage_poll_failures_total", provider="vendor", reason="parse"
    )
    assert failures == 1
    assert (
        harness.metric("statuspage_incidents_open", provider="vendor", impact="major")
        == 1
    )
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "OverflowError" in caplog.text

    await harness.restart()  # a fixed release parses the same body again
    assert await harness.poll() == "up"
    assert (
        harness.metric("statuspage_incidents_open", provider="vendor", impact="major")
        == 2
    )


async def test_the_same_bad_body_is_not_parsed_twice(harness, server) -> None:
    parsed = []

    def counting_parser(body: bytes, **options: Any) -> list[Incident]:
        parsed.append(body)
        return parse_feed(body, **options)

    harness.poller.parse = counting_parser
    server.publish("vendor.atom", b"<feed>" + b"<!---->" * 1000)  # truncated
    await harness.poll()
    for _ in range(3):
        server.publish("vendor.atom", b"<feed>" + b"<!---->" * 1000)  # new ETag
        assert await harness.poll() == "down"
    assert len(parsed) == 1
    assert (
        harness.metric(
            "statuspage_poll_failures_total", provider="vendor", reason="parse"
        )
        == 4
    )
    server.publish("vendor.atom", statuspage_atom([outage()]))
    assert await harness.poll() == "up"
    assert len(parsed) == 2
