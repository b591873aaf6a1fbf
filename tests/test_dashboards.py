"""The Grafana dashboards: their structure, and every query run by a real Prometheus.

The live tests start the exporter over scripted feeds (one provider with an open
incident and a maintenance, one answering 500) and a Prometheus scraping it every
second, then send each panel's query with the dashboard variables substituted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.exporterproc import ExporterProcess, free_port, write_config
from tests.feeds import ScriptedIncident, statuspage_atom
from tests.feedserver import Failure, FeedServer, wait_until

ROOT = Path(__file__).resolve().parent.parent
GRAFANA = ROOT / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
STABLE_UIDS = {
    "status-overview.json": "statuspage-overview",
    "provider-detail.json": "statuspage-provider",
    "exporter-health.json": "statuspage-exporter",
}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
JOB = "statuspage"

# The exporter's metrics as its interface promises them (series names).
PROVIDER_METRICS = {
    "statuspage_up",
    "statuspage_polls_total",
    "statuspage_poll_failures_total",
    "statuspage_responses_total",
    "statuspage_content_changes_total",
    "statuspage_poll_duration_seconds_bucket",
    "statuspage_poll_duration_seconds_sum",
    "statuspage_poll_duration_seconds_count",
    "statuspage_last_poll_timestamp_seconds",
    "statuspage_last_success_timestamp_seconds",
    "statuspage_last_change_timestamp_seconds",
    "statuspage_incidents_open",
    "statuspage_maintenances_active",
    "statuspage_incident_info",
    "statuspage_incident_started_timestamp_seconds",
    "statuspage_incident_updated_timestamp_seconds",
    "statuspage_incident_events_total",
    "statuspage_provider_info",
    "statuspage_poll_interval_seconds",
}
EXPORTER_METRICS = {
    "statuspage_build_info",
    "statuspage_config_last_reload_successful",
    "statuspage_config_last_reload_success_timestamp_seconds",
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_start_time_seconds",
    "python_gc_objects_collected_total",
    "python_gc_objects_uncollectable_total",
    "python_gc_collections_total",
    "python_info",
}
# Series Prometheus itself adds to every scrape.
SCRAPE_METRICS = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
KNOWN_METRICS = PROVIDER_METRICS | EXPORTER_METRICS | SCRAPE_METRICS

# -- reading dashboards and queries ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Query:
    """One target of one panel."""

    dashboard: str
    panel: str
    ref_id: str
    expr: str
    interval: str

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.ref_id}"


@dataclasses.dataclass(frozen=True)
class Selector:
    """A metric name in a query and its label matchers (label -> (op, value))."""

    metric: str
    matchers: dict[str, tuple[str, str]]


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((DASHBOARDS / name).read_text()))


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: load(path.name) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every panel, including those nested in collapsed rows."""
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def queries() -> list[Query]:
    return [
        Query(name, panel["title"], target["refId"], target["expr"],
              target.get("interval", ""))
        for name, dashboard in dashboards().items()
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    ]  # fmt: skip


def variable_queries(dashboard: dict[str, Any]) -> dict[str, str]:
    return {
        variable["name"]: variable["query"]
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query"
    }


STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
BRACES = re.compile(r"\{[^}]*\}")
CLAUSE = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
RANGE = re.compile(r"\[[^\]]*\]")
NAME = re.compile(r"(?<![\w:$.])[A-Za-z_:][\w:]*")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "NaN", "Inf", "nan", "inf",
}  # fmt: skip


def _blank(pattern: re.Pattern[str], text: str, keep_ends: bool = False) -> str:
    """Replace each match by spaces of its length (keeping its first and last)."""

    def spaces(match: re.Match[str]) -> str:
        found = match.group()
        if keep_ends:
            return found[0] + " " * (len(found) - 2) + found[-1]
        return " " * len(found)

    return pattern.sub(spaces, text)


def selectors(expr: str) -> list[Selector]:
    """Return every metric selector of a PromQL expression."""
    text = _blank(STRING, expr)
    text = _blank(BRACES, text, keep_ends=True)
    text = _blank(RANGE, _blank(CLAUSE, text))
    found = []
    for name in NAME.finditer(text):
        rest = text[name.end() :].lstrip()
        if name.group() in KEYWORDS or rest.startswith("("):
            continue
        matchers: dict[str, tuple[str, str]] = {}
        if rest.startswith("{"):
            start = text.index("{", name.end())
            body = expr[start : text.index("}", start)]
            matchers = {m[1]: (m[2], m[3]) for m in MATCHER.finditer(body)}
        found.append(Selector(name.group(), matchers))
    return found


