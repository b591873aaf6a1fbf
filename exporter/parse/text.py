"""Turn the HTML embedded in feed entries into short plain text."""

from __future__ import annotations

import html
import re

UPDATE_TEXT_LIMIT = 1000

# Hidden parts are cut with one forward scan: a lazy pattern would rescan the
# rest of the text from every unclosed "<script" of a hostile feed.
_HIDDEN_START = re.compile(r"<!--|<(script|style)\b", re.I)
_HIDDEN_END = {
    "": re.compile(r"-->"),
    "script": re.compile(r"</script\b[^<>]*>", re.I),
    "style": re.compile(r"</style\b[^<>]*>", re.I),
}
# Block tags separate words; inline tags (a, b, em...) sit inside words and
# sentences, so they are removed without leaving a space behind. A tag ends at
# the next "<" too, so text without any ">" costs linear time.
_BLOCK_TAG = re.compile(
    r"</?(?:p|br|div|li|ul|ol|hr|h[1-6]|tr|td|th|table|blockquote|pre|section)"
    r"\b[^<>]*>",
    re.I,
)
_ANY_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_WHITESPACE = re.compile(r"\s+")
# Characters that act on a terminal or on the text's direction instead of being
# shown: C0 and C1 controls (escape sequences), bidi embeddings, overrides and
# isolates, line and paragraph separators, zero-width spaces and the BOM. The
# zero-width (non-)joiners are kept: scripts and emoji need them.
UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2028\u2029"
    "\u2060\u2066-\u2069\ufeff]"
)


def html_to_text(markup: str) -> str:
    """Return the visible text of an HTML fragment, entities decoded."""
    visible = without_hidden_parts(markup)
    spaced = _BLOCK_TAG.sub(" ", visible)
    bare = _ANY_TAG.sub("", spaced)
    return collapse_whitespace(html.unescape(bare))


def without_hidden_parts(markup: str) -> str:
    """Replace comments, scripts and styles by a space; an unclosed one ends it."""
    kept: list[str] = []
    position = 0
    while start := _HIDDEN_START.search(markup, position):
        kept.append(markup[position : start.start()])
        tag = (start.group(1) or "").lower()
        end = _HIDDEN_END[tag].search(markup, start.end())
        if end is None:
            return "".join(kept) + " "
        kept.append(" ")
        position = end.end()
    kept.append(markup[position:])
    return "".join(kept)


def collapse_whitespace(text: str) -> str:
    """Return the text on one line, runs of whitespace made one space, no controls."""
    return UNPRINTABLE.sub("", _WHITESPACE.sub(" ", text)).strip()


def shorten(text: str, limit: int = UPDATE_TEXT_LIMIT) -> str:
    """Cut the text to at most `limit` characters, marking a cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "\u2026"
