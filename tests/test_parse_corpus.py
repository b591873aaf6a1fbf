"""Parse every file of the real feed corpus and check the incidents it yields."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from exporter.errors import FeedParseError, NotAFeedError
from exporter.model import IMPACTS, KINDS, STATUSES, Incident, rfc3339
from exporter.parse import parse_feed
from tests.corpus import CORPUS, corpus_file

pytestmark = pytest.mark.corpus

NOW = datetime(2026, 10, 1, tzinfo=timezone.utc)

NO_COMPONENTS: tuple[str, ...] = ()

# One row per incident, in feed order:
# id, kind, status, impact, started_at, updated_at, resolved_at, components.
EXPECTED: dict[str, list[tuple[object, ...]]] = {
    "statuspage-history-github-2022-03-16.rss": [
        ("fpk08rxnqjz2", "incident", "resolved", "minor",
         "2022-03-16T14:09:00Z", "2022-03-16T19:46:00Z", "2022-03-16T19:46:00Z",
         ("Issues", "Webhooks", "GitHub Actions", "Codespaces")),
        ("xdzs70gjthls", "incident", "resolved", "major",
         "2022-03-09T11:24:00Z", "2022-03-09T17:45:00Z", "2022-03-09T17:45:00Z",
         ("Slack Integration",)),
        ("416ft5p3mr89", "incident", "resolved", "minor",
         "2022-03-04T15:30:00Z", "2022-03-04T16:37:00Z", "2022-03-04T16:37:00Z",
         ("Pull Requests",)),
        ("r62rpxrk3ytj", "incident", "resolved", "minor",
         "2022-02-17T00:53:00Z", "2022-02-17T02:30:00Z", "2022-02-17T02:30:00Z",
         ("Codespaces",)),
        ("3pwsvtkmmp3k", "incident", "resolved", "minor",
         "2022-02-16T01:54:00Z", "2022-02-16T05:12:00Z", "2022-02-16T05:12:00Z",
         ("Codespaces",)),
    ],
    "statuspage-history-github-2024-07-29-stale-investigating.atom": [
        ("q1yjht6mt3zn", "incident", "resolved", "unknown",
         "2024-07-25T21:04:00Z", "2024-07-25T21:05:02Z", "2024-07-25T21:05:00Z",
         NO_COMPONENTS),
        ("n2969465tx0b", "incident", "resolved", "minor",
         "2024-07-25T18:44:00Z", "2024-07-26T21:54:08Z", "2024-07-25T19:20:00Z",
         NO_COMPONENTS),
        ("4s161kygs873", "incident", "resolved", "unknown",
         "2024-07-23T21:40:00Z", "2024-07-23T22:38:34Z", "2024-07-23T22:38:00Z",
         NO_COMPONENTS),
        ("9rrqvvf23fhc", "incident", "resolved", "minor",
         "2024-07-19T02:10:00Z", "2024-07-19T04:47:22Z", "2024-07-19T04:47:00Z",
         ("Codespaces",)),
        ("k8nz2ljtvzv4", "incident", "investigating", "minor",
         "2024-05-28T20:17:00Z", "2024-07-18T15:35:52Z", None,
         ("Codespaces",)),
    ],
    "statuspage-history-github-2025-05-23-upcoming-maintenance.atom": [
        ("67vdd3b7d1zq", "maintenance", "scheduled", "maintenance",
         "2025-05-28T16:30:00Z", "2025-05-22T15:26:24Z", None,
         NO_COMPONENTS),
        ("cbdzqm5fw0fm", "incident", "resolved", "minor",
         "2025-05-22T07:42:00Z", "2025-05-22T09:17:56Z", "2025-05-22T09:17:00Z",
         ("Actions",)),
        ("89gkzpf9fc20", "incident", "resolved", "unknown",
         "2025-05-21T09:00:00Z", "2025-05-21T14:48:28Z", "2025-05-21T09:00:00Z",
         NO_COMPONENTS),
        ("d3nnz2ckp2f7", "incident", "resolved", "major",
         "2025-05-20T19:37:00Z", "2025-05-20T20:02:01Z", "2025-05-20T20:02:00Z",
         ("Copilot",)),
        ("rkkhrht3j3y3", "incident", "resolved", "major",
         "2025-05-20T13:10:00Z", "2025-05-20T16:08:36Z", "2025-05-20T16:08:00Z",
         ("Copilot",)),
    ],
    "statuspage-history-github-2025-05-29-maintenance-in-progress.atom": [
        ("67vdd3b7d1zq", "maintenance", "in_progress", "maintenance",
         "2025-05-28T16:30:00Z", "2025-05-28T16:30:22Z", None,
         NO_COMPONENTS),
        ("l5jqk83qnfzd", "incident", "resolved", "minor",
         "2025-05-28T11:11:00Z", "2025-05-28T14:43:08Z", "2025-05-28T14:43:00Z",
         ("Actions",)),
        ("9hzy25gws8vh", "incident", "resolved", "minor",
         "2025-05-27T12:26:00Z", "2025-05-27T13:31:59Z", "2025-05-27T13:31:00Z",
         ("Actions",)),
        ("2fk03fzv6zk0", "incident", "resolved", "unknown",
         "2025-05-27T12:20:00Z", "2025-05-27T12:41:24Z", "2025-05-27T12:41:00Z",
         NO_COMPONENTS),
        ("tyjjp463pg91", "incident", "resolved", "unknown",
         "2025-05-27T10:00:00Z", "2025-05-27T21:53:03Z", "2025-05-27T10:00:00Z",
         NO_COMPONENTS),
    ],
    "statuspage-history-github-2025-09-14-seq1-open.atom": [
        ("n3vgjzqv7d18", "incident", "investigating", "major",
         "2025-09-13T12:44:00Z", "2025-09-13T22:39:11Z", None,
         NO_COMPONENTS),
        ("s9t1dgymd4v9", "incident", "resolved", "minor",
         "2025-09-10T13:23:00Z", "2025-09-10T14:02:41Z", "2025-09-10T14:02:00Z",
         ("Actions",)),
        ("mdj41rgqwjx5", "incident", "resolved", "minor",
         "2025-09-04T18:16:00Z", "2025-09-09T16:08:32Z", "2025-09-04T20:25:00Z",
         ("API Requests",)),
        ("mj067hg9slb4", "incident", "resolved", "minor",
         "2025-09-02T15:17:00Z", "2025-09-10T13:16:15Z", "2025-09-02T15:44:00Z",
         NO_COMPONENTS),
    ],
    "statuspage-history-github-2025-09-16-seq2-resolved.atom": [
        ("n3vgjzqv7d18", "incident", "resolved", "major",
         "2025-09-13T12:44:00Z", "2025-09-15T21:01:03Z", "2025-09-15T21:01:00Z",
         NO_COMPONENTS),
        ("ffh1r1w0hj6h", "incident", "resolved", "unknown",
         "2025-09-15T18:21:00Z", "2025-09-15T18:28:36Z", "2025-09-15T18:28:00Z",
         NO_COMPONENTS),
        ("s9t1dgymd4v9", "incident", "resolved", "minor",
         "2025-09-10T13:23:00Z", "2025-09-10T14:02:41Z", "2025-09-10T14:02:00Z",
         ("Actions",)),
        ("mdj41rgqwjx5", "incident", "resolved", "minor",
         "2025-09-04T18:16:00Z", "2025-09-09T16:08:32Z", "2025-09-04T20:25:00Z",
         ("API Requests",)),
    ],
    "statuspage-history-github-2025-09-19-seq3-edited-after-resolve.atom": [
        ("rdzg3x1qwtb3", "incident", "resolved", "major",
         "2025-09-17T15:04:00Z", "2025-09-17T17:55:39Z", "2025-09-17T17:55:00Z",
         ("Codespaces",)),
        ("nh22ywy9dh84", "incident", "resolved", "minor",
         "2025-09-16T17:55:00Z", "2025-09-16T18:30:09Z", "2025-09-16T18:30:00Z",
         ("Git Operations",)),
        ("3kjv06tdxxfn", "incident", "resolved", "unknown",
         "2025-09-16T17:14:00Z", "2025-09-16T17:45:22Z", "2025-09-16T17:45:00Z",
         NO_COMPONENTS),
        ("n3vgjzqv7d18", "incident", "resolved", "major",
         "2025-09-13T12:44:00Z", "2025-09-18T18:29:33Z", "2025-09-15T21:01:00Z",
         NO_COMPONENTS),
    ],
    "statuspage-history-github-2026-07-09-open-incident.atom": [
        ("cstx3v63mklm", "incident", "investigating", "minor",
         "2026-07-09T04:34:00Z", "2026-07-09T06:01:43Z", None,
         ("Actions",)),
        ("fz9sdc2q008p", "incident", "resolved", "major",
         "2026-07-07T14:14:00Z", "2026-07-07T16:17:17Z", "2026-07-07T16:17:00Z",
         ("Actions", "Codespaces")),
        ("5bnwwg9tzd4q", "incident", "resolved", "minor",
         "2026-07-02T16:54:00Z", "2026-07-07T22:06:42Z", "2026-07-02T18:25:00Z",
         ("Pages",)),
        ("rl7f90w0n0gq", "incident", "resolved", "minor",
         "2026-07-01T10:51:00Z", "2026-07-06T18:56:24Z", "2026-07-01T13:26:00Z",
         ("Copilot",)),
        ("mc4yx9f8x1hk", "incident", "resolved", "unknown",
         "2026-06-30T15:38:00Z", "2026-07-06T16:50:18Z", "2026-06-30T15:49:00Z",
         NO_COMPONENTS),
    ],
    "incidentio-openai-feed-2026-01.rss": [
        ("01KEDRBQ2A3Y9JJ7G3F3YM4KT3", "incident", "resolved", "none",
         None, "2026-01-08T02:45:00Z", "2026-01-08T02:45:00Z",
         ("Images",)),
    ],
    "incidentio-openai-feed-2026-02-22.atom": [
        ("01KHYH2KT8VNWS146V0S09MF29", "incident", "resolved", "none",
         None, "2026-02-20T22:44:27Z", "2026-02-20T22:44:27Z",
         ("Conversations",)),
        ("01KHRP7P1JF885BYA8SDWBDBR1", "incident", "resolved", "none",
         None, "2026-02-18T16:40:22Z", "2026-02-18T16:40:22Z",
         ("Video generation",)),
    ],
    "cstate-torproject-index-2022-06-09.xml": [
        ("2022-06-09-network-ddos", "incident", "unknown", "unknown",
         "2022-06-09T14:00:00Z", "2022-06-09T14:00:00Z", None,
         NO_COMPONENTS),
        ("2022-01-25-routing-issues", "incident", "resolved", "major",
         "2022-01-25T06:00:00Z", "2022-01-27T18:58:00Z", "2022-01-27T18:58:00Z",
         NO_COMPONENTS),
        ("2021-06-05-metris-website", "incident", "resolved", "unknown",
         "2021-06-03T08:00:00Z", "2021-06-14T16:00:00Z", "2021-06-14T16:00:00Z",
         NO_COMPONENTS),
    ],
    "lambstatus-demo-history.rss": [
        ("7pEQuSc083Rv", "maintenance", "scheduled", "maintenance",
         "2017-05-13T06:45:00Z", "2017-05-13T06:45:00Z", None,
         NO_COMPONENTS),
        ("bqoDstalneID", "incident", "monitoring", "unknown",
         "2017-05-13T06:41:00Z", "2017-05-13T06:50:00Z", None,
         NO_COMPONENTS),
        ("A8fMkUJ4fiuQ", "incident", "resolved", "minor",
         "2017-05-13T06:40:00Z", "2017-05-13T06:41:00Z", "2017-05-13T06:41:00Z",
         NO_COMPONENTS),
    ],
    "custom-datocms-history-2026-09-30.atom": [
        ("2026-09-27-issues-sending-emails-to-customers", "incident", "resolved",
         "unknown", None, "2026-09-30T16:43:20Z", "2026-09-30T16:43:20Z",
         NO_COMPONENTS),
        ("2026-09-19-scheduled-database-maintenance-read-only-mode", "maintenance",
         "completed", "maintenance", None, "2026-09-19T10:38:30Z",
         "2026-09-19T10:38:30Z", NO_COMPONENTS),
        ("2026-08-10-issues-sending-emails-to-customers", "incident", "resolved",
         "unknown", None, "2026-08-17T08:20:34Z", "2026-08-17T08:20:34Z",
         NO_COMPONENTS),
    ],
    "gcp-feed-2022-04-01.atom": [
        ("B1hD4KAtcxiyAWkcANfV", "incident", "resolved", "major",
         None, "2022-04-01T20:13:25Z", "2022-04-01T20:13:25Z",
         NO_COMPONENTS),
    ],
    "aws-all-2023-02-13.rss": [
        ("rds-us-east-1_1676072880", "incident", "resolved", "unknown",
         "2023-02-10T23:48:00Z", "2023-02-10T23:48:00Z", "2023-02-10T23:48:00Z",
         NO_COMPONENTS),
        ("billingconsole_1675376364", "incident", "unknown", "unknown",
         "2023-02-02T22:19:24Z", "2023-02-02T22:19:24Z", None,
         NO_COMPONENTS),
    ],
}  # fmt: skip

# Files in the corpus that are not feeds. The `.rss-item.xml` file is a lone
# <item>, not a document whose root is <rss>: its body is not a feed at all,
# so NotAFeedError is the honest answer (FeedParseError means "a feed we
# cannot read safely or completely").
NOT_FEEDS_SUFFIXES = (".json", ".rss-item.xml")
DOCUMENTATION = {"SOURCES.md"}


def corpus_names() -> list[str]:
    """Return the names of all files in the corpus; fail when it is missing."""
    corpus_file("SOURCES.md")
    return sorted(path.name for path in CORPUS.iterdir() if path.is_file())


def parse_corpus_file(name: str) -> list[Incident]:
    """Parse one corpus feed the way the exporter would."""
    return parse_feed(corpus_file(name), now=NOW)


def by_id(incidents: list[Incident]) -> dict[str, Incident]:
    """Index incidents by id."""
    return {incident.id: incident for incident in incidents}


def as_row(incident: Incident) -> tuple[object, ...]:
    """Return the fields the EXPECTED table lists, times as RFC 3339 text."""
    return (
        incident.id,
        incident.kind,
        incident.status,
        incident.impact,
        rfc3339(incident.started_at),
        rfc3339(incident.updated_at),
        rfc3339(incident.resolved_at),
        incident.components,
    )


def test_corpus_folder_is_present() -> None:
    assert "SOURCES.md" in corpus_names()


def test_every_corpus_file_has_an_expectation() -> None:
    unchecked = [
        name
        for name in corpus_names()
        if name not in EXPECTED
        and name not in DOCUMENTATION
        and not name.endswith(NOT_FEEDS_SUFFIXES)
    ]
    assert unchecked == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_feed_yields_the_expected_incidents(name: str) -> None:
    incidents = parse_corpus_file(name)

    assert [as_row(incident) for incident in incidents] == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_incident_uses_the_model_vocabulary(name: str) -> None:
    for incident in parse_corpus_file(name):
        assert incident.kind in KINDS
        assert incident.status in STATUSES
        assert incident.impact in IMPACTS
        assert incident.url.startswith("http")
        assert incident.title
        assert len(incident.update) <= 1000
        for moment in (incident.started_at, incident.updated_at, incident.resolved_at):
            assert moment is None or moment.tzinfo == timezone.utc


def test_files_that_are_not_feeds_raise_not_a_feed() -> None:
    names = [name for name in corpus_names() if name.endswith(NOT_FEEDS_SUFFIXES)]

    assert len(names) >= 2
    for name in names:
        with pytest.raises(NotAFeedError):
            parse_corpus_file(name)


def test_aws_item_fragment_is_not_a_feed_rather_than_a_broken_one() -> None:
    with pytest.raises(NotAFeedError, match="<item>") as raised:
        parse_corpus_file("aws-sns-item-2022-01-14.rss-item.xml")

    assert not isinstance(raised.value, FeedParseError)


def test_statuspage_rss_ids_are_public_codes_from_the_link() -> None:
    incidents = parse_corpus_file("statuspage-history-github-2022-03-16.rss")

    for incident in incidents:
        assert incident.url == f"https://www.githubstatus.com/incidents/{incident.id}"
        assert len(incident.id) == 12


def test_statuspage_atom_ids_are_public_codes_not_internal_numbers() -> None:
    incidents = parse_corpus_file(
        "statuspage-history-github-2026-07-09-open-incident.atom"
    )

    assert incidents[0].id == "cstx3v63mklm"
    assert not any(incident.id.isdigit() for incident in incidents)
    assert all(incident.url.endswith(f"/{incident.id}") for incident in incidents)


def test_upcoming_maintenance_is_scheduled_and_open() -> None:
    incidents = parse_corpus_file(
        "statuspage-history-github-2025-05-23-upcoming-maintenance.atom"
    )
    maintenance = by_id(incidents)["67vdd3b7d1zq"]

    assert (maintenance.kind, maintenance.status) == ("maintenance", "scheduled")
    assert maintenance.is_open
    assert not maintenance.is_active_maintenance
    assert maintenance.update.startswith("Codespaces will be undergoing")


def test_maintenance_in_progress_is_active() -> None:
    incidents = parse_corpus_file(
        "statuspage-history-github-2025-05-29-maintenance-in-progress.atom"
    )
    maintenance = by_id(incidents)["67vdd3b7d1zq"]

    assert maintenance.status == "in_progress"
    assert maintenance.is_active_maintenance
    assert maintenance.update.startswith("Scheduled maintenance is currently")


def test_open_incident_of_2026_is_open_with_its_latest_update() -> None:
    incidents = parse_corpus_file(
        "statuspage-history-github-2026-07-09-open-incident.atom"
    )
    incident = by_id(incidents)["cstx3v63mklm"]

    assert incident.is_open
    assert incident.resolved_at is None
    assert incident.update == "We are continuing to work on a mitigation."
    assert incident.title == "Delays starting Actions runs"


def test_stale_investigating_incident_of_2024_stays_open() -> None:
    incidents = parse_corpus_file(
        "statuspage-history-github-2024-07-29-stale-investigating.atom"
    )
    incident = by_id(incidents)["k8nz2ljtvzv4"]

    assert incident.status == "investigating"
    assert incident.is_open
    assert incident.resolved_at is None


def test_incident_resolves_and_later_edit_keeps_it_resolved_under_one_id() -> None:
    seq1, seq2, seq3 = (
        by_id(parse_corpus_file(name))["n3vgjzqv7d18"]
        for name in (
            "statuspage-history-github-2025-09-14-seq1-open.atom",
            "statuspage-history-github-2025-09-16-seq2-resolved.atom",
            "statuspage-history-github-2025-09-19-seq3-edited-after-resolve.atom",
        )
    )

    assert seq1.is_open
    assert not seq2.is_open
    assert not seq3.is_open
    assert seq2.resolved_at == seq3.resolved_at
    assert seq1.updated_at and seq2.updated_at and seq3.updated_at
    assert seq1.updated_at < seq2.updated_at < seq3.updated_at
    assert seq1.started_at == seq2.started_at == seq3.started_at


def test_incidentio_url_loses_the_double_slash_and_id_is_the_ulid() -> None:
    incidents = parse_corpus_file("incidentio-openai-feed-2026-02-22.atom")

    assert incidents[0].url == (
        "https://status.openai.com/incidents/01KHYH2KT8VNWS146V0S09MF29"
    )
    assert incidents[0].update == "All impacted services have now fully recovered."
    assert incidents[0].title == "Increased latency in ChatGPT for some users"


def test_lambstatus_paragraphs_keep_their_own_year() -> None:
    incidents = parse_corpus_file("lambstatus-demo-history.rss")

    assert all(
        incident.started_at and incident.started_at.year == 2017
        for incident in incidents
    )


def test_datocms_lookalike_reads_labels_without_per_update_times() -> None:
    incidents = parse_corpus_file("custom-datocms-history-2026-09-30.atom")
    first = incidents[0]

    assert first.update == "The issue has been resolved."
    assert first.started_at is None


def test_cstate_resolved_time_comes_from_the_category() -> None:
    incidents = by_id(parse_corpus_file("cstate-torproject-index-2022-06-09.xml"))

    assert incidents["2022-06-09-network-ddos"].is_open
    assert incidents["2022-01-25-routing-issues"].update.startswith(
        "We are experiencing intermittent network outages"
    )
    assert "We\u2019re" in incidents["2021-06-05-metris-website"].update


def test_aws_items_linking_the_dashboard_are_keyed_by_guid() -> None:
    incidents = parse_corpus_file("aws-all-2023-02-13.rss")

    assert [incident.id for incident in incidents] == [
        "rds-us-east-1_1676072880",
        "billingconsole_1675376364",
    ]
    assert incidents[0].title.startswith("Service is operating normally:")
