"""End to end: a vendor's feed changes and Slack or PagerDuty hears about it.

Everything runs on loopback: the scripted feed server, `status-page-exporter
serve`, the real `prometheus` with the shipped rule file, the real
`prometheus-alertmanager` with the shipped `alertmanager.yml` (only receiver URLs,
key files and group timing changed) and a receiver that records every Slack- and
PagerDuty-shaped request. Intervals are one second, so a change takes seconds.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.exporterproc import ExporterProcess, free_port, write_config
from tests.feeds import ScriptedIncident, statuspage_atom
from tests.feedserver import Failure, FeedServer, wait_until
from tests.receiver import PagerDutyEvent, RecordingReceiver

ALERTS = Path(__file__).resolve().parent.parent / "alerts"
RULES = ALERTS / "statuspage-rules.yml"
ALERTMANAGER_CONFIG = ALERTS / "alertmanager.yml"

# How long to wait for a notification that must come.
DELIVERY = 30.0
# Upper bound on a measured feed change to notification: the four one-second waits
# allow 1-4 s; the rest is room for a loaded machine.
LATENCY_BOUND = 10.0
# The report property under which tests/conftest.py finds the measured times.
LATENCY_PROPERTY = "feed_change_to_receiver_seconds"
# How long to watch for a notification that must not come: several rounds of every
# step (poll, scrape, evaluation, resend to Alertmanager, group interval).
QUIET = 6.0

PROVIDERS: dict[str, dict[str, str]] = {
    "acme-payments": {"tier": "critical", "team": "payments"},
    "acme-search": {"tier": "critical"},
    "docs-host": {"tier": "standard"},
    "acme-db": {"tier": "critical"},
    "flaky-cdn": {"tier": "critical"},
    "acme-auth": {"tier": "critical"},
}


def feed_path(provider: str) -> str:
    """Return where the feed server serves a provider's history."""
    return f"{provider}/history.atom"


class UpdateClock:
    """Hand out update times to the second, as feeds write them, each one later
    than the last, so that the newest update of an incident is never ambiguous."""

    def __init__(self) -> None:
        self.last = datetime.min.replace(tzinfo=timezone.utc)

    def now(self) -> datetime:
        """Return the current second, or the second after the last one handed out."""
        current = datetime.now(timezone.utc).replace(microsecond=0)
        self.last = max(current, self.last + timedelta(seconds=1))
        return self.last


now = UpdateClock().now


def binary(name: str) -> str:
    """Return the path of a required binary; fail (never skip) when missing."""
    path = shutil.which(name)
    assert path, f"{name} is not installed (Debian package; CI installs it)"
    return path


def get_json(url: str) -> Any:
    """GET a URL and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def hold_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Fail as soon as `condition` stops holding within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert condition(), f"{what} stopped holding"
        time.sleep(0.1)


class Service:
    """A Prometheus-project binary on a free loopback port, logging to a file."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Return the service's HTTP root."""
        return f"http://127.0.0.1:{self.port}"

    def run(self, command: list[str]) -> None:
        """Start `command` and wait until the service answers /-/ready."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self._ready, 30, f"{self.name} /-/ready")

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited:\n{self.log.read_text()}")
        try:
            with urllib.request.urlopen(self.base_url + "/-/ready", timeout=2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """Terminate the service and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


