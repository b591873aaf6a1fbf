"""Derive short, stable incident ids and display links from feed links and ids."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit, urlunsplit

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,63}$")
_KEY_SEPARATORS = re.compile(r"[/:]")


def key_from_reference(reference: str) -> str:
    """Return a short key for a link, guid or tag URI that names one incident.

    The fragment wins (AWS guids are `.../#<service>-<region>_<epoch>`), then
    the last path or tag segment; anything unusable becomes a short hash. A
    number alone keeps the segment before it (`incidents-123`): numbers repeat
    across a site's sections, and the key must not depend on other entries.
    """
    parts = urlsplit(reference.strip())
    for candidate in (parts.fragment, _last_segments(parts.path or reference)):
        if _SAFE_KEY.match(candidate):
            return candidate
    return short_hash(reference)


def short_hash(text: str) -> str:
    """Return a 12-character hash that stands in for an unusable key."""
    return "h" + hashlib.sha256(text.encode()).hexdigest()[:11]


def display_url(link: str) -> str:
    """Return the link with repeated slashes in its path made single."""
    parts = urlsplit(link.strip())
    path = re.sub("/{2,}", "/", parts.path)
    return urlunsplit(parts._replace(path=path))


def same_page(first: str, second: str) -> bool:
    """Tell whether two links point at the same page, ignoring scheme and slashes."""
    return _page_of(first) == _page_of(second)


def _page_of(link: str) -> tuple[str, str, str]:
    parts = urlsplit(link.strip())
    return parts.netloc.lower(), parts.path.strip("/"), parts.query


def _last_segments(path: str) -> str:
    segments = [s for s in _KEY_SEPARATORS.split(path) if s]
    if len(segments) >= 2 and segments[-1].isdigit():
        return f"{segments[-2]}-{segments[-1]}"
    return segments[-1] if segments else ""
