"""Turn the HTML embedded in feed entries into short plain text."""

from __future__ import annotations

import html
import re

UPDATE_TEXT_LIMIT = 1000

_HIDDEN = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>", re.S | re.I)
# Block tags separate words; inline tags (a, b, em...) sit inside words and
# sentences, so they are removed without leaving a space behind.
_BLOCK_TAG = re.compile(
    r"</?(?:p|br|div|li|ul|ol|hr|h[1-6]|tr|td|th|table|blockquote|pre|section)\b[^>]*>",
    re.I,
)
_ANY_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_WHITESPACE = re.compile(r"\s+")


def html_to_text(markup: str) -> str:
    """Return the visible text of an HTML fragment, entities decoded."""
    visible = _HIDDEN.sub(" ", markup)
    spaced = _BLOCK_TAG.sub(" ", visible)
    bare = _ANY_TAG.sub("", spaced)
    return collapse_whitespace(html.unescape(bare))


def collapse_whitespace(text: str) -> str:
    """Return the text on one line with runs of whitespace made one space."""
    return _WHITESPACE.sub(" ", text).strip()


def shorten(text: str, limit: int = UPDATE_TEXT_LIMIT) -> str:
    """Cut the text to at most `limit` characters, marking a cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "\u2026"
