"""Guess an incident's impact from the words of its updates.

Feeds carry no impact field, so this is a heuristic. The table is read worst
first: the first impact with a phrase anywhere in the text wins. Phrases are
whole words, case-insensitive, and may use regular-expression alternatives.
"""

from __future__ import annotations

import re

IMPACT_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("critical", ("major outage", "full outage")),
    (
        "major",
        (
            "degraded availability",
            "partial outage",
            "outages?",
            "unavailable",
            # "down" alone would match "shutting down" or "slow down".
            "(?:is|are|was|were|went|goes) down",
        ),
    ),
    (
        "minor",
        (
            "degraded performance",
            "(?:elevated|increased) (?:errors?|error rates?|latency|latencies)",
            "delay(?:s|ed)?",
            "degraded",
            "degradation",
        ),
    ),
)

_IMPACT_PATTERNS = tuple(
    (impact, re.compile(r"\b(?:" + "|".join(phrases) + r")\b", re.I))
    for impact, phrases in IMPACT_PHRASES
)


def impact_from_text(*texts: str) -> str:
    """Return the worst impact the texts' wording suggests, or "unknown"."""
    wording = "\n".join(texts)
    for impact, pattern in _IMPACT_PATTERNS:
        if pattern.search(wording):
            return impact
    return "unknown"
