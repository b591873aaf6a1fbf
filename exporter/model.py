"""The incident model every feed is turned into."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any

KINDS = ("incident", "maintenance")

STATUSES = (
    "investigating",
    "identified",
    "monitoring",
    "resolved",
    "postmortem",
    "scheduled",
    "in_progress",
    "verifying",
    "completed",
    "unknown",
)
CLOSED_STATUSES = frozenset({"resolved", "postmortem", "completed"})
ACTIVE_MAINTENANCE_STATUSES = frozenset({"in_progress", "verifying"})

IMPACTS = ("none", "minor", "major", "critical", "maintenance", "unknown")
# Worst last: an incident's impact only ever moves up this ladder.
IMPACT_LADDER = ("unknown", "none", "minor", "major", "critical")


@dataclasses.dataclass(frozen=True)
class Incident:
    """One incident or maintenance as a status page describes it now."""

    id: str
    kind: str
    title: str
    status: str
    impact: str
    url: str
    started_at: datetime | None
    updated_at: datetime | None
    resolved_at: datetime | None
    components: tuple[str, ...] = ()
    update: str = ""

    @property
    def is_open(self) -> bool:
        """Tell whether the incident is still going on (or still to come)."""
        return self.status not in CLOSED_STATUSES

    @property
    def is_active_maintenance(self) -> bool:
        """Tell whether this is a maintenance in progress right now."""
        return self.kind == "maintenance" and self.status in ACTIVE_MAINTENANCE_STATUSES

    def to_json(self) -> dict[str, Any]:
        """Return the incident as the events log and the API write it."""
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "status": self.status,
            "impact": self.impact,
            "url": self.url,
            "started_at": rfc3339(self.started_at),
            "updated_at": rfc3339(self.updated_at),
            "resolved_at": rfc3339(self.resolved_at),
            "components": list(self.components),
            "update": self.update,
        }

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> Incident:
        """Rebuild an incident written by `to_json`."""
        return cls(
            id=fields["id"],
            kind=fields["kind"],
            title=fields["title"],
            status=fields["status"],
            impact=fields["impact"],
            url=fields["url"],
            started_at=parse_rfc3339(fields["started_at"]),
            updated_at=parse_rfc3339(fields["updated_at"]),
            resolved_at=parse_rfc3339(fields["resolved_at"]),
            components=tuple(fields.get("components") or ()),
            update=fields.get("update") or "",
        )


def worse_impact(first: str, second: str) -> str:
    """Return the more severe of two impacts (maintenance stays maintenance)."""
    if "maintenance" in (first, second):
        return "maintenance"
    rank = IMPACT_LADDER.index
    return first if rank(first) >= rank(second) else second


def rfc3339(moment: datetime | None) -> str | None:
    """Format an aware datetime as RFC 3339 in UTC, or None."""
    if moment is None:
        return None
    # isoformat, unlike strftime("%Y"), writes every year with four digits.
    utc = moment.astimezone(timezone.utc).replace(microsecond=0, tzinfo=None)
    return utc.isoformat() + "Z"


def parse_rfc3339(text: str | None) -> datetime | None:
    """Read a time written by `rfc3339`."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
