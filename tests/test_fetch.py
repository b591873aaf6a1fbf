"""Fetching against a real loopback server: validators, caps, errors, deadlines."""

from __future__ import annotations

import dataclasses
import gzip
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from exporter.config import ProviderConfig
from exporter.fetch import (
    USER_AGENT,
    FetchError,
    Validators,
    fetch_feed,
    parse_retry_after,
)
from tests.feedserver import Failure

FEED = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>'


def provider(url: str, **changes: object) -> ProviderConfig:
    base = ProviderConfig(
        name="vendor", url=url, interval=60.0, timeout=2.0, format="auto",
        headers=(), display_name="Vendor", labels=(), max_body_bytes=5 * 1024 * 1024,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_first_fetch_returns_body_and_validators(server, session) -> None:
    feed = server.publish("feed.atom", FEED)
    result = await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    assert (result.status, result.body) == (200, FEED)
    assert result.validators.etag == feed.etag
    assert result.validators.last_modified == format_datetime(feed.last_modified, True)
    assert server.requests("feed.atom")[0].headers["User-Agent"] == USER_AGENT


async def test_stored_weak_etag_is_sent_verbatim_and_answered_304(
    server, session
) -> None:
    feed = server.publish("feed.atom", FEED, weak_etag=True)
    assert feed.etag.startswith('W/"')
    first = await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    second = await fetch_feed(
        session, provider(server.url("feed.atom")), first.validators
    )
    assert second.status == 304 and second.body is None
    sent = server.requests("feed.atom")[1].headers
    assert sent["If-None-Match"] == feed.etag
    assert sent["If-Modified-Since"] == first.validators.last_modified


async def test_304_without_validators_keeps_the_stored_ones(server, session) -> None:
    server.publish("feed.atom", FEED, send_validators_on_304=False)
    first = await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    second = await fetch_feed(
        session, provider(server.url("feed.atom")), first.validators
    )
    assert second.status == 304
    assert second.validators == first.validators


async def test_last_modified_in_the_future_is_never_sent_back(server, session) -> None:
    future = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=2)
    server.publish("feed.atom", FEED, last_modified=future)
    result = await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    assert result.validators.last_modified is None
    assert result.validators.etag is not None


async def test_gzip_body_is_decoded(server, session) -> None:
    server.publish("feed.atom", FEED, gzip_body=True)
    result = await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    assert result.body == FEED
    sent = server.requests("feed.atom")[0].headers["Accept-Encoding"]
    assert sent == "gzip, deflate"


async def test_body_over_the_cap_is_too_large(server, session) -> None:
    server.publish("big.atom", b"x" * 2048)
    with pytest.raises(FetchError) as raised:
        await fetch_feed(
            session, provider(server.url("big.atom"), max_body_bytes=1024), Validators()
        )
    assert raised.value.reason == "too_large"


async def test_gzip_bomb_is_stopped_at_the_cap(server, session) -> None:
    bomb = b"<feed>" + b" " * (20 * 1024 * 1024)
    server.publish("bomb.atom", bomb, gzip_body=True)
    assert len(gzip.compress(bomb)) < 100 * 1024
    with pytest.raises(FetchError) as raised:
        await fetch_feed(session, provider(server.url("bomb.atom")), Validators())
    assert raised.value.reason == "too_large"


async def test_429_with_retry_after_seconds_is_rate_limited(server, session) -> None:
    server.fail_next("feed.atom", Failure(429, retry_after="120"))
    with pytest.raises(FetchError) as raised:
        await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    assert (raised.value.reason, raised.value.status) == ("rate_limited", 429)
    assert raised.value.retry_after == 120


async def test_503_with_retry_after_date_is_honoured(server, session) -> None:
    later = datetime.now(timezone.utc) + timedelta(minutes=10)
    server.fail_next(
        "feed.atom", Failure(503, retry_after=format_datetime(later, True))
    )
    with pytest.raises(FetchError) as raised:
        await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    assert raised.value.reason == "http_status"
    assert raised.value.retry_after is not None
    assert 590 <= raised.value.retry_after <= 600


