"""A real HTTP server on loopback that serves scripted status feeds.

It runs its own event loop in a thread, so synchronous tests that start the exporter
as a subprocess and asynchronous tests can both use it. ETag, Last-Modified, 304,
gzip, 429/503 with Retry-After, error pages and slow bodies behave as on the web.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import hashlib
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime

from aiohttp import web

from tests.loopback import LoopbackServer

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1></body></html>"
)


@dataclasses.dataclass
class Feed:
    """The document a path serves, with the validators a server would send."""

    body: bytes
    content_type: str
    etag: str
    last_modified: datetime
    send_validators_on_304: bool = True
    gzip: bool = False


@dataclasses.dataclass(frozen=True)
class Failure:
    """A scripted answer that replaces the feed while it lasts."""

    status: int
    body: bytes = HTML_ERROR_PAGE
    content_type: str = "text/html"
    retry_after: str | None = None
    delay: float = 0.0
    location: str | None = None


@dataclasses.dataclass(frozen=True)
class Seen:
    """A request the server received and what it answered."""

    path: str
    headers: dict[str, str]
    status: int
    at: float


class FeedServer(LoopbackServer):
    """Serve feeds on 127.0.0.1 from a background thread."""

    def __init__(self) -> None:
        super().__init__()
        self.feeds: dict[str, Feed] = {}
        self.failures: dict[str, list[Failure]] = {}
        self.sticky_failures: dict[str, Failure] = {}
        self.delays: dict[str, float] = {}
        self.seen: list[Seen] = []
        self.arrivals: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        """Serve every path as a feed."""
        app.router.add_route("GET", "/{path:.*}", self._serve)

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on this server."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    # -- scripting --------------------------------------------------------------

    def publish(
        self,
        path: str,
        body: bytes,
        content_type: str = "application/atom+xml; charset=utf-8",
        *,
        weak_etag: bool = False,
        gzip_body: bool = False,
        send_validators_on_304: bool = True,
        last_modified: datetime | None = None,
    ) -> Feed:
        """Serve `body` at `path` from now on, with fresh validators."""
        digest = hashlib.sha256(body).hexdigest()[:20]
        etag = f'W/"{digest}"' if weak_etag else f'"{digest}"'
        moment = last_modified or datetime.now(timezone.utc).replace(microsecond=0)
        feed = Feed(body, content_type, etag, moment, send_validators_on_304, gzip_body)
        with self._lock:
            self.feeds[path.lstrip("/")] = feed
        return feed

    def fail_next(self, path: str, *failures: Failure) -> None:
        """Answer the next requests of `path` with these failures, in order."""
        with self._lock:
            self.failures.setdefault(path.lstrip("/"), []).extend(failures)

    def fail_always(self, path: str, failure: Failure | None) -> None:
        """Answer every request of `path` with `failure` until cleared with None."""
        with self._lock:
            if failure is None:
                self.sticky_failures.pop(path.lstrip("/"), None)
            else:
                self.sticky_failures[path.lstrip("/")] = failure

    def delay(self, path: str, seconds: float) -> None:
        """Wait this long before answering requests of `path`."""
        with self._lock:
            self.delays[path.lstrip("/")] = seconds

    def arrived(self, path: str) -> int:
        """Return how many requests of `path` arrived, answered or not."""
        with self._lock:
            return self.arrivals.get(path.lstrip("/"), 0)

    def requests(self, path: str) -> list[Seen]:
        """Return the requests of `path` received so far."""
        with self._lock:
            return [s for s in self.seen if s.path == path.lstrip("/")]

    def wait_for(
        self,
        condition: Callable[[], bool],
        timeout: float = 20.0,
        what: str = "condition",
    ) -> None:
        """Poll `condition` until it holds; fail after `timeout` seconds."""
        wait_until(condition, timeout, what)

    # -- serving ----------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        with self._lock:
            self.arrivals[path] = self.arrivals.get(path, 0) + 1
            failure = self._take_failure(path)
            feed = self.feeds.get(path)
            delay = self.delays.get(path, 0.0)
        if failure is not None:
            delay = max(delay, failure.delay)
        if delay:
            await asyncio.sleep(delay)
        response = self._answer(request, failure, feed)
        with self._lock:
            self.seen.append(
                Seen(path, dict(request.headers), response.status, time.time())
            )
        return response

    def _take_failure(self, path: str) -> Failure | None:
        queued = self.failures.get(path)
        if queued:
            return queued.pop(0)
        return self.sticky_failures.get(path)

    def _answer(
        self, request: web.Request, failure: Failure | None, feed: Feed | None
    ) -> web.Response:
        if failure is not None:
            headers = (
                {"Retry-After": failure.retry_after} if failure.retry_after else {}
            )
            if failure.location:
                headers["Location"] = failure.location
            return web.Response(
                status=failure.status,
                body=failure.body,
                headers={"Content-Type": failure.content_type, **headers},
            )
        if feed is None:
            return web.Response(
                status=404, body=HTML_ERROR_PAGE, content_type="text/html"
            )
        if _not_modified(request, feed):
            headers = _validators(feed) if feed.send_validators_on_304 else {}
            return web.Response(status=304, headers=headers)
        return _full_response(request, feed)


def _validators(feed: Feed) -> dict[str, str]:
    return {
        "ETag": feed.etag,
        "Last-Modified": format_datetime(feed.last_modified, True),
    }


def _not_modified(request: web.Request, feed: Feed) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return feed.etag in [tag.strip() for tag in if_none_match.split(",")]
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        return feed.last_modified <= since
    return False


def _full_response(request: web.Request, feed: Feed) -> web.Response:
    headers = {"Content-Type": feed.content_type, **_validators(feed)}
    body = feed.body
    if feed.gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return web.Response(status=200, body=body, headers=headers)


def wait_until(
    condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition"
) -> None:
    """Poll `condition` every 50 ms until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
