"""Check that a body is a safe, complete Atom or RSS document before parsing it.

These checks read only the ASCII markup (`<!DOCTYPE`, the root element, the
closing tag), so the body is decoded just enough to see it: by byte-order
mark or by the zero bytes of UTF-16/32, and otherwise as Latin-1, which
reads the ASCII of every ASCII-compatible encoding and never fails.
"""

from __future__ import annotations

import codecs
import dataclasses
import re

from exporter.errors import FeedParseError, NotAFeedError

FORMAT_BY_ROOT = {"feed": "atom", "rss": "rss", "RDF": "rss"}

_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose mark it starts with
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# XML starts with ASCII ('<' or whitespace), which UTF-16 and UTF-32 without
# a byte-order mark write with zero bytes in tell-tale places.
_ENCODING_BY_ZERO_BYTES: dict[tuple[bool, ...], str] = {
    (True, True, True, False): "utf-32-be",
    (False, True, True, True): "utf-32-le",
    (True, False, True, False): "utf-16-be",
    (False, True, False, True): "utf-16-le",
}
_DOCTYPE = re.compile(r"<!DOCTYPE", re.I)
_XML_DECLARATION = re.compile(r"\s*<\?xml[^>]*\?>", re.I)
_UTF7 = re.compile(r"utf[-_]?7", re.I)
_ENTRY_START = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?(?:entry|item)[\s>/]")
_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.I)
_PROLOG_ITEM = re.compile(
    r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>)", re.S | re.I
)
_ELEMENT_START = re.compile(r"\s*<([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)")
_TRAILING_MISC = (("-->", "<!--"), ("?>", "<?"))


@dataclasses.dataclass(frozen=True)
class Document:
    """What the body turned out to be: its root element and feed format."""

    root: str
    format: str
    text: str = dataclasses.field(repr=False, default="")


def inspect_document(body: bytes, content_type: str | None = None) -> Document:
    """Return the root and format of a feed body; raise if it is unsafe or no feed."""
    text = readable_text(body)
    if not text.strip():
        raise NotAFeedError("the body is empty")

    refuse_hiding_encodings(text, content_type)
    refuse_entity_declarations(text)

    root = root_element(text)
    feed_format = FORMAT_BY_ROOT.get(root.rpartition(":")[2])
    if feed_format is None:
        raise NotAFeedError(f"the root element <{root}> is not Atom or RSS")

    require_complete(text, root)
    return Document(root=root, format=feed_format, text=text)


def readable_text(body: bytes) -> str:
    """Decode the body far enough to read its ASCII markup."""
    for mark, encoding in _BYTE_ORDER_MARKS:
        if body.startswith(mark):
            return body[len(mark) :].decode(encoding, errors="replace")
    return body.decode(_encoding_by_zero_bytes(body[:4]), errors="replace")


def _encoding_by_zero_bytes(head: bytes) -> str:
    zeros = tuple(byte == 0 for byte in head.ljust(4, b"\x01"))
    return _ENCODING_BY_ZERO_BYTES.get(zeros, "latin-1")


def refuse_entity_declarations(text: str) -> None:
    """Raise when a document with a DOCTYPE declares entities anywhere.

    Entity declarations are how billion-laughs and external-entity (XXE)
    attacks work, and no status feed needs them. Any `<!ENTITY` in a document
    that has a DOCTYPE counts, wherever a quoted literal may try to hide it.
    """
    if _DOCTYPE.search(text) and _ENTITY_DECLARATION.search(text):
        raise FeedParseError(
            "the document declares XML entities in its DOCTYPE; entity "
            "declarations are refused (entity expansion, external entities)"
        )


def refuse_hiding_encodings(text: str, content_type: str | None) -> None:
    """Raise for UTF-7, which can hide markup from every check made on bytes."""
    declaration = _XML_DECLARATION.match(text)
    declared = declaration.group(0) if declaration else ""
    if _UTF7.search(declared) or _UTF7.search(content_type or ""):
        raise FeedParseError("UTF-7 documents are refused: they can hide markup")


def require_entries_read(text: str, entries_read: int) -> None:
    """Raise when the document has entries but none could be read.

    A wrong character set can make a whole feed read as empty; taking that for
    "no incidents" would be wrong, so it is a parse failure instead.
    """
    if entries_read == 0 and _ENTRY_START.search(text):
        raise FeedParseError(
            "the document has entries but none could be read "
            "(is the declared character set right?)"
        )


def root_element(text: str) -> str:
    """Return the qualified name of the first element after the prolog."""
    position = 0
    while item := _PROLOG_ITEM.match(text, position):
        position = item.end()

    element = _ELEMENT_START.match(text, position)
    if element is not None:
        return element.group(1)
    if text.lstrip()[:1] in ("{", "["):
        raise NotAFeedError("the body is JSON, not an Atom or RSS feed")
    raise NotAFeedError("the body is not XML: no root element found")


def require_complete(text: str, root: str) -> None:
    """Raise unless the document ends with its root's closing tag.

    A cut-off download can still parse loosely into fewer entries; taking
    those for the whole feed would make known incidents vanish. Comments and
    processing instructions may follow the closing tag, as XML allows.
    """
    end = _end_without_trailing_misc(text)
    tail = text[max(0, end - len(root) - 64) : end]
    if not re.search(rf"</{re.escape(root)}\s*>\Z", tail):
        raise FeedParseError(
            f"the document is incomplete: it does not end with </{root}> "
            "(truncated download?)"
        )


def _end_without_trailing_misc(text: str) -> int:
    """Return where the text ends once trailing comments and PIs are set aside.

    Works on an index, never on copies: a body of a million trailing comments
    costs one pass.
    """
    end = _before_spaces(text, len(text))
    while True:
        for closing, opening in _TRAILING_MISC:
            start = (
                text.rfind(opening, 0, end) if text.endswith(closing, 0, end) else -1
            )
            if start >= 0:
                end = _before_spaces(text, start)
                break
        else:
            return end


def _before_spaces(text: str, end: int) -> int:
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end
