"""Run feedparser on a body and keep the fields the parsers use, typed.

feedparser has no type hints: its result is `Any` here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import feedparser

from exporter.errors import FeedParseError
from exporter.parse.text import collapse_whitespace, html_to_text
from exporter.parse.times import from_struct_time


@dataclasses.dataclass(frozen=True)
class Entry:
    """One Atom entry or RSS item, as plain strings and aware datetimes."""

    id: str
    link: str
    title: str
    published: datetime | None
    updated: datetime | None
    content_html: str
    summary_html: str
    categories: tuple[str, ...]

    @property
    def html(self) -> str:
        """Return the richest body: the content, else the summary/description."""
        return self.content_html or self.summary_html


@dataclasses.dataclass(frozen=True)
class Feed:
    """The feed-level fields platform detection needs, and the entries."""

    generator: str
    description: str
    link: str
    entries: tuple[Entry, ...]
    version: str = ""  # feedparser's name of the format ("atom10", "rss20"...)


def read_feed(body: bytes, content_type: str | None) -> Feed:
    """Parse the body with feedparser; decoding follows the BOM and charset."""
    headers = {"content-type": content_type} if content_type else None
    try:
        # A stream, not the bytes themselves: feedparser first tries to open()
        # a bytes or str argument as a file name.
        parsed: Any = feedparser.parse(
            io.BytesIO(body),
            sanitize_html=False,
            resolve_relative_uris=False,
            response_headers=headers,
        )
    except Exception as error:  # feedparser's own bugs must not escape as such
        raise FeedParseError(f"feedparser failed: {error!r}") from error
    return _feed_from(parsed)


def _feed_from(parsed: Any) -> Feed:
    header = _plain(parsed.get("feed"))
    return Feed(
        generator=_string(header, "generator"),
        description=_string(header, "subtitle"),
        link=_string(header, "link"),
        entries=tuple(_entry_from(_plain(raw)) for raw in parsed.get("entries", [])),
        version=parsed.get("version") or "",
    )


def _entry_from(raw: Mapping[str, Any]) -> Entry:
    return Entry(
        id=_string(raw, "id"),
        link=_string(raw, "link"),
        title=_title(raw),
        published=from_struct_time(raw.get("published_parsed")),
        updated=from_struct_time(raw.get("updated_parsed")),
        content_html=_content(raw),
        summary_html=_string(raw, "summary"),
        categories=_categories(raw),
    )


def _plain(value: Any) -> dict[str, Any]:
    # A plain dict: FeedParserDict.get maps missing `updated` to `published`.
    return dict(value) if isinstance(value, Mapping) else {}


def _string(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def _title(raw: Mapping[str, Any]) -> str:
    title = _string(raw, "title")
    detail = _plain(raw.get("title_detail"))
    if detail.get("type") in ("text/html", "application/xhtml+xml"):
        return html_to_text(title)
    return collapse_whitespace(title)


def _content(raw: Mapping[str, Any]) -> str:
    contents = raw.get("content")
    if not isinstance(contents, list) or not contents:
        return ""
    return _string(_plain(contents[0]), "value")


def _categories(raw: Mapping[str, Any]) -> tuple[str, ...]:
    tags = raw.get("tags")
    if not isinstance(tags, list):
        return ()
    terms = (_string(_plain(tag), "term") for tag in tags)
    return tuple(term for term in terms if term)
