"""The HTTP side: /metrics, health, reload, the JSON API and a landing page."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from exporter.events import event_json
from exporter.poller import Poller

MAX_EVENTS_PAGE = 1000
DEFAULT_EVENTS_PAGE = 100
MAX_EVENT_ID = 2**63 - 1  # SQLite's largest integer

Reload = Callable[[], Awaitable[list[str]]]
POLLER: web.AppKey[Poller] = web.AppKey("poller", Poller)
REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("registry", CollectorRegistry)
RELOAD: web.AppKey[Reload] = web.AppKey("reload", Callable)  # type: ignore[arg-type]

LANDING = """<!DOCTYPE html>
<html><head><title>Status Page Exporter</title></head>
<body><h1>Status Page Exporter</h1><p>Version {version}.</p><ul>
<li><a href="metrics">Metrics</a></li>
<li><a href="api/v1/incidents">Open incidents (JSON)</a></li>
<li><a href="api/v1/events">Recent events (JSON)</a></li>
<li><a href="-/healthy">Health</a>, <a href="-/ready">readiness</a></li>
</ul></body></html>
"""


def build_app(
    poller: Poller,
    registry: CollectorRegistry,
    reload: Reload,
    *,
    lifecycle: bool,
    version: str,
) -> web.Application:
    """Return the exporter's web application."""
    app = web.Application()
    app[POLLER], app[REGISTRY], app[RELOAD] = poller, registry, reload
    landing = LANDING.format(version=html.escape(version))
    app.router.add_get("/", lambda _: _html(landing))
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
    app.router.add_get("/api/v1/incidents", incidents)
    app.router.add_get("/api/v1/events", events)
    reload_route = reload_config if lifecycle else lifecycle_disabled
    app.router.add_post("/-/reload", reload_route)
    app.router.add_put("/-/reload", reload_route)
    return app


async def _html(page: str) -> web.Response:
    return web.Response(text=page, content_type="text/html")


async def metrics(request: web.Request) -> web.Response:
    """Render every metric from the current snapshot."""
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    # Rendering thousands of series takes a while; the snapshot it reads is
    # immutable, so a thread can do it while the loop keeps polling.
    loop = asyncio.get_running_loop()
    body = await loop.run_in_executor(None, encoder, request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": content_type})


async def healthy(request: web.Request) -> web.Response:
    """Answer 200 while the process serves."""
    return web.Response(text="Healthy.\n")


async def ready(request: web.Request) -> web.Response:
    """Answer 200 once every provider has been polled once."""
    if request.app[POLLER].ready.is_set():
        return web.Response(text="Ready.\n")
    return web.Response(status=503, text="Not ready: first polls still running.\n")


async def lifecycle_disabled(request: web.Request) -> web.Response:
    """Refuse /-/reload unless --web.enable-lifecycle was given, as Prometheus does."""
    return web.Response(status=403, text="Lifecycle API is not enabled.\n")


async def reload_config(request: web.Request) -> web.Response:
    """Reload the configuration file; 500 with the problems when it is bad."""
    problems = await request.app[RELOAD]()
    if problems:
        return web.Response(status=500, text="\n".join(problems) + "\n")
    return web.Response(text="Configuration reloaded.\n")


async def incidents(request: web.Request) -> web.Response:
    """List open incidents and pending maintenances as JSON."""
    listed = [
        {"provider": provider, **incident.to_json()}
        for provider, incident in request.app[POLLER].open_incidents()
    ]
    return web.json_response({"incidents": listed})


async def events(request: web.Request) -> web.Response:
    """List stored events after a given id, oldest first (the latest without)."""
    after_text = request.query.get("after")
    limit_text = request.query.get("limit", str(DEFAULT_EVENTS_PAGE))
    if not _is_count(limit_text) or int(limit_text) < 1:
        return _bad_request("limit must be a positive integer")
    after = None if after_text is None else _event_id(after_text)
    if after_text is not None and after is None:
        return _bad_request(
            f"after must be an event id (an integer from 0 to {MAX_EVENT_ID})"
        )
    limit = min(int(limit_text), MAX_EVENTS_PAGE)
    poller = request.app[POLLER]
    if after is None:
        newest = await poller.in_store(poller.store.latest_event_id)
        after = max(0, newest - limit)
    stored = await poller.in_store(lambda: poller.store.events_after(after, limit))
    listed: list[dict[str, Any]] = [event_json(event) for event in stored]
    next_after = listed[-1]["id"] if listed else after
    return web.json_response({"events": listed, "next_after": next_after})


def _is_count(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 64


def _event_id(text: str) -> int | None:
    """Read an event id: digits up to SQLite's largest integer, else None."""
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_EVENT_ID)) or int(digits) > MAX_EVENT_ID:
        return None
    return int(digits)


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)