async def test_server_error_is_an_http_status_failure(server, session) -> None:
    server.fail_next("feed.atom", Failure(500))
    with pytest.raises(FetchError) as raised:
        await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    assert (raised.value.reason, raised.value.status) == ("http_status", 500)


async def test_slow_server_times_out(server, session) -> None:
    server.publish("slow.atom", FEED)
    server.delay("slow.atom", 3)
    with pytest.raises(FetchError) as raised:
        await fetch_feed(
            session, provider(server.url("slow.atom"), timeout=0.5), Validators()
        )
    assert raised.value.reason == "timeout"


async def test_refused_connection_is_a_connection_failure(session) -> None:
    with pytest.raises(FetchError) as raised:
        await fetch_feed(session, provider("http://127.0.0.1:9/feed"), Validators())
    assert raised.value.reason == "connection"


async def test_redirects_are_followed_up_to_five(server, session) -> None:
    server.publish("final.atom", FEED)
    for hop in range(5):
        target = server.url("final.atom" if hop == 4 else f"hop{hop + 1}")
        server.fail_always(f"hop{hop}", Failure(302, location=target))
    result = await fetch_feed(session, provider(server.url("hop0")), Validators())
    assert result.body == FEED
    assert result.final_url == server.url("final.atom")


async def test_redirect_loop_is_a_connection_failure(server, session) -> None:
    server.fail_always("loop", Failure(302, location=server.url("loop")))
    with pytest.raises(FetchError) as raised:
        await fetch_feed(session, provider(server.url("loop")), Validators())
    assert raised.value.reason == "connection"


async def test_provider_headers_are_sent(server, session) -> None:
    server.publish("feed.atom", FEED)
    configured = provider(server.url("feed.atom"), headers=(("X-Api-Key", "k1"),))
    await fetch_feed(session, configured, Validators())
    assert server.requests("feed.atom")[0].headers["X-Api-Key"] == "k1"


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after("30", now) == 30
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


async def test_validator_that_cannot_be_sent_back_is_dropped(server, session) -> None:
    feed = server.publish("feed.atom", FEED)
    feed.etag = '"caf\u00e9"'
    result = await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    assert result.body == FEED
    assert result.validators.etag is None
    assert result.validators.last_modified is not None


def test_retry_after_with_non_ascii_digits_is_ignored() -> None:
    assert parse_retry_after("\u00b2") is None
    assert parse_retry_after("\u0663\u0660") is None


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.test/feed"])
async def test_redirect_to_a_non_http_url_says_so(server, session, target) -> None:
    server.fail_always("feed.atom", Failure(302, location=target))
    with pytest.raises(FetchError) as raised:
        await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    assert raised.value.reason == "connection"
    assert str(raised.value) == f"redirect to a non-HTTP URL {target} refused"


@pytest.mark.parametrize(
    "retry_after",
    ["1" + "0" * 50, "9" * 5000, "Fri, 31 Dec 9999 23:59:59 GMT"],
    ids=["1e50 seconds", "5000 digits", "year 9999"],
)
async def test_huge_retry_after_is_read_as_an_hour(
    server, session, retry_after
) -> None:
    server.fail_next("feed.atom", Failure(429, retry_after=retry_after))
    with pytest.raises(FetchError) as raised:
        await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    assert raised.value.retry_after == 3600
    assert str(raised.value) == "HTTP 429, retry after 3600s"


async def test_redirect_to_an_invalid_url_says_so(server, session) -> None:
    server.fail_always("feed.atom", Failure(302, location="http://[::1/feed"))
    with pytest.raises(FetchError) as raised:
        await fetch_feed(session, provider(server.url("feed.atom")), Validators())
    assert raised.value.reason == "connection"
    assert str(raised.value) == "redirect to an invalid URL http://[::1/feed refused"
