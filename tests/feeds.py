"""Build Statuspage-style feeds for scripted timelines in tests."""

from __future__ import annotations

import dataclasses
import html
from datetime import datetime, timezone
from email.utils import format_datetime


@dataclasses.dataclass(frozen=True)
class Update:
    """One posted update: a label such as Investigating, and its text."""

    label: str
    text: str
    at: datetime


@dataclasses.dataclass
class ScriptedIncident:
    """An incident whose updates a test posts one by one."""

    code: str
    title: str
    updates: list[Update] = dataclasses.field(default_factory=list)
    number: int = 1000
    scheduled_for: tuple[datetime, datetime] | None = None
    edited_at: datetime | None = None

    def post(self, label: str, text: str, at: datetime) -> ScriptedIncident:
        """Add an update and return the incident, for chaining."""
        self.updates.append(Update(label, text, at))
        return self

    @property
    def updated(self) -> datetime:
        """Return when the incident last changed, edits included."""
        times = [u.at for u in self.updates]
        if self.edited_at:
            times.append(self.edited_at)
        return max(times)


def utc(text: str) -> datetime:
    """Read `2026-01-02T03:04:05` as a UTC time."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def history_html(incident: ScriptedIncident) -> str:
    """Render the update history the way Statuspage embeds it, newest first."""
    paragraphs = []
    if incident.scheduled_for and not incident.updates[1:]:
        start, end = incident.scheduled_for
        paragraphs.append(
            f"<p><strong>THIS IS A SCHEDULED EVENT {_stamp(start)} "
            f"&nbsp;-&nbsp; {_stamp(end)}</strong></p>"
        )
    for update in sorted(incident.updates, key=lambda u: u.at, reverse=True):
        paragraphs.append(
            f"<p><small>{_stamp(update.at)}</small><br>"
            f"<strong>{update.label}</strong> - {html.escape(update.text)}</p>"
        )
    return "".join(paragraphs)


def _stamp(moment: datetime) -> str:
    return (
        f"{moment:%b} <var data-var='date'>{moment.day:2d}</var>, "
        f"<var data-var='time'>{moment:%H:%M}</var> UTC"
    )


def statuspage_atom(
    incidents: list[ScriptedIncident], host: str = "status.example.com"
) -> bytes:
    """Return a Statuspage `history.atom` document for the incidents."""
    ordered = sorted(incidents, key=lambda i: i.updates[-1].at, reverse=True)
    newest = max((i.updated for i in incidents), default=utc("2026-01-01T00:00:00"))
    entries = "".join(_atom_entry(i, host) for i in ordered)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xml:lang="en-US" xmlns="http://www.w3.org/2005/Atom">\n'
        f"  <id>tag:{host},2005:/history</id>\n"
        f'  <link rel="alternate" type="text/html" href="https://{host}"/>\n'
        f"  <title>Example Status - Incident History</title>\n"
        f"  <updated>{_atom_time(newest)}</updated>\n"
        f"  <author><name>Example</name></author>\n{entries}</feed>\n"
    ).encode()


def _published(incident: ScriptedIncident) -> datetime:
    """Statuspage publishes an upcoming maintenance at its window start."""
    if incident.scheduled_for and not incident.updates[1:]:
        return incident.scheduled_for[0]
    return max(u.at for u in incident.updates)


def _atom_entry(incident: ScriptedIncident, host: str) -> str:
    published = _published(incident)
    return (
        "  <entry>\n"
        f"    <id>tag:{host},2005:Incident/{incident.number}</id>\n"
        f"    <published>{_atom_time(published)}</published>\n"
        f"    <updated>{_atom_time(incident.updated)}</updated>\n"
        f'    <link rel="alternate" type="text/html" '
        f'href="https://{host}/incidents/{incident.code}"/>\n'
        f"    <title>{html.escape(incident.title)}</title>\n"
        f'    <content type="html">{html.escape(history_html(incident))}</content>\n'
        "  </entry>\n"
    )


def statuspage_rss(
    incidents: list[ScriptedIncident], host: str = "status.example.com"
) -> bytes:
    """Return a Statuspage `history.rss` document for the incidents."""
    ordered = sorted(incidents, key=lambda i: i.updates[-1].at, reverse=True)
    items = "".join(
        "<item>"
        f"<title>{html.escape(i.title)}</title>"
        f"<description>{html.escape(history_html(i))}</description>"
        f"<pubDate>{format_datetime(_published(i))}</pubDate>"
        f"<link>https://{host}/incidents/{i.code}</link>"
        f"<guid>https://{host}/incidents/{i.code}</guid>"
        "</item>"
        for i in ordered
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0"><channel><title>Example Status</title>'
        f"<link>https://{host}</link><description>Statuspage</description>"
        f"{items}</channel></rss>\n"
    ).encode()


def _atom_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
