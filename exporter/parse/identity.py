"""Derive short, stable incident ids and display links from feed links and ids."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit, urlunsplit

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,63}$")
_KEY_SEPARATORS = re.compile(r"[/:]")
# A last segment this long with a letter in it names one incident on its own.
DISTINCTIVE_LENGTH = 8


def key_from_reference(reference: str) -> str:
    """Return a short key for a link, guid or tag URI that names one incident.

    The fragment wins (AWS guids are `.../#<service>-<region>_<epoch>`), then
    the last path or tag segment when it is distinctive (a slug or a code), else
    the whole path (`us-incidents-123`: numbers repeat across a site's sections);
    anything unusable becomes a short hash. The key never depends on the other
    entries of the feed, so an incident keeps it while they come and go.
    """
    parts = urlsplit(reference.strip())
    for candidate in (parts.fragment, _path_key(parts.path or reference)):
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


def _path_key(path: str) -> str:
    segments = [s for s in _KEY_SEPARATORS.split(path) if s]
    if not segments:
        return ""
    if _is_distinctive(segments[-1]):
        return segments[-1]
    return "-".join(segments)


def _is_distinctive(segment: str) -> bool:
    """Tell a slug or code (`2022-06-09-network-ddos`) from `123` or `12.html`."""
    stem = segment.rsplit(".", 1)[0] if "." in segment else segment
    return len(stem) >= DISTINCTIVE_LENGTH and any(c.isalpha() for c in stem)
