"""Fetch a feed with a conditional GET, within deadlines and a size cap."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import aiohttp

from exporter import __version__
from exporter.config import ProviderConfig
from exporter.errors import ExporterError
from exporter.schedule import BACKOFF_CEILING_SECONDS

USER_AGENT = f"status-page-exporter/{__version__}"
MAX_REDIRECTS = 5
CHUNK_BYTES = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Validators:
    """What the server said about the version we hold, sent back next time."""

    etag: str | None = None
    last_modified: str | None = None


@dataclasses.dataclass(frozen=True)
class FetchResult:
    """A 200 with its body, or a 304 (body None)."""

    status: int
    body: bytes | None
    content_type: str | None
    validators: Validators
    final_url: str


class FetchError(ExporterError):
    """A poll that got no usable answer; `reason` is a metric label."""

    def __init__(
        self,
        reason: str,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def new_session() -> aiohttp.ClientSession:
    """Create the one HTTP client session the process uses."""
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def request_headers(provider: ProviderConfig, validators: Validators) -> dict[str, str]:
    """Return the headers of a conditional GET for this provider."""
    headers = {
        # Advertise only codecs aiohttp always decodes; brotli is optional there.
        "Accept-Encoding": "gzip, deflate",
        "Accept": "application/atom+xml, application/rss+xml, application/xml;"
        "q=0.9, text/xml;q=0.9, */*;q=0.1",
        **dict(provider.headers),
    }
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


async def fetch_feed(
    session: aiohttp.ClientSession,
    provider: ProviderConfig,
    validators: Validators,
) -> FetchResult:
    """GET the provider's feed; raise FetchError when there is nothing to parse."""
    timeout = aiohttp.ClientTimeout(
        total=provider.timeout,
        sock_connect=provider.timeout,
        sock_read=provider.timeout,
    )
    try:
        async with session.get(
            provider.url,
            headers=request_headers(provider, validators),
            timeout=timeout,
            # aiohttp gives up when its count reaches the limit: allow five.
            max_redirects=MAX_REDIRECTS + 1,
        ) as response:
            return await _read_response(response, provider, validators)
    except asyncio.TimeoutError as error:
        raise FetchError("timeout", f"no answer within {provider.timeout}s") from error
    except aiohttp.TooManyRedirects as error:
        raise FetchError(
            "connection", f"more than {MAX_REDIRECTS} redirects"
        ) from error
    except aiohttp.NonHttpUrlRedirectClientError as error:
        raise FetchError(
            "connection", f"redirect to a non-HTTP URL {_url_of(error)} refused"
        ) from error
    except aiohttp.InvalidUrlRedirectClientError as error:
        raise FetchError(
            "connection", f"redirect to an invalid URL {_url_of(error)} refused"
        ) from error
    except aiohttp.ClientError as error:
        raise FetchError("connection", _describe(error)) from error


async def _read_response(
    response: aiohttp.ClientResponse,
    provider: ProviderConfig,
    validators: Validators,
) -> FetchResult:
    final_url = str(response.url)
    if response.status == 304:
        kept = _merge_validators(validators, _validators_of(response))
        return FetchResult(304, None, None, kept, final_url)
    if response.status != 200:
        raise _status_error(response)
    body = await _read_capped(response, provider.max_body_bytes)
    return FetchResult(
        200, body, response.headers.get("Content-Type"), _validators_of(response),
        final_url,
    )  # fmt: skip


def _status_error(response: aiohttp.ClientResponse) -> FetchError:
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    reason = "rate_limited" if response.status == 429 else "http_status"
    message = f"HTTP {response.status}"
    if retry_after is not None:
        message += f", retry after {retry_after:.0f}s"
    return FetchError(reason, message, response.status, retry_after)


async def _read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > cap:
        raise FetchError(
            "too_large", f"body of {declared} bytes over the {cap} cap", 200
        )
    chunks: list[bytes] = []
    size = 0
    # Count decoded bytes: a small gzip body may inflate past the cap.
    async for chunk in response.content.iter_chunked(CHUNK_BYTES):
        size += len(chunk)
        if size > cap:
            raise FetchError("too_large", f"body over the {cap} byte cap", 200)
        chunks.append(chunk)
    return b"".join(chunks)


def _validators_of(response: aiohttp.ClientResponse) -> Validators:
    etag = _header_text(response.headers.get("ETag"))
    last_modified = _header_text(response.headers.get("Last-Modified"))
    if last_modified and _is_future(last_modified):
        last_modified = None
    return Validators(etag, last_modified)


def _header_text(value: str | None) -> str | None:
    """Keep a validator only if it can be sent back as it came (printable ASCII)."""
    if value is None or not value.isascii() or not value.isprintable():
        return None
    return value


def _merge_validators(stored: Validators, fresh: Validators) -> Validators:
    return Validators(
        fresh.etag or stored.etag, fresh.last_modified or stored.last_modified
    )


def _is_future(http_date: str) -> bool:
    try:
        moment = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError, OverflowError):
        return True  # unreadable: never send it back
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment > datetime.now(timezone.utc)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Read Retry-After as seconds from now (delta-seconds or an HTTP date).

    A wait beyond an hour is read as an hour, the longest one ever deferring a poll.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), BACKOFF_CEILING_SECONDS)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    seconds = (moment - now).total_seconds()
    return min(max(0.0, seconds), BACKOFF_CEILING_SECONDS)


def _url_of(error: aiohttp.ClientError) -> str:
    """Return the URL a redirect error names (its first argument), shortened."""
    return str(error.args[0] if error.args else "")[:200]


def _describe(error: aiohttp.ClientError) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]