class Alertmanager(Service):
    """`prometheus-alertmanager` with a test copy of the shipped configuration."""

    def start(self, receiver: RecordingReceiver) -> Alertmanager:
        """Write the test configuration and start without clustering."""
        config = self.workdir / "alertmanager.yml"
        shipped = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
        test_config = alertmanager_test_config(shipped, receiver, self.workdir)
        config.write_text(yaml.safe_dump(test_config))
        self.run(
            [
                binary("prometheus-alertmanager"),
                f"--config.file={config}",
                f"--storage.path={self.workdir / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ]
        )
        return self

    def alerts(self, provider: str) -> list[dict[str, Any]]:
        """Return the alerts Alertmanager holds for a provider."""
        query = urllib.parse.urlencode({"filter": f'provider="{provider}"'})
        return list(get_json(f"{self.base_url}/api/v2/alerts?{query}"))


def alertmanager_test_config(
    shipped: dict[str, Any], receiver: RecordingReceiver, secrets: Path
) -> dict[str, Any]:
    """Point the shipped receivers at `receiver` and shorten the group timing."""
    config = copy.deepcopy(shipped)
    config["templates"] = [str(ALERTS / glob) for glob in shipped["templates"]]
    shorten_group_timing(config["route"])
    slack_url = secrets / "slack-webhook-url"
    slack_url.write_text(receiver.url("/slack") + "\n")
    routing_key = secrets / "pagerduty-routing-key"
    routing_key.write_text("0123456789abcdef0123456789abcdef\n")
    for entry in config["receivers"]:
        for slack in entry.get("slack_configs", []):
            slack["api_url_file"] = str(slack_url)
        for pagerduty in entry.get("pagerduty_configs", []):
            pagerduty["routing_key_file"] = str(routing_key)
            pagerduty["url"] = receiver.url("/v2/enqueue")
    return config


def shorten_group_timing(route: dict[str, Any]) -> None:
    """Set group_wait and group_interval to one second in a whole routing tree."""
    route["group_wait"] = "1s"
    route["group_interval"] = "1s"
    for child in route.get("routes", []):
        for key in ("group_wait", "group_interval"):
            if key in child:
                child[key] = "1s"
        for grandchild in child.get("routes", []):
            shorten_group_timing(grandchild)


class Prometheus(Service):
    """`prometheus` scraping the exporter and evaluating the shipped rules."""

    def start(self, exporter_port: int, alertmanager_port: int) -> Prometheus:
        """Write a one-second configuration and start."""
        config = self.workdir / "prometheus.yml"
        config.write_text(prometheus_config(exporter_port, alertmanager_port))
        self.run(
            [
                binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # Annotation updates reach Alertmanager within seconds, so the test
                # can show that they do not page again.
                "--rules.alert.resend-delay=2s",
            ]
        )
        return self

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Evaluate an instant query and return its result vector."""
        query = urllib.parse.urlencode({"query": expr})
        answer = get_json(f"{self.base_url}/api/v1/query?{query}")
        return list(answer["data"]["result"])

    def firing(self, alertname: str, provider: str) -> list[dict[str, Any]]:
        """Return the firing alerts of one name and provider."""
        alerts = get_json(f"{self.base_url}/api/v1/alerts")["data"]["alerts"]
        return [
            alert
            for alert in alerts
            if alert["labels"].get("alertname") == alertname
            and alert["labels"].get("provider") == provider
            and alert["state"] == "firing"
        ]


def prometheus_config(exporter_port: int, alertmanager_port: int) -> str:
    """Return a Prometheus configuration with one-second scrapes and evaluations."""
    config = {
        "global": {
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "evaluation_interval": "1s",
        },
        "rule_files": [str(RULES)],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}
            ]
        },
        "scrape_configs": [
            {
                "job_name": "statuspage",
                "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"]}],
            }
        ],
    }
    return yaml.safe_dump(config)


@dataclasses.dataclass
class Stack:
    """Feeds, exporter, Prometheus, Alertmanager and receiver, all running."""

    workdir: Path
    config: Path
    feeds: FeedServer
    receiver: RecordingReceiver
    exporter: ExporterProcess
    alertmanager: Alertmanager
    prometheus: Prometheus
    latencies: list[tuple[str, float]] = dataclasses.field(default_factory=list)

    def publish(self, provider: str, *incidents: ScriptedIncident) -> float:
        """Serve a provider's new history and return when it changed."""
        body = statuspage_atom(list(incidents), host=f"status.{provider}.test")
        changed = time.time()
        self.feeds.publish(feed_path(provider), body)
        return changed

    def note_latency(self, what: str, changed: float, arrived: float) -> None:
        """Keep the time from a feed change to the receiver's request."""
        seconds = arrived - changed
        self.latencies.append((what, seconds))
        assert seconds < LATENCY_BOUND, f"{what} took {seconds:.2f}s"

    def restart_exporter(self) -> None:
        """Stop the exporter, let Prometheus miss it, start it on the same port."""
        port = self.exporter.port
        self.exporter.stop()
        wait_until(
            lambda: self.prometheus.query('up{job="statuspage"} == 0') != [],
            DELIVERY,
            "Prometheus to see the exporter down",
        )
        self.exporter = ExporterProcess(self.workdir, self.config)
        self.exporter.port = port
        self.exporter.start()

    def stop(self) -> None:
        """Stop every part, last started first."""
        self.prometheus.stop()
        self.alertmanager.stop()
        self.exporter.stop()
        self.receiver.stop()
        self.feeds.stop()


def start_stack(workdir: Path) -> Stack:
    """Publish empty histories and start every part of the chain."""
    feeds = FeedServer().start()
    for provider in PROVIDERS:
        feeds.publish(feed_path(provider), statuspage_atom([]))
    providers: dict[str, dict[str, object]] = {
        name: {"url": feeds.url(feed_path(name)), "interval": "1s", "labels": labels}
        for name, labels in PROVIDERS.items()
    }
    config = write_config(workdir / "providers.yaml", providers)
    receiver = RecordingReceiver().start()
    exporter = ExporterProcess(workdir, config).start()
    alertmanager = Alertmanager("alertmanager", workdir).start(receiver)
    prometheus = Prometheus("prometheus", workdir).start(
        exporter.port, alertmanager.port
    )
    return Stack(workdir, config, feeds, receiver, exporter, alertmanager, prometheus)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Run the whole chain once for every test of this module."""
    running = start_stack(tmp_path_factory.mktemp("alerting"))
    try:
        wait_until(
            lambda: running.prometheus.query("statuspage_up == 1") != [],
            DELIVERY,
            "the first scrape of a polled provider",
        )
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def report_latencies(
    stack: Stack, record_property: Callable[[str, object], None]
) -> Iterator[None]:
    """Attach the times a test measured to its report; the summary prints them."""
    before = len(stack.latencies)
    yield
    for what, seconds in stack.latencies[before:]:
        record_property(LATENCY_PROPERTY, (what, seconds))


def major_incident(code: str, title: str, number: int) -> ScriptedIncident:
    """Return an incident whose first update reads as major impact."""
    return ScriptedIncident(code, title, number=number).post(
        "Investigating",
        "We are investigating degraded availability of this service.",
        now(),
    )


def page_once(
    stack: Stack, provider: str, incident: ScriptedIncident
) -> PagerDutyEvent:
    """Publish a major incident, wait for its page and return the trigger."""
    changed = stack.publish(provider, incident)
    trigger = stack.receiver.wait_for_page(provider, "trigger", DELIVERY)
    stack.note_latency(f"{provider} page", changed, trigger.at)
    return trigger


def incident_alert(stack: Stack, provider: str) -> dict[str, Any]:
    """Wait for the provider's one firing incident alert in Prometheus."""
    wait_until(
        lambda: stack.prometheus.firing("StatuspageVendorIncident", provider) != [],
        DELIVERY,
        f"the incident alert of {provider} in Prometheus",
    )
    [alert] = stack.prometheus.firing("StatuspageVendorIncident", provider)
    return alert


# -- the tests ---------------------------------------------------------------------


def test_major_incident_at_critical_vendor_pages_once_until_it_resolves(
    stack: Stack,
) -> None:
    incident = major_incident("k3x9", "Card payments failing", 101)
    changed = stack.publish("acme-payments", incident)
    trigger = stack.receiver.wait_for_page("acme-payments", "trigger", DELIVERY)
    chat = stack.receiver.wait_for_chat("Card payments failing", timeout=DELIVERY)
    stack.note_latency("acme-payments page", changed, trigger.at)
    stack.note_latency("acme-payments chat", changed, chat.at)
    assert trigger.dedup_key
    assert "Card payments failing" in trigger.summary
    assert trigger.links[0]["href"].endswith("/incidents/k3x9")
    assert "Impact: major" in chat.text
    assert "status.acme-payments.test/incidents/k3x9" in chat.text

    update_without_a_new_page(stack, "acme-payments", incident)

    resolve = resolve_and_wait_for_page(stack, "acme-payments", incident)
    assert resolve.dedup_key == trigger.dedup_key
    stack.receiver.wait_for_chat("Card payments failing", True, DELIVERY)
    actions = [event.action for event in stack.receiver.pages_for("acme-payments")]
    assert actions == ["trigger", "resolve"]


def update_without_a_new_page(
    stack: Stack, provider: str, incident: ScriptedIncident
) -> None:
    """Post an update, wait until Alertmanager has it, and see nothing sent."""
    incident.post("Identified", "The cause of the outage is identified.", now())
    stack.publish(provider, incident)
    wait_until(
        lambda: annotation(stack, provider, "status") == "identified",
        DELIVERY,
        "Alertmanager to hold the updated status",
    )
    hold_for(
        lambda: len(stack.receiver.pages_for(provider)) == 1,
        QUIET,
        "a single page for the updated incident",
    )
    assert len(stack.receiver.chat_mentioning(incident.title)) == 1


def annotation(stack: Stack, provider: str, name: str) -> str | None:
    """Return an annotation of the provider's alert as Alertmanager holds it."""
    alerts = stack.alertmanager.alerts(provider)
    return alerts[0]["annotations"].get(name) if alerts else None


def resolve_and_wait_for_page(
    stack: Stack, provider: str, incident: ScriptedIncident
) -> PagerDutyEvent:
    """Resolve the incident at the vendor and return PagerDuty's resolve event."""
    incident.post("Resolved", "This incident has been resolved.", now())
    changed = stack.publish(provider, incident)
    resolve = stack.receiver.wait_for_page(provider, "resolve", DELIVERY)
    stack.note_latency(f"{provider} resolve", changed, resolve.at)
    return resolve


def test_minor_incident_and_incident_at_standard_vendor_reach_chat_only(
    stack: Stack,
) -> None:
    minor = ScriptedIncident("s1", "Slow search results", number=201).post(
        "Investigating", "We are seeing degraded performance of search.", now()
    )
    changed = stack.publish("acme-search", minor)
    stack.publish("docs-host", major_incident("d1", "Docs site down", 202))

    chat = stack.receiver.wait_for_chat("Slow search results", timeout=DELIVERY)
    stack.note_latency("acme-search chat", changed, chat.at)
    stack.receiver.wait_for_chat("Docs site down", timeout=DELIVERY)
    hold_for(
        lambda: (
            not (
                stack.receiver.pages_for("acme-search")
                or stack.receiver.pages_for("docs-host")
            )
        ),
        QUIET,
        "no page for a minor incident or a vendor of standard tier",
    )


def test_maintenance_posts_to_chat_when_it_starts_and_never_pages(
    stack: Stack,
) -> None:
    start = now()
    maintenance = ScriptedIncident(
        "m5", "Database upgrade", number=301,
        scheduled_for=(start, start + timedelta(hours=1)),
    ).post("Scheduled", "We will upgrade the primary database.", start)  # fmt: skip
    stack.publish("acme-db", maintenance)
    wait_until(
        lambda: (
            stack.prometheus.query(
                'statuspage_incident_info{provider="acme-db",status="scheduled"}'
            )
            != []
        ),
        DELIVERY,
        "Prometheus to see the scheduled maintenance",
    )
    hold_for(
        lambda: (
            not stack.receiver.chat_mentioning("Database upgrade")
            and not stack.alertmanager.alerts("acme-db")
        ),
        QUIET,
        "silence while the maintenance is only scheduled",
    )

    maintenance.post("In progress", "The upgrade is under way.", now())
    started = stack.publish("acme-db", maintenance)
    chat = stack.receiver.wait_for_chat("Database upgrade", timeout=DELIVERY)
    stack.note_latency("acme-db maintenance chat", started, chat.at)
    maintenance.post("Completed", "The upgrade is complete.", now())
    stack.publish("acme-db", maintenance)
    stack.receiver.wait_for_chat("Database upgrade", True, DELIVERY)
    assert stack.receiver.pages_for("acme-db") == []


def test_failing_feed_warns_while_the_incident_alert_keeps_firing(
    stack: Stack,
) -> None:
    trigger = page_once(stack, "flaky-cdn", major_incident("f1", "CDN outage", 401))
    firing = incident_alert(stack, "flaky-cdn")

    stack.feeds.fail_always(feed_path("flaky-cdn"), Failure(500))
    try:
        stack.receiver.wait_for_chat(
            "Cannot read the status feed of flaky-cdn", timeout=120
        )
        assert incident_alert(stack, "flaky-cdn")["activeAt"] == firing["activeAt"]
        assert stack.receiver.pages_for("flaky-cdn") == [trigger]
        assert not any(
            m.resolved_only for m in stack.receiver.chat_mentioning("CDN outage")
        )
    finally:
        stack.feeds.fail_always(feed_path("flaky-cdn"), None)


def test_exporter_restart_during_an_incident_sends_nothing_new(stack: Stack) -> None:
    trigger = page_once(stack, "acme-auth", major_incident("a1", "Logins failing", 501))
    chat = stack.receiver.wait_for_chat("Logins failing", timeout=DELIVERY)
    firing = incident_alert(stack, "acme-auth")

    stack.restart_exporter()
    wait_until(
        lambda: (
            stack.prometheus.query(
                'statuspage_incident_info{provider="acme-auth"}'
                ' and on () up{job="statuspage"} == 1'
            )
            != []
        ),
        DELIVERY,
        "Prometheus to scrape the restarted exporter's incident",
    )
    hold_for(
        lambda: (
            stack.receiver.pages_for("acme-auth") == [trigger]
            and stack.receiver.chat_mentioning("Logins failing") == [chat]
        ),
        QUIET,
        "the single page and chat message across the restart",
    )
    assert incident_alert(stack, "acme-auth")["activeAt"] == firing["activeAt"]
