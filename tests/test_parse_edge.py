"""Edge cases of feed parsing, on small documents written here."""

from __future__ import annotations

import codecs
import html
from datetime import datetime, timezone
from pathlib import Path

import pytest

from exporter.errors import FeedParseError, NotAFeedError
from exporter.model import Incident, rfc3339
from exporter.parse import parse_feed
from exporter.parse.impact import impact_from_text
from exporter.parse.times import place_in_year

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
HOST = "status.example.com"


def rss(items: str = "", *, channel_extra: str = "") -> bytes:
    """Return an RSS 2.0 document with the given items."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Example status</title><link>https://{HOST}/</link>"
        f"<description>Example updates</description>{channel_extra}{items}"
        "</channel></rss>\n"
    ).encode()


def rss_item(
    title: str, *, link: str = "", guid: str = "", pub_date: str = "", body: str = ""
) -> str:
    """Return one RSS item; the body is HTML and gets escaped here."""
    return (
        f"<item><title>{html.escape(title)}</title><link>{link}</link>"
        f"<guid>{guid or link}</guid><pubDate>{pub_date}</pubDate>"
        f"<description>{html.escape(body)}</description></item>"
    )


def atom(entries: str = "", *, generator: str = "") -> bytes:
    """Return an Atom document with the given entries."""
    generator_element = f"<generator>{generator}</generator>" if generator else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>https://{HOST}/</id><title>Example status</title>"
        f'<updated>2026-01-01T00:00:00Z</updated><link href="https://{HOST}/"/>'
        f"{generator_element}{entries}</feed>\n"
    ).encode()


def atom_entry(
    title: str,
    *,
    link: str = "",
    entry_id: str = "",
    published: str = "",
    updated: str = "",
    content: str = "",
    summary: str = "",
) -> str:
    """Return one Atom entry; content and summary are HTML, escaped here."""
    parts = [f"<title>{html.escape(title)}</title>"]
    parts += [f"<id>{entry_id}</id>"] if entry_id else []
    parts += [f'<link href="{link}"/>'] if link else []
    parts += [f"<published>{published}</published>"] if published else []
    parts += [f"<updated>{updated}</updated>"] if updated else []
    parts += [f'<summary type="html">{html.escape(summary)}</summary>'] * bool(summary)
    parts += [f'<content type="html">{html.escape(content)}</content>'] * bool(content)
    return "<entry>" + "".join(parts) + "</entry>"


def paragraph(when: str, label: str, text: str) -> str:
    """Return a Statuspage history paragraph for `Mon D, HH:MM ZONE`."""
    month_day, clock = when.split(", ")
    month, day = month_day.split()
    time_of_day, _, zone = clock.partition(" ")
    return (
        f"<p><small>{month} <var data-var='date'>{day:>2}</var>, "
        f"<var data-var='time'>{time_of_day}</var> {zone}</small><br>"
        f"<strong>{label}</strong> - {text}</p>"
    )


def statuspage_feed(
    *paragraphs: str,
    published: str = "2026-02-01T10:00:00Z",
    updated: str = "",
    code: str = "abcd1234efgh",
) -> bytes:
    """Return a Statuspage-style Atom feed with one incident of these paragraphs."""
    entry = atom_entry(
        "Incident with Example",
        entry_id=f"tag:{HOST},2005:Incident/4242",
        link=f"https://{HOST}/incidents/{code}",
        published=published,
        updated=updated or published,
        content="".join(paragraphs),
    )
    return atom(entry)


def only_incident(body: bytes, **options: str) -> Incident:
    """Parse a body that holds exactly one incident and return it."""
    incidents = parse_feed(body, now=NOW, **options)
    assert len(incidents) == 1
    return incidents[0]


# Bodies that are not feeds.


@pytest.mark.parametrize(
    "body",
    [b"", b"  \n\t ", codecs.BOM_UTF8, codecs.BOM_UTF16_LE],
    ids=["empty", "whitespace", "utf8-bom-only", "utf16-bom-only"],
)
def test_empty_body_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(NotAFeedError, match="empty"):
        parse_feed(body, now=NOW)


def test_html_challenge_page_is_not_a_feed() -> None:
    page = (
        b"<!DOCTYPE html><html lang='en-US'><head><title>Just a moment...</title>"
        b"</head><body><p>Checking your browser</p></body></html>"
    )

    with pytest.raises(NotAFeedError, match="<html>"):
        parse_feed(page, content_type="text/html; charset=UTF-8", now=NOW)


def test_xhtml_error_page_with_xml_declaration_is_not_a_feed() -> None:
    page = b'<?xml version="1.0"?>\n<html><body>503 Service Unavailable</body></html>'

    with pytest.raises(NotAFeedError):
        parse_feed(page, content_type="application/xml", now=NOW)


@pytest.mark.parametrize("body", [b'{"status": "ok"}', b"[]", b'\n [{"id": 1}]'])
def test_json_body_is_not_a_feed(body: bytes) -> None:
    with pytest.raises(NotAFeedError, match="JSON"):
        parse_feed(body, content_type="application/json", now=NOW)


def test_plain_text_error_is_not_a_feed() -> None:
    with pytest.raises(NotAFeedError, match="not XML"):
        parse_feed(b"502 Bad Gateway", now=NOW)


# Incomplete and not-well-formed documents.


def test_truncated_atom_is_a_parse_error() -> None:
    body = statuspage_feed(paragraph("Feb 1, 10:00 UTC", "Investigating", "Looking."))

    with pytest.raises(FeedParseError, match="incomplete"):
        parse_feed(body[: len(body) * 2 // 3], now=NOW)


def test_document_cut_right_after_an_entry_is_still_incomplete() -> None:
    body = atom(atom_entry("One", link=f"https://{HOST}/incidents/one"))
    cut = body[: body.index(b"</entry>") + len(b"</entry>")]

    with pytest.raises(FeedParseError, match="</feed>"):
        parse_feed(cut, now=NOW)


def test_complete_but_not_well_formed_feed_is_read_loosely() -> None:
    # HTML entities and a raw ampersand are errors in XML, common in feeds.
    body = (
        b'<rss version="2.0"><channel><title>Example</title>'
        b"<item><title>Search&nbsp;degraded & slow</title>"
        b"<link>https://status.example.com/issues/search</link></item>"
        b"</channel></rss>"
    )

    incident = only_incident(body)

    assert incident.id == "issues-search"
    assert incident.title == "Search degraded & slow"


def test_comment_after_the_closing_tag_keeps_the_document_complete() -> None:
    body = rss() + b"<!-- served from cache in 3 ms -->\n"

    assert parse_feed(body, now=NOW) == []


# Security: entity declarations are refused, external files never read.


def test_billion_laughs_is_refused() -> None:
    laughs = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{laughs}]>'
        '<rss version="2.0"><channel><title>&lol9;</title></channel></rss>'
    ).encode()

    with pytest.raises(FeedParseError, match="entities"):
        parse_feed(body, now=NOW)


@pytest.mark.parametrize(
    "declaration",
    [
        '<!ENTITY xxe SYSTEM "file://{secret}">',
        '<!ENTITY % remote SYSTEM "file://{secret}"> %remote;',
    ],
    ids=["general-entity", "parameter-entity"],
)
def test_external_entity_is_refused_and_the_file_never_read(
    tmp_path: Path, declaration: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7781")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{declaration.format(secret=secret)}]>'
        '<rss version="2.0"><channel><title>x</title>'
        "<item><title>&xxe;</title><link>https://status.example.com/i/1</link></item>"
        "</channel></rss>"
    ).encode()

    with pytest.raises(FeedParseError, match="entities") as raised:
        parse_feed(body, now=NOW)

    assert "TOP-SECRET-7781" not in str(raised.value)


def test_external_dtd_is_never_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7781")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY xxe SYSTEM "file://{secret}">')
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file://{dtd}">'
        '<rss version="2.0"><channel><title>x</title>'
        "<item><title>Leak &xxe; here</title>"
        "<link>https://status.example.com/issues/leak</link>"
        "<description>&xxe;</description></item></channel></rss>"
    ).encode()

    incident = only_incident(body)

    assert "TOP-SECRET" not in repr(incident)


def test_plain_doctype_without_entities_is_accepted() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//'
        b'DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>Old</title>'
        b"<link>https://status.example.com/</link>"
        b"<item><title>[Resolved] Mail delays</title>"
        b"<link>https://status.example.com/notes/17</link></item>"
        b"</channel></rss>"
    )

    incident = only_incident(body)

    assert (incident.id, incident.status) == ("notes-17", "resolved")


# Encodings.


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_rss_with_byte_order_mark_is_decoded(encoding: str) -> None:
    declared = "utf-8" if encoding == "utf-8-sig" else "utf-16"
    document = (
        f'<?xml version="1.0" encoding="{declared}"?>'
        '<rss version="2.0"><channel><title>Status</title>'
        "<item><title>St\u00f6rung in Z\u00fcrich \u2013 \u6771\u4eac</title>"
        "<link>https://status.example.com/incidents/zrh</link></item>"
        "</channel></rss>"
    )
    body = document.encode(encoding)
    if encoding == "utf-16-be":
        body = codecs.BOM_UTF16_BE + body

    incident = only_incident(body)

    assert incident.title == "St\u00f6rung in Z\u00fcrich \u2013 \u6771\u4eac"


def test_charset_of_the_content_type_decodes_the_body() -> None:
    body = (
        '<rss version="2.0"><channel><title>Status</title>'
        "<item><title>St\u00f6rung</title>"
        "<link>https://status.example.com/incidents/x1</link></item></channel></rss>"
    ).encode("iso-8859-1")

    incident = only_incident(
        body, content_type="application/rss+xml; charset=ISO-8859-1"
    )

    assert incident.title == "St\u00f6rung"


# Valid feeds without entries.


def test_rss_channel_without_items_gives_no_incidents() -> None:
    body = rss(
        channel_extra="<lastBuildDate>Thu, 06 Aug 2026 01:09:00 Z</lastBuildDate>"
    )

    assert parse_feed(body, now=NOW) == []


def test_atom_feed_without_entries_gives_no_incidents() -> None:
    assert parse_feed(atom(), now=NOW) == []


# The expected format.


@pytest.mark.parametrize(
    ("body", "expected", "actual"),
    [(atom(), "RSS", "Atom"), (rss(), "Atom", "RSS")],
)
def test_document_of_the_other_format_is_a_parse_error(
    body: bytes, expected: str, actual: str
) -> None:
    with pytest.raises(FeedParseError, match=f"expected an {expected}.* is {actual}"):
        parse_feed(body, expected_format=expected.lower(), now=NOW)


def test_document_of_the_expected_format_is_parsed() -> None:
    assert parse_feed(atom(), expected_format="atom", now=NOW) == []
    assert parse_feed(rss(), expected_format="rss", now=NOW) == []


def test_unknown_expected_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="expected_format"):
        parse_feed(atom(), expected_format="json", now=NOW)


# Statuspage history: times.


def test_statuspage_paragraphs_step_back_across_new_year() -> None:
    body = statuspage_feed(
        paragraph("Jan 1, 00:20 UTC", "Resolved", "This incident has been resolved."),
        paragraph("Dec 31, 23:10 UTC", "Investigating", "We are investigating."),
        published="2026-01-01T00:20:31Z",
    )

    incident = only_incident(body)

    assert rfc3339(incident.started_at) == "2025-12-31T23:10:00Z"
    assert rfc3339(incident.resolved_at) == "2026-01-01T00:20:00Z"


def test_local_date_already_in_the_new_year_keeps_that_year() -> None:
    # 00:30 CET on 1 January is still 31 December in UTC.
    body = statuspage_feed(
        paragraph("Jan 1, 00:30 CET", "Investigating", "We are investigating."),
        published="2025-12-31T23:30:00Z",
    )

    assert rfc3339(only_incident(body).started_at) == "2025-12-31T23:30:00Z"


@pytest.mark.parametrize(
    ("zone", "utc_time"),
    [
        ("UTC", "2026-02-01T09:08:00Z"),
        ("GMT", "2026-02-01T09:08:00Z"),
        ("CET", "2026-02-01T08:08:00Z"),
        ("CEST", "2026-02-01T07:08:00Z"),
        ("EST", "2026-02-01T14:08:00Z"),
        ("PDT", "2026-02-01T16:08:00Z"),
        ("+0530", "2026-02-01T03:38:00Z"),
        ("XYZT", "2026-02-01T09:08:00Z"),
    ],
)
def test_zone_abbreviation_converts_to_utc_and_unknown_means_utc(
    zone: str, utc_time: str
) -> None:
    body = statuspage_feed(
        paragraph(f"Feb 1, 09:08 {zone}", "Investigating", "We are investigating."),
        published="2026-02-01T20:00:00Z",
    )

    assert rfc3339(only_incident(body).started_at) == utc_time


def test_old_paragraph_form_without_var_tags_is_read() -> None:
    body = statuspage_feed(
        "<p><small>Jun  8, 09:08 UTC</small><br><strong>Monitoring</strong> - "
        "A fix is out.</p><p><small>Jun  8, 08:40 UTC</small><br>"
        "<strong>Identified</strong> - Found it.</p>",
        published="2025-06-08T09:08:00Z",
    )

    incident = only_incident(body)

    assert incident.status == "monitoring"
    assert rfc3339(incident.started_at) == "2025-06-08T08:40:00Z"
    assert incident.update == "A fix is out."


def test_entry_without_dates_places_paragraphs_before_now() -> None:
    entry = atom_entry(
        "Undated",
        link=f"https://{HOST}/incidents/undated12345",
        content=paragraph("Dec 30, 10:00 UTC", "Investigating", "Looking."),
    )
    now = datetime(2026, 1, 5, tzinfo=timezone.utc)

    incident = parse_feed(atom(entry), now=now)[0]

    assert rfc3339(incident.started_at) == "2025-12-30T10:00:00Z"
    assert incident.updated_at == incident.started_at


def test_29_february_finds_the_leap_year_before() -> None:
    before = datetime(2026, 3, 1, tzinfo=timezone.utc)

    placed = place_in_year(2, 29, 12, 0, before - before, before)

    assert rfc3339(placed) == "2024-02-29T12:00:00Z"


# Statuspage history: status, kind, resolution.


def test_update_label_does_not_change_status() -> None:
    body = statuspage_feed(
        paragraph("Feb 1, 10:00 UTC", "Update", "Still working on it."),
        paragraph("Feb 1, 09:30 UTC", "Update", "Working on it."),
        paragraph("Feb 1, 09:00 UTC", "Identified", "Found the cause."),
    )

    incident = only_incident(body)

    assert incident.status == "identified"
    assert incident.update == "Still working on it."


def test_history_of_only_update_labels_has_unknown_status() -> None:
    body = statuspage_feed(paragraph("Feb 1, 10:00 UTC", "Update", "Hm."))

    assert only_incident(body).status == "unknown"


def test_scheduled_event_header_means_scheduled_maintenance() -> None:
    header = (
        "<p><strong>THIS IS A SCHEDULED EVENT Feb <var data-var='date'>3</var>, "
        "<var data-var='time'>01:00</var> UTC &nbsp;-&nbsp; 03:00 UTC</strong></p>"
    )
    body = statuspage_feed(
        header,
        paragraph("Feb 1, 10:00 UTC", "Scheduled", "Database upgrade."),
        published="2026-02-03T01:00:00Z",
        updated="2026-02-01T10:00:05Z",
    )

    incident = only_incident(body)

    assert (incident.kind, incident.status, incident.impact) == (
        "maintenance",
        "scheduled",
        "maintenance",
    )
    assert incident.update == "Database upgrade."


def test_postmortem_keeps_the_time_the_incident_was_resolved() -> None:
    body = statuspage_feed(
        paragraph("Feb 4, 10:00 UTC", "Postmortem", "What happened."),
        paragraph("Feb 1, 12:00 UTC", "Resolved", "Resolved."),
        paragraph("Feb 1, 11:00 UTC", "Update", "Recovering."),
        paragraph("Feb 1, 10:00 UTC", "Investigating", "Looking."),
        published="2026-02-04T10:00:00Z",
    )

    incident = only_incident(body)

    assert incident.status == "postmortem"
    assert rfc3339(incident.resolved_at) == "2026-02-01T12:00:00Z"


def test_reopened_incident_resolves_at_its_last_resolution() -> None:
    body = statuspage_feed(
        paragraph("Feb 1, 15:00 UTC", "Resolved", "Fixed again."),
        paragraph("Feb 1, 13:00 UTC", "Investigating", "It is back."),
        paragraph("Feb 1, 12:00 UTC", "Resolved", "Fixed."),
        paragraph("Feb 1, 10:00 UTC", "Investigating", "Looking."),
        published="2026-02-01T15:00:00Z",
    )

    assert rfc3339(only_incident(body).resolved_at) == "2026-02-01T15:00:00Z"


def test_components_come_from_automated_sentences_oldest_first() -> None:
    body = statuspage_feed(
        paragraph(
            "Feb 1, 11:00 UTC",
            "Update",
            "Pages is experiencing degraded "
            "availability. We are continuing to investigate.",
        ),
        paragraph(
            "Feb 1, 10:00 UTC",
            "Investigating",
            "We are investigating reports "
            "of degraded performance for Git Operations, API Requests and Pages",
        ),
    )

    incident = only_incident(body)

    assert incident.components == ("Git Operations", "API Requests", "Pages")
    assert incident.impact == "major"


# Impact heuristic.


@pytest.mark.parametrize(
    ("text", "impact"),
    [
        ("Actions is experiencing degraded performance.", "minor"),
        ("We are seeing elevated error rates.", "minor"),
        ("We are seeing elevated errors.", "minor"),
        ("Increased latencies for API requests.", "minor"),
        ("Webhook deliveries are delayed.", "minor"),
        ("Some runs see delays.", "minor"),
        ("Pages is experiencing degraded availability.", "major"),
        ("A partial outage of the API.", "major"),
        ("Intermittent network outages.", "major"),
        ("The dashboard is unavailable.", "major"),
        ("Copilot is down for most users.", "major"),
        ("This is a major outage.", "critical"),
        ("Full outage in eu-west-1, delays elsewhere.", "critical"),
        ("Codespaces stuck in the shutting down state.", "unknown"),
        ("This incident has been resolved.", "unknown"),
        ("", "unknown"),
    ],
)
def test_impact_heuristic_reads_the_worst_phrase(text: str, impact: str) -> None:
    assert impact_from_text(text) == impact


def test_impact_heuristic_takes_the_worst_of_several_texts() -> None:
    assert impact_from_text("Resolved.", "Slight delays.", "It was down.") == "major"


# incident.io.


def incidentio_entry(status: str, components: str, *, message: str = "Hi.") -> str:
    """Return an incident.io-style Atom entry with a status and component list."""
    link = f"https://{HOST}//incidents/01KABCDEFGHJKMNPQRSTVWXYZ0"
    summary = (
        f"<b>Status: {status}</b><br/><br/>{message}<br/><br/>"
        f"<b>Affected components</b><ul>{components}</ul>"
    )
    return atom_entry(
        "Errors in the API",
        entry_id=link,
        link=link,
        updated="2026-02-20T22:44:27.567Z",
        summary=summary,
        content=summary,
    )


def test_incidentio_localised_status_is_unknown_and_open() -> None:
    body = atom(incidentio_entry("Resolvido", "<li>API (Operacional)</li>"))

    incident = only_incident(body)

    assert incident.status == "unknown"
    assert incident.is_open
    assert incident.resolved_at is None
    assert incident.impact == "unknown"


@pytest.mark.parametrize(
    ("states", "impact"),
    [
        (("Operational", "Operational"), "none"),
        (("Operational", "Degraded performance"), "minor"),
        (("Partial outage", "Degraded performance"), "major"),
        (("Degraded performance", "Full outage", "Partial outage"), "critical"),
    ],
)
def test_incidentio_worst_component_state_sets_impact(
    states: tuple[str, ...], impact: str
) -> None:
    items = "".join(f"<li>Part {n} ({state})</li>" for n, state in enumerate(states))
    body = atom(incidentio_entry("Investigating", items), generator="incident.io")

    incident = only_incident(body)

    assert incident.impact == impact
    assert incident.components == tuple(f"Part {n}" for n in range(len(states)))


def test_incidentio_resolved_incident_resolves_at_its_update_time() -> None:
    body = atom(incidentio_entry("Resolved", "<li>Chat (Operational)</li>"))

    incident = only_incident(body)

    assert incident.id == "01KABCDEFGHJKMNPQRSTVWXYZ0"
    assert incident.url == f"https://{HOST}/incidents/01KABCDEFGHJKMNPQRSTVWXYZ0"
    assert incident.resolved_at == incident.updated_at
    assert rfc3339(incident.updated_at) == "2026-02-20T22:44:27Z"
    assert incident.started_at is None


@pytest.mark.parametrize(
    ("wording", "status"),
    [
        ("Scheduled", "scheduled"),
        ("In progress", "in_progress"),
        ("Maintenance in progress", "in_progress"),
        ("Completed", "completed"),
    ],
)
def test_incidentio_maintenance_wording_is_maintenance(
    wording: str, status: str
) -> None:
    body = atom(incidentio_entry(wording, "<li>Database (Under maintenance)</li>"))

    incident = only_incident(body)

    assert (incident.kind, incident.status, incident.impact) == (
        "maintenance",
        status,
        "maintenance",
    )


def test_incidentio_component_names_may_hold_parentheses() -> None:
    body = atom(incidentio_entry("Monitoring", "<li>API (EU) (Partial outage)</li>"))

    incident = only_incident(body)

    assert incident.components == ("API (EU)",)
    assert incident.update == "Hi."


# Generic feeds.


def test_entries_sharing_an_incident_link_become_one_incident() -> None:
    link = "https://status.cloud.example.com/incidents/Xy12"
    entries = atom_entry(
        "RESOLVED: Global: Errors in Storage",
        entry_id="tag:status.cloud.example.com,2022:feed:Xy12.u2",
        link=link,
        updated="2026-02-01T12:00:00+00:00",
        summary="<p>The issue is fixed.</p>",
    ) + atom_entry(
        "UPDATE: Global: Errors in Storage",
        entry_id="tag:status.cloud.example.com,2022:feed:Xy12.u1",
        link=link,
        updated="2026-02-01T09:00:00+00:00",
        summary="<p>We see elevated error rates.</p>",
    )

    incident = only_incident(atom(entries))

    assert incident.id == "incidents-Xy12"
    assert incident.title == "RESOLVED: Global: Errors in Storage"
    assert incident.status == "resolved"
    assert incident.update == "The issue is fixed."
    assert rfc3339(incident.started_at) == "2026-02-01T09:00:00Z"
    assert rfc3339(incident.resolved_at) == "2026-02-01T12:00:00Z"
    assert incident.impact == "minor"


def test_entries_linking_the_home_page_stay_separate_by_guid() -> None:
    items = rss_item(
        "Service disruption: Errors in eu-west-1",
        link=f"https://{HOST}/",
        guid=f"https://{HOST}/#ec2-eu-west-1_1700000000",
        pub_date="Tue, 14 Nov 2023 22:13:20 GMT",
    ) + rss_item(
        "Informational message: Billing delays",
        link=f"https://{HOST}/",
        guid=f"https://{HOST}/#billing_1700000100",
        pub_date="Tue, 14 Nov 2023 22:15:00 PST",
    )

    incidents = parse_feed(rss(items), now=NOW)

    assert [i.id for i in incidents] == [
        "ec2-eu-west-1_1700000000",
        "billing_1700000100",
    ]
    assert rfc3339(incidents[1].started_at) == "2023-11-15T06:15:00Z"


@pytest.mark.parametrize(
    ("title", "status"),
    [
        ("[Resolved] Database Connection Issues", "resolved"),
        ("RESOLVED: Global: Errors", "resolved"),
        ("Resolved: Errors", "resolved"),
        ("Service is operating normally: [RESOLVED] Errors", "resolved"),
        ("Informational message: [RESOLVED] Errors", "resolved"),
        ("[Investigating] Slow builds", "investigating"),
        ("[In progress] Network maintenance", "in_progress"),
        ("UPDATE: Global: Errors", "unknown"),
        ("Informational message: Increased error rates", "unknown"),
        ("Resolved issues with login", "unknown"),
    ],
)
def test_title_prefix_sets_the_generic_status(title: str, status: str) -> None:
    body = rss(rss_item(title, link=f"https://{HOST}/issues/one"))

    assert only_incident(body).status == status


def test_leading_bold_label_sets_the_generic_status() -> None:
    body = rss(
        rss_item(
            "Mail delays",
            link=f"https://{HOST}/notes/mail",
            body="<b>Monitoring</b> \u2014 Mail flows again.<br>"
            "<b>Investigating</b> \u2014 Mail is delayed.",
        )
    )

    incident = only_incident(body)

    assert incident.status == "monitoring"
    assert incident.update == "Mail flows again."


def test_entry_with_no_fields_never_crashes() -> None:
    incident = only_incident(rss("<item></item>"))

    assert incident.title == ""
    assert (incident.started_at, incident.updated_at, incident.resolved_at) == (
        None,
        None,
        None,
    )
    assert incident.id
    assert incident.status == "unknown"


def test_update_text_is_plain_text_and_capped() -> None:
    body = rss(
        rss_item(
            "Long",
            link=f"https://{HOST}/issues/long",
            body="<p>Caf&eacute; &amp; <a href='/x'>bar</a>&nbsp;ok</p>"
            + "<p>word</p>" * 400,
        )
    )

    update = only_incident(body).update

    assert update.startswith("Caf\u00e9 & bar ok word word")
    assert "<" not in update
    assert len(update) <= 1000
    assert update.endswith("\u2026")


def test_duplicate_entries_keep_the_most_recently_updated() -> None:
    older = atom_entry(
        "Old name",
        link=f"https://{HOST}/incidents/dup000000001",
        entry_id=f"tag:{HOST},2005:Incident/1",
        updated="2026-02-01T09:00:00Z",
        content=paragraph("Feb 1, 09:00 UTC", "Investigating", "Looking."),
    )
    newer = older.replace("Old name", "New name").replace("09:00:00Z", "10:00:00Z")

    incident = only_incident(atom(older + newer))

    assert incident.title == "New name"


def test_entity_declaration_hidden_in_a_quoted_literal_is_refused() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE feed SYSTEM "><feed>" '
        b'[<!ENTITY x "EXPANDED">]><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<entry><id>a</id><title>&x;</title></entry></feed>"
    )
    with pytest.raises(FeedParseError):
        parse_feed(body, now=NOW)


def test_utf7_documents_are_refused() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-7"?>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>'
    )
    with pytest.raises(FeedParseError, match="UTF-7"):
        parse_feed(body, now=NOW)
    plain = b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>'
    with pytest.raises(FeedParseError, match="UTF-7"):
        parse_feed(plain, content_type="application/atom+xml; charset=utf-7", now=NOW)


def test_entries_lost_to_a_wrong_charset_are_a_parse_failure() -> None:
    body = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b"<title>x</title><entry><id>tag:x,2005:Incident/1</id>"
        b"<title>Outage</title><updated>2026-01-01T00:00:00Z</updated>"
        b"</entry></feed>"
    )
    assert len(parse_feed(body, now=NOW)) == 1
    lying = "application/atom+xml; charset=utf-16"
    try:
        read: int | None = len(parse_feed(body, content_type=lying, now=NOW))
    except FeedParseError:
        read = None
    # A failure, or the entry read despite the lie; never "no incidents".
    assert read in (None, 1)


def test_huge_titles_and_ids_are_cut_to_label_sizes() -> None:
    title = "Outage " * 100_000
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
        f"<item><title>{title}</title><guid>{'g' * 5000}</guid>"
        "<pubDate>Thu, 01 Jan 2026 00:00:00 GMT</pubDate></item>"
        "</channel></rss>"
    ).encode()
    (incident,) = parse_feed(body, now=NOW)
    assert len(incident.title) <= 300
    assert len(incident.id) <= 128


def test_maintenance_starts_at_its_window_then_when_it_began() -> None:
    from tests.feeds import ScriptedIncident, statuspage_atom, utc

    window = (utc("2026-01-20T02:00:00"), utc("2026-01-20T04:00:00"))
    work = ScriptedIncident("mnt1", "Database upgrade", scheduled_for=window).post(
        "Scheduled", "We will upgrade the database.", utc("2026-01-10T09:00:00")
    )
    (upcoming,) = parse_feed(statuspage_atom([work]), now=NOW)
    assert (upcoming.status, upcoming.started_at) == ("scheduled", window[0])
    work.post("In progress", "Upgrade under way.", utc("2026-01-20T02:03:00"))
    (running,) = parse_feed(statuspage_atom([work]), now=NOW)
    assert running.status == "in_progress"
    assert running.started_at == utc("2026-01-20T02:03:00")


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00Z", "1969-07-20T20:17:00Z"]
)
def test_implausible_times_are_unknown_not_a_crash(moment: str) -> None:
    body = statuspage_feed(
        paragraph("Feb 1, 10:00 UTC", "Investigating", "Errors."), published=moment
    )
    found = only_incident(body)
    assert found.updated_at is None or found.updated_at.year == 2026
    assert found.status == "investigating"


def test_history_paragraph_with_an_implausible_year_has_no_time() -> None:
    markup = (
        "<p><small>Feb 1, 9999, 10:00 UTC</small><br><strong>Investigating</strong>"
        " - Errors.</p>"
    )
    found = only_incident(statuspage_feed(markup))
    assert found.status == "investigating" and found.started_at is None


def test_meridiem_and_zone_after_a_history_time_are_read() -> None:
    markup = (
        "<p><small>Feb 1, 3:05  PM   PST </small><br><strong> Identified </strong>"
        " - Found it.</p>"
    )
    found = only_incident(statuspage_feed(markup))
    assert found.status == "identified"
    assert rfc3339(found.started_at) == "2026-02-01T23:05:00Z"


def test_every_year_is_written_so_that_it_reads_back() -> None:
    moment = datetime(1, 1, 1, tzinfo=timezone.utc)
    assert rfc3339(moment) == "0001-01-01T00:00:00Z"


def test_incident_keeps_its_id_when_another_entry_shares_its_last_segment() -> None:
    incident = rss_item(
        "[Investigating] API errors", link="https://g.example.test/incidents/123",
        pub_date="Sun, 01 Mar 2026 10:00:00 GMT", body="Errors.",
    )  # fmt: skip
    notice = rss_item(
        "Planned work", link="https://g.example.test/notices/123",
        pub_date="Sun, 01 Mar 2026 11:00:00 GMT", body="Later.",
    )  # fmt: skip
    alone = parse_feed(rss(incident), now=NOW)
    together = parse_feed(rss(notice + incident), now=NOW)
    assert [i.id for i in alone] == ["incidents-123"]
    ids = {i.title: i.id for i in together}
    assert ids == {
        "[Investigating] API errors": "incidents-123",
        "Planned work": "notices-123",
    }


def test_a_feed_of_thousands_of_entries_keeps_the_newest_thousand() -> None:
    items = "".join(
        rss_item(
            f"[Investigating] Outage {n}",
            link=f"https://g.example.test/i/{n}",
            pub_date="Sun, 01 Mar 2026 10:00:00 GMT",
            body="Down.",
        )
        for n in range(1500)
    )
    found = parse_feed(rss(items), now=NOW)
    assert len(found) == 1000
    assert found[0].id == "i-0" and found[-1].id == "i-999"


def test_feed_root_of_another_vocabulary_is_not_a_feed() -> None:
    body = b'<x:feed xmlns:x="urn:example:not-atom"><x:entry/></x:feed>'
    with pytest.raises(NotAFeedError, match="not Atom or RSS"):
        parse_feed(body, now=NOW)


def test_prefixed_atom_root_is_a_feed() -> None:
    body = (
        b'<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:title>x</a:title></a:feed>'
    )
    assert parse_feed(body, now=NOW) == []


def test_control_characters_never_reach_titles_or_update_text() -> None:
    item = rss_item(
        "[Investigating] API &#27;]0;pwned&#7; \u202eerrors\u202c",
        link="https://g.example.test/i/1",
        pub_date="Sun, 01 Mar 2026 10:00:00 GMT",
        body="Down\x1b[2J now\u2028 for \u200d\U0001f9d1\u200d\U0001f4bb users.",
    )
    (found,) = parse_feed(rss(item), now=NOW)
    acting = set(map(chr, [*range(32), *range(127, 160)])) | set("\u202e\u202c\u2028")
    for text in (found.title, found.update):
        assert not acting & set(text), text
    assert "pwned" in found.title and "errors" in found.title
    assert "\u200d\U0001f9d1\u200d" in found.update  # joiners stay: emoji need them


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("/incidents/123.html", "/notices/123.html"),
        ("/us/incidents/123", "/eu/incidents/123"),
    ],
)
def test_links_that_end_alike_give_ids_that_do_not_depend_on_each_other(
    first: str, second: str
) -> None:
    def item(path: str, title: str) -> str:
        return rss_item(
            f"[Investigating] {title}", link=f"https://g.example.test{path}",
            pub_date="Sun, 01 Mar 2026 10:00:00 GMT", body="Down.",
        )  # fmt: skip

    alone = {i.title: i.id for i in parse_feed(rss(item(first, "A")), now=NOW)}
    both = parse_feed(rss(item(second, "B") + item(first, "A")), now=NOW)
    ids = {i.title: i.id for i in both}
    assert ids["[Investigating] A"] == alone["[Investigating] A"]
    assert len(set(ids.values())) == 2
    assert all(not i.startswith("h") for i in ids.values())  # readable, not hashes