def label_values_selector(query: str) -> Selector:
    """Return the selector of a `label_values(selector, label)` variable query."""
    match = re.fullmatch(r"label_values\((.+),\s*\w+\)", query)
    assert match, f"unexpected variable query {query!r}"
    (selector,) = selectors(match[1])
    return selector


# -- structure ----------------------------------------------------------------------


def test_dashboard_files_are_what_the_generator_writes() -> None:
    check = subprocess.run(
        [sys.executable, str(GRAFANA / "generate.py"), "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_each_dashboard_keeps_its_stable_uid() -> None:
    found = {name: dashboard["uid"] for name, dashboard in dashboards().items()}
    assert found == STABLE_UIDS
    assert len(set(found.values())) == len(found)


def test_panel_ids_are_unique_within_each_dashboard() -> None:
    for name, dashboard in dashboards().items():
        ids = [panel["id"] for panel in panels(dashboard)]
        assert len(ids) == len(set(ids)), name


def _datasources(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield f"{path}.{key}", value
            yield from _datasources(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _datasources(value, f"{path}[{index}]")


def test_no_dashboard_hard_codes_a_datasource() -> None:
    for name, dashboard in dashboards().items():
        assert "__inputs" not in dashboard, name
        wrong = [path for path, value in _datasources(dashboard) if value != DATASOURCE]
        assert not wrong, f"{name}: {wrong}"
        variable = dashboard["templating"]["list"][0]
        assert (variable["name"], variable["type"], variable["query"]) == (
            "datasource", "datasource", "prometheus",
        )  # fmt: skip


def test_every_dashboard_has_job_and_provider_variables() -> None:
    for name, dashboard in dashboards().items():
        names = [v["name"] for v in dashboard["templating"]["list"]]
        expected = ["datasource", "job"]
        expected += ["instance"] if name == "exporter-health.json" else []
        assert names == [*expected, "provider"], name


def test_every_panel_states_its_unit() -> None:
    missing = [
        f"{name} / {panel['title']}"
        for name, dashboard in dashboards().items()
        for panel in panels(dashboard)
        if panel["type"] != "row"
        and not panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    ]
    assert not missing


def test_queries_read_only_metrics_the_exporter_exports() -> None:
    unknown = [
        f"{query}: {selector.metric}"
        for query in queries()
        for selector in selectors(query.expr)
        if selector.metric not in KNOWN_METRICS
    ]
    for name, dashboard in dashboards().items():
        for variable, text in variable_queries(dashboard).items():
            metric = label_values_selector(text).metric
            if metric not in KNOWN_METRICS:
                unknown.append(f"{name} / ${variable}: {metric}")
    assert not unknown


def test_the_selector_check_finds_metrics_and_their_matchers() -> None:
    expr = (
        'max by (provider) (label_replace(a_info{job=~"$job", x="}"}, "p", "${1}",'
        ' "url", "(.*)")) * on (provider) group_left (name) rate(b_total[$__range])'
        " or vector(0) > bool NaN"
    )
    assert selectors(expr) == [
        Selector("a_info", {"job": ("=~", "$job"), "x": ("=", "}")}),
        Selector("b_total", {}),
    ]


def _scope_problems(name: str, selector: Selector) -> list[str]:
    wanted = {"job": "$job"}
    if name == "exporter-health.json":
        wanted["instance"] = "$instance"
    if selector.metric in PROVIDER_METRICS:
        wanted["provider"] = "$provider"
    return [
        f"{selector.metric} lacks {label}={value}"
        for label, value in wanted.items()
        if selector.matchers.get(label, ("", ""))[1] != value
    ]


def test_every_selector_follows_the_dashboard_variables() -> None:
    problems = [
        f"{query}: {problem}"
        for query in queries()
        for selector in selectors(query.expr)
        for problem in _scope_problems(query.dashboard, selector)
    ]
    assert not problems


def test_rates_use_the_rate_interval_and_no_range_is_hard_coded() -> None:
    functions = re.compile(r"\b(\w+)\(\s*[^()\[]*\[([^\]]*)\]")
    problems = []
    for query in queries():
        for function, window in functions.findall(query.expr):
            if function in ("rate", "irate") and window != "$__rate_interval":
                problems.append(f"{query}: {function}[{window}]")
        for window in RANGE.findall(_blank(STRING, query.expr)):
            if window not in ("[$__rate_interval]", "[$__interval]", "[$__range]"):
                problems.append(f"{query}: {window}")
    assert not problems


def test_panels_fit_the_grid_without_overlapping() -> None:
    for name, dashboard in dashboards().items():
        taken: dict[tuple[int, int], str] = {}
        for panel in dashboard["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, f"{name} / {panel['title']}"
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    assert (x, y) not in taken, f"{name}: {panel['title']} overlaps"
                    taken[(x, y)] = panel["title"]


def _links(panel: dict[str, Any]) -> list[str]:
    field = panel.get("fieldConfig", {})
    links = list(field.get("defaults", {}).get("links", []))
    for override in field.get("overrides", []):
        for prop in override["properties"]:
            if prop["id"] == "links":
                links.extend(prop["value"])
    return [link["url"] for link in links]


def test_providers_link_to_their_status_page_and_their_dashboard() -> None:
    page = 'label_replace(statuspage_provider_info{SEL}, "page"'
    for name in ("status-overview.json", "provider-detail.json"):
        linked = [
            panel
            for panel in panels(load(name))
            if any("page" in url for url in _links(panel))
        ]
        assert linked, f"{name} has no link to a status page"
        for panel in linked:
            exprs = [re.sub(r"\{[^}]*\}", "{SEL}", t["expr"]) for t in panel["targets"]]
            assert any(page in expr for expr in exprs), panel["title"]
    overview_links = [
        u for p in panels(load("status-overview.json")) for u in _links(p)
    ]
    assert any(u.startswith("/d/statuspage-provider/") for u in overview_links)


def test_provisioning_loads_the_dashboards_from_prometheus_by_default() -> None:
    provisioning = GRAFANA / "provisioning"
    (source,) = yaml.safe_load(
        (provisioning / "datasources" / "prometheus.yaml").read_text()
    )["datasources"]
    assert (source["type"], source["isDefault"]) == ("prometheus", True)
    (provider,) = yaml.safe_load(
        (provisioning / "dashboards" / "status-page-exporter.yaml").read_text()
    )["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/var/lib/grafana/dashboards/")


# -- live: a real Prometheus scraping the exporter -------------------------------------


class Prometheus:
    """A Prometheus server on loopback with its own data directory."""

    def __init__(self, workdir: Path, target: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {"job_name": JOB, "static_configs": [{"targets": [target]}]}
            ],
        }))  # fmt: skip
        self.log = workdir / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Prometheus:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail("prometheus is not installed (Debian package prometheus)")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [binary, f"--config.file={self.config}",
                 f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(self._ready, 30, "prometheus /-/ready")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"prometheus exited:\n{self.log.read_text()}")
        try:
            with urllib.request.urlopen(self.url("/-/ready"), timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def api(self, path: str, **params: str) -> dict[str, Any]:
        """GET an API path; return the decoded answer, errors included."""
        query = urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(self.url(f"{path}?{query}"), timeout=10) as r:
                return dict(json.loads(r.read()))
        except urllib.error.HTTPError as error:
            return dict(json.loads(error.read()))

    def query(self, expr: str) -> dict[str, Any]:
        return self.api("/api/v1/query", query=expr)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@dataclasses.dataclass
class Stack:
    """The exporter, the feeds it polls and the Prometheus that scrapes it."""

    feeds: FeedServer
    exporter: ExporterProcess
    prometheus: Prometheus


def script_feeds(feeds: FeedServer) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    outage = ScriptedIncident("outage1", "Elevated API error rates").post(
        "Investigating",
        "We are looking into errors on the API.",
        now - timedelta(hours=1),
    )
    window = (now - timedelta(minutes=30), now + timedelta(hours=1))
    upgrade = ScriptedIncident(
        "upgrade1", "Database upgrade", number=1001, scheduled_for=window
    )
    upgrade.post("Scheduled", "We will upgrade the database.", now - timedelta(days=1))
    upgrade.post("In progress", "The upgrade has begun.", window[0])
    feeds.publish("acme/history.atom", statuspage_atom([outage, upgrade]))
    feeds.fail_always("broken/history.atom", Failure(500))


def has_data(prometheus: Prometheus, expr: str) -> bool:
    answer = prometheus.query(expr)
    return answer["status"] == "success" and bool(answer["data"]["result"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("dashboards")
    with FeedServer() as feeds:
        script_feeds(feeds)
        config = write_config(workdir / "providers.yaml", {
            "acme": {"url": feeds.url("acme/history.atom"), "interval": "1s"},
            "broken": {"url": feeds.url("broken/history.atom"), "interval": "1s"},
        })  # fmt: skip
        exporter = ExporterProcess(workdir, config)
        prometheus = Prometheus(workdir, f"127.0.0.1:{exporter.port}")
        try:
            exporter.start()
            prometheus.start()
            wait_until(
                lambda: has_data(prometheus, "statuspage_incident_info"), 30,
                "the first scrape of the open incident",
            )  # fmt: skip
            yield Stack(feeds, exporter, prometheus)
        finally:
            prometheus.stop()
            if exporter.process is not None:
                exporter.stop()


def substitutions(query: Query) -> dict[str, str]:
    """Return the variables as Grafana fills them in; several values make a regex."""
    detail = query.dashboard == "provider-detail.json"
    return {
        "job": f"({JOB})",
        "provider": "acme" if detail else "(acme|broken)",
        "instance": ".+",
        "__rate_interval": "1m",
        "__interval": query.interval or "15s",
        "__range": "1h",
    }


def substitute(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = re.sub(rf"\$\{{{name}(?::\w+)?\}}|\${name}\b", value, text)
    leftover = re.search(r"\$(?!\{?\d)", text)
    assert leftover is None, f"unsubstituted variable in {text!r}"
    return text


# Targets that rightly return nothing with the scripted feeds.
MAY_BE_EMPTY = {
    # acme never fails; the panel's other query shows its polls.
    ("provider-detail.json", "Polls and failures", "B"),
}


def may_be_empty(query: Query) -> bool:
    return (query.dashboard, query.panel, query.ref_id) in MAY_BE_EMPTY


def run_every_query(prometheus: Prometheus) -> tuple[list[str], list[str]]:
    """Return the queries Prometheus rejected and those that found nothing."""
    rejected, empty = [], []
    for query in queries():
        answer = prometheus.query(substitute(query.expr, substitutions(query)))
        if answer["status"] != "success":
            rejected.append(f"{query}: {answer.get('error')}")
        elif not answer["data"]["result"] and not may_be_empty(query):
            empty.append(str(query))
    return rejected, empty


def test_every_panel_query_is_accepted_and_the_panels_show_data(stack: Stack) -> None:
    last: list[tuple[list[str], list[str]]] = []

    def settled() -> bool:
        last[:] = [run_every_query(stack.prometheus)]
        rejected, empty = last[0]
        return bool(rejected) or not empty

    with contextlib.suppress(AssertionError):
        wait_until(settled, 40, "every panel to show data")
    rejected, empty = last[0]
    assert not rejected, "\n".join(rejected)
    assert not empty, "no data:\n" + "\n".join(empty)


def panel_query(dashboard: str, title: str) -> Query:
    (panel,) = [p for p in panels(load(dashboard)) if p["title"] == title]
    return Query(dashboard, title, "A", panel["targets"][0]["expr"], "")


def instant(stack: Stack, query: Query) -> list[dict[str, Any]]:
    answer = stack.prometheus.query(substitute(query.expr, substitutions(query)))
    return list(answer["data"]["result"])


def test_the_incidents_table_shows_title_status_impact_age_and_link(
    stack: Stack,
) -> None:
    query = panel_query("status-overview.json", "Open incidents and maintenances")
    rows = {row["metric"]["incident"]: row for row in instant(stack, query)}
    outage = rows["outage1"]
    assert outage["metric"]["title"] == "Elevated API error rates"
    assert outage["metric"]["url"].endswith("/incidents/outage1")
    assert {"status", "impact", "kind"} <= outage["metric"].keys()
    assert 3500 < float(outage["value"][1]) < 3700  # opened an hour ago


def test_the_status_page_link_is_the_root_of_the_feed_url(stack: Stack) -> None:
    (row,) = instant(stack, panel_query("provider-detail.json", "Status page"))
    assert row["metric"]["page"] == stack.feeds.url("").rstrip("/")


def test_variables_list_the_job_providers_and_instances(stack: Stack) -> None:
    expected = {
        "job": {JOB},
        "provider": {"acme", "broken"},
        "instance": {f"127.0.0.1:{stack.exporter.port}"},
    }
    for name, dashboard in dashboards().items():
        for variable, text in variable_queries(dashboard).items():
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", text)
            assert match, text
            selector = substitute(match[1], {"job": JOB, "instance": ".+"})
            answer = stack.prometheus.api(
                f"/api/v1/label/{match[2]}/values", **{"match[]": selector}
            )
            assert set(answer["data"]) == expected[variable], f"{name} ${variable}"


def test_every_metric_the_dashboards_read_is_exported(stack: Stack) -> None:
    exported = {sample.name for sample in stack.exporter.samples()}
    used = {s.metric for query in queries() for s in selectors(query.expr)}
    assert used - SCRAPE_METRICS - exported == set()
