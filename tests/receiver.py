"""A webhook receiver on loopback that records what Alertmanager sends.

It answers as Slack's incoming webhooks and PagerDuty's Events API v2 do, so that
Alertmanager's own Slack and PagerDuty integrations can be pointed at it unchanged.
A request is classified by its shape, not by its path.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from tests.feedserver import wait_until
from tests.loopback import LoopbackServer

Found = TypeVar("Found")


@dataclasses.dataclass(frozen=True)
class PagerDutyEvent:
    """An Events API v2 request: trigger or resolve, with its dedup key."""

    action: str
    dedup_key: str
    summary: str
    details: dict[str, str]
    links: list[dict[str, str]]
    at: float

    @property
    def provider(self) -> str:
        """Return the provider the event is about."""
        return self.details.get("provider", "")


@dataclasses.dataclass(frozen=True)
class SlackMessage:
    """An incoming-webhook request as Alertmanager's Slack integration sends it."""

    title: str
    title_link: str
    text: str
    color: str
    at: float

    @property
    def resolved_only(self) -> bool:
        """Tell whether the message lists resolved alerts and no firing one."""
        return self.title.startswith("[RESOLVED]")

    def mentions(self, words: str) -> bool:
        """Tell whether the title or the text contains `words`."""
        return words in self.title or words in self.text


class RecordingReceiver(LoopbackServer):
    """Record Slack- and PagerDuty-shaped requests from a background thread."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: list[PagerDutyEvent] = []
        self.chat: list[SlackMessage] = []
        self.unknown: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def routes(self, app: web.Application) -> None:
        """Record every POST, whatever its path."""
        app.router.add_post("/{path:.*}", self._receive)

    def url(self, path: str) -> str:
        """Return the absolute URL of a path on this receiver."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    async def _receive(self, request: web.Request) -> web.Response:
        arrived = time.time()
        body = await request.json()
        if "event_action" in body and "routing_key" in body:
            return self._record_page(body, arrived)
        if "attachments" in body or "text" in body:
            return self._record_chat(body, arrived)
        with self._lock:
            self.unknown.append(body)
        return web.Response(status=400, text="unknown request shape")

    def _record_page(self, body: dict[str, Any], arrived: float) -> web.Response:
        payload = body.get("payload") or {}
        event = PagerDutyEvent(
            action=body["event_action"],
            dedup_key=body.get("dedup_key", ""),
            summary=payload.get("summary", ""),
            details=payload.get("custom_details") or {},
            links=body.get("links") or [],
            at=arrived,
        )
        with self._lock:
            self.pages.append(event)
        answer = {"status": "success", "message": "Event processed"}
        return web.json_response({**answer, "dedup_key": event.dedup_key}, status=202)

    def _record_chat(self, body: dict[str, Any], arrived: float) -> web.Response:
        attachment = (body.get("attachments") or [{}])[0]
        message = SlackMessage(
            title=attachment.get("title", ""),
            title_link=attachment.get("title_link", ""),
            text=attachment.get("text", body.get("text", "")),
            color=attachment.get("color", ""),
            at=arrived,
        )
        with self._lock:
            self.chat.append(message)
        return web.Response(text="ok")

    # -- reading what arrived ---------------------------------------------------

    def pages_for(self, provider: str) -> list[PagerDutyEvent]:
        """Return the PagerDuty events about `provider` so far."""
        with self._lock:
            return [e for e in self.pages if e.provider == provider]

    def chat_mentioning(self, words: str) -> list[SlackMessage]:
        """Return the Slack messages whose title or text contains `words`."""
        with self._lock:
            return [m for m in self.chat if m.mentions(words)]

    def wait_for_page(
        self, provider: str, action: str, timeout: float = 30.0
    ) -> PagerDutyEvent:
        """Wait for a PagerDuty event about `provider` and return the first."""
        return self._wait_for(
            lambda: [e for e in self.pages_for(provider) if e.action == action],
            timeout,
            f"a PagerDuty {action} for {provider}",
        )

    def wait_for_chat(
        self, words: str, resolved: bool = False, timeout: float = 30.0
    ) -> SlackMessage:
        """Wait for a Slack message containing `words` and return the first."""
        return self._wait_for(
            lambda: [
                m for m in self.chat_mentioning(words) if m.resolved_only == resolved
            ],
            timeout,
            f"a {'resolved' if resolved else 'firing'} Slack message about {words!r}",
        )

    def _wait_for(
        self, found: Callable[[], list[Found]], timeout: float, what: str
    ) -> Found:
        wait_until(lambda: bool(found()), timeout, what)
        return found()[0]
