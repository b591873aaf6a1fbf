"""Check the shipped alerting files with promtool and amtool, and their conventions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ALERTS = Path(__file__).resolve().parent.parent
ROOT = ALERTS.parent
RULES = ALERTS / "statuspage-rules.yml"
RULE_TESTS = sorted((ALERTS / "tests").glob("*.yml"))
ALERTMANAGER_CONFIG = ALERTS / "alertmanager.yml"
TEMPLATES = ALERTS / "templates" / "*.tmpl"
README = ROOT / "README.md"
PYPROJECT = ROOT / "pyproject.toml"
PREFIX = "Statuspage"
REQUIRED_ANNOTATIONS = {"summary", "description", "runbook_url"}


def run_tool(name: str, *arguments: str) -> str:
    """Run a Prometheus tool, fail (never skip) when it is missing or complains."""
    path = shutil.which(name)
    assert path, f"{name} is not installed (Debian package; CI installs it)"
    result = subprocess.run(
        [path, *arguments], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{name} {' '.join(arguments)}:\n{output}"
    return result.stdout


def alerting_rules() -> list[dict[str, Any]]:
    """Return every alerting rule of the shipped rule file."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alert_names() -> list[str]:
    """Return each alert name once, in file order."""
    return list(dict.fromkeys(rule["alert"] for rule in alerting_rules()))


def rule_test_cases() -> list[dict[str, Any]]:
    """Return every alert_rule_test case of the promtool test files."""
    return [
        case
        for path in RULE_TESTS
        for group in yaml.safe_load(path.read_text())["tests"]
        for case in group.get("alert_rule_test", [])
    ]


def incident_alert(state: str, severity: str, **annotations: str) -> dict[str, Any]:
    """Return an incident alert as Alertmanager hands it to templates."""
    labels = {"alertname": "StatuspageVendorIncident", "severity": severity}
    labels |= {"provider": "acme", "incident": "k3x9"}
    link = {"url": "https://status.acme.test/incidents/k3x9"}
    return {"status": state, "labels": labels, "annotations": annotations | link}


def render(template: str, alerts: list[dict[str, Any]], folder: Path) -> str:
    """Render a named template of alerts/templates for one group of alerts."""
    group = {"alertname": "StatuspageVendorIncident", "provider": "acme"}
    firing = any(alert["status"] == "firing" for alert in alerts)
    data = {
        "receiver": "chat",
        "status": "firing" if firing else "resolved",
        "alerts": alerts,
        "groupLabels": group,
        "commonLabels": group,
        "commonAnnotations": {},
    }
    path = folder / "group.json"
    path.write_text(json.dumps(data))
    return run_tool(
        "amtool", "template", "render", f"--template.glob={TEMPLATES}",
        f"--template.data={path}", f'--template.text={{{{ template "{template}" . }}}}',
    )  # fmt: skip


def declared_documentation() -> str:
    """Return the Documentation URL that pyproject.toml declares."""
    text = PYPROJECT.read_text()
    match = re.search(r'^Documentation = "([^"]+)"$', text, flags=re.MULTILINE)
    assert match, "pyproject.toml declares no Documentation URL in [project.urls]"
    return match[1]


def markdown_anchors(text: str) -> set[str]:
    """Return the anchors GitHub gives the headings of a Markdown text."""
    anchors = set()
    for heading in re.findall(r"^#+\s+(.+?)\s*$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_rule_file_passes_promtool_check() -> None:
    assert "SUCCESS" in run_tool("promtool", "check", "rules", str(RULES))


def test_promtool_rule_tests_pass() -> None:
    assert RULE_TESTS, "no promtool test files in alerts/tests"
    run_tool("promtool", "test", "rules", *map(str, RULE_TESTS))


def test_alertmanager_config_passes_amtool_check() -> None:
    run_tool("amtool", "check-config", str(ALERTMANAGER_CONFIG))


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical", "alertname=StatuspageVendorIncident"], "pager,chat"),
        (["severity=warning", "alertname=StatuspageVendorIncident"], "chat"),
        (["severity=info", "alertname=StatuspageVendorMaintenance"], "chat"),
        (["severity=warning", "alertname=StatuspageExporterDown"], "chat"),
    ],
)
def test_critical_alerts_page_and_everything_reaches_chat(
    labels: list[str], receivers: str
) -> None:
    run_tool(
        "amtool", "config", "routes", "test",
        f"--config.file={ALERTMANAGER_CONFIG}", f"--verify.receivers={receivers}",
        *labels,
    )  # fmt: skip


def test_alert_names_are_camel_case_with_one_prefix() -> None:
    for name in alert_names():
        assert re.fullmatch(rf"{PREFIX}(?:[A-Z][a-z0-9]+)+", name), name


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    for rule in alerting_rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule
        assert set(rule["annotations"]) >= REQUIRED_ANNOTATIONS, rule["alert"]


def test_every_alert_sets_for_and_keep_firing_for() -> None:
    for rule in alerting_rules():
        assert {"for", "keep_firing_for"} <= set(rule), rule["alert"]


def test_every_alert_is_tested_quiet_and_firing() -> None:
    cases = rule_test_cases()
    for name in alert_names():
        own = [case for case in cases if case["alertname"] == name]
        assert any(case["exp_alerts"] for case in own), f"{name} never fires"
        assert any(not case["exp_alerts"] for case in own), f"{name} never quiet"


def test_every_runbook_url_points_at_a_runbook_section() -> None:
    docs = README.read_text()
    anchors = markdown_anchors(docs)
    for rule in alerting_rules():
        base, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert base == declared_documentation(), rule["alert"]
        assert anchor in anchors, f"{rule['alert']}: no section #{anchor}"


def test_chat_message_lists_firing_and_resolved_incidents_apart(
    tmp_path: Path,
) -> None:
    escalated = incident_alert(
        "firing", "critical", summary="acme: Card payments failing",
        title="Card payments failing", status="identified", impact="major",
        components="Card API, Checkout",
    )  # fmt: skip
    ended = incident_alert(
        "resolved", "warning", summary="acme: Slow card payments",
        title="Slow card payments", status="investigating", impact="minor",
    )  # fmt: skip
    text = render("statuspage.slack.text", [escalated, ended], tmp_path)
    firing, _, resolved = text.partition("*Resolved*")
    assert firing.startswith("*Firing*\n*Card payments failing* (acme, critical)")
    assert (
        "Status: identified | Impact: major\nComponents: Card API, Checkout" in firing
    )
    assert "<https://status.acme.test/incidents/k3x9|Vendor's incident page>" in firing
    assert "*Slow card payments* (acme, warning)" in resolved
    assert "Components" not in resolved


def test_chat_heading_and_colour_follow_the_firing_alerts(tmp_path: Path) -> None:
    page = incident_alert("firing", "critical", summary="acme: Card payments failing")
    ended = incident_alert("resolved", "warning", summary="acme: Slow card payments")
    alerts = [page, ended]
    title = render("statuspage.slack.title", alerts, tmp_path)
    assert title == "[FIRING:1] acme: Card payments failing"
    assert render("statuspage.slack.color", alerts, tmp_path) == "danger"
    assert render("statuspage.slack.color", [ended], tmp_path) == "good"
