"""Upper bounds on what one feed entry can put in labels, events and the store."""

from __future__ import annotations

import dataclasses
import hashlib

from exporter.model import Incident

MAX_ID = 128
MAX_TITLE = 300
MAX_URL = 2048
MAX_COMPONENTS = 30
MAX_COMPONENT_NAME = 100
MAX_UPDATE = 1000
# Real feeds hold tens of entries, the largest a few hundred; feeds list the
# newest first, so a longer one keeps its head and loses only old history.
MAX_INCIDENTS = 1000


def bounded(incident: Incident) -> Incident:
    """Cut an incident's free text to sizes a label and an event line can carry.

    A hostile or broken feed could otherwise put megabytes into every scrape
    and every line of the events log.
    """
    return dataclasses.replace(
        incident,
        id=_short_id(incident.id),
        title=_cut(incident.title, MAX_TITLE),
        url=incident.url if len(incident.url) <= MAX_URL else "",
        components=tuple(
            _cut(name, MAX_COMPONENT_NAME)
            for name in incident.components[:MAX_COMPONENTS]
        ),
        update=_cut(incident.update, MAX_UPDATE),
    )


def _short_id(identity: str) -> str:
    if len(identity) <= MAX_ID:
        return identity
    # Keep ids distinct: a prefix plus a digest of the whole.
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return f"{identity[: MAX_ID - 17]}-{digest}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
