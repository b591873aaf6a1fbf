"""Write the dashboards in grafana/dashboards/ from the definitions in this file.

Edit a panel here, then run `python grafana/generate.py`. With `--check` nothing is
written and the exit status is 1 when a JSON file differs from what would be written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
TAG = "status-page-exporter"
OVERVIEW_UID = "statuspage-overview"
PROVIDER_UID = "statuspage-provider"
EXPORTER_UID = "statuspage-exporter"

JSON = dict[str, Any]
Scope = Callable[[str], str]

# -- PromQL shared by several panels; SEL stands for the dashboard's label matchers.

STATUS_PAGE = (
    "max by (provider, name, page) (\n"
    '  label_replace(statuspage_provider_info{SEL}, "page", "${1}", "url",'
    ' "(https?://[^/]+).*")\n'
    ")"
)
INCIDENT_LABELS = "provider, incident, kind, status, impact, title, url"
STARTED = "statuspage_incident_started_timestamp_seconds"
UPDATED = "statuspage_incident_updated_timestamp_seconds"


def scope(matchers: str) -> Scope:
    """Return a function that puts the dashboard's matchers where a query says SEL."""
    return lambda query: query.replace("SEL", matchers)


def with_status_page(per_provider: str) -> str:
    """Add the provider's display name and status page root to a per-provider query."""
    return (
        f"(\n{per_provider}\n)\n* on (provider) group_left (name, page)\n{STATUS_PAGE}"
    )


def since(timestamp_metric: str) -> str:
    """Seconds since a per-provider timestamp that is 0 until it first happens."""
    return (
        f"time() - max by (provider) ({timestamp_metric}{{SEL}} > 0)\n"
        "or on (provider)\n"
        "max by (provider) (statuspage_up{SEL}) * NaN"
    )


def incident_age(timestamp_metric: str) -> str:
    """Seconds since an open incident's timestamp, with its labels; NaN if unknown."""
    return (
        f"max by ({INCIDENT_LABELS}) (statuspage_incident_info{{SEL}})\n"
        "* on (provider, incident) group_left ()\n"
        "(\n"
        f"  time() - max by (provider, incident) ({timestamp_metric}{{SEL}})\n"
        "  or on (provider, incident)\n"
        "  max by (provider, incident) (statuspage_incident_info{SEL}) * NaN\n"
        ")"
    )


def quantile(q: float) -> str:
    """Poll duration quantile over the selected providers."""
    return (
        f"histogram_quantile({q}, sum by (le) (\n"
        "  rate(statuspage_poll_duration_seconds_bucket{SEL}[$__rate_interval])\n"
        "))"
    )


# -- value mappings and thresholds -----------------------------------------------

# Severity of a provider or incident, worst highest; the timelines colour by it.
SEVERITY = {
    0: ("no incident", "green"),
    1: ("maintenance", "blue"),
    2: ("incident, no impact", "purple"),
    3: ("minor", "yellow"),
    4: ("major", "orange"),
    5: ("critical", "red"),
}
IMPACT_COLOURS = {
    "critical": "red",
    "major": "orange",
    "minor": "yellow",
    "maintenance": "blue",
    "none": "purple",
    "unknown": "text",
}


def value_mapping(texts: dict[Any, tuple[str, str]]) -> JSON:
    """Map exact values to a text and a colour."""
    options = {
        str(value): {"text": text, "color": colour, "index": index}
        for index, (value, (text, colour)) in enumerate(texts.items())
    }
    return {"type": "value", "options": options}


def nan_means(text: str) -> JSON:
    """Show NaN (and missing values) as `text`."""
    return {
        "type": "special",
        "options": {"match": "null+nan", "result": {"text": text}},
    }


READABLE = value_mapping({0: ("cannot read", "red"), 1: ("readable", "green")})
UP = value_mapping({0: ("down", "red"), 1: ("up", "green")})
RELOAD = value_mapping({0: ("failed", "red"), 1: ("succeeded", "green")})


def thresholds(*steps: tuple[float | None, str]) -> JSON:
    """Colour steps from the lowest value up; the first step has no lower bound."""
    return {
        "mode": "absolute",
        "steps": [{"value": value, "color": colour} for value, colour in steps],
    }


NEUTRAL = thresholds((None, "text"))
GOOD = thresholds((None, "green"))
BAD_FROM_ONE = thresholds((None, "green"), (1, "red"))
WARN_FROM_ONE = thresholds((None, "green"), (1, "orange"))

# -- targets and panels ------------------------------------------------------------


def target(
    expr: str, legend: str = "", *, table: bool = False, interval: str = ""
) -> JSON:
    """A Prometheus query of a panel; `table` makes it an instant query as a table."""
    query: JSON = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
    if table:
        query.update(format="table", instant=True, range=False)
    else:
        query.update(format="time_series", instant=False, range=True)
    if interval:
        query["interval"] = interval
    return query


def panel(
    kind: str, title: str, description: str, unit: str, targets: list[JSON],
    size: tuple[int, int], **extra: Any,
) -> JSON:  # fmt: skip
    """A panel of any kind; `size` is (width, height) in grid units."""
    for index, query in enumerate(targets):
        query["refId"] = "ABCDEFGH"[index]
    defaults: JSON = {"unit": unit, "mappings": [], "thresholds": NEUTRAL}
    defaults.update(extra.pop("defaults", {}))
    width, height = size
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": height, "w": width, "x": 0, "y": 0},
        "fieldConfig": {"defaults": defaults, "overrides": extra.pop("overrides", [])},
        "options": extra.pop("options", {}),
        "targets": targets,
        **extra,
    }


def stat(
    title: str, description: str, unit: str, query: JSON, *,
    width: int = 4, **defaults: Any,
) -> JSON:  # fmt: skip
    """A single figure, coloured by its thresholds or mapping."""
    defaults.setdefault("thresholds", GOOD)
    defaults.setdefault("color", {"mode": "thresholds"})
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "none",
        "justifyMode": "center",
        "textMode": "value" if not query["legendFormat"] else "name",
        "orientation": "auto",
    }
    return panel(
        "stat", title, description, unit, [query], (width, 4),
        options=options, defaults=defaults,
    )  # fmt: skip


def timeseries(
    title: str, description: str, unit: str, queries: list[JSON], *,
    size: tuple[int, int] = (12, 8), bars: bool = False, stacked: bool = False,
) -> JSON:  # fmt: skip
    """Lines (or bars) over time, with a table legend."""
    custom = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 80 if bars else 10,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
    }
    options = {
        "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["max"]},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    defaults = {"custom": custom, "min": 0, "color": {"mode": "palette-classic"}}
    return panel(
        "timeseries", title, description, unit, queries, size,
        options=options, defaults=defaults,
    )  # fmt: skip


def timeline(
    title: str, description: str, query: JSON, mapping: JSON, height: int = 8
) -> JSON:
    """One coloured band per series, one colour per mapped state."""
    options = {
        "showValue": "never",
        "mergeValues": True,
        "rowHeight": 0.8,
        "alignValue": "left",
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    defaults = {"mappings": [mapping], "color": {"mode": "thresholds"}}
    return panel(
        "state-timeline", title, description, "none", [query], (24, height),
        options=options, defaults=defaults,
    )  # fmt: skip


def table(
    title: str, description: str, queries: list[JSON], columns: list[JSON], *,
    order: list[tuple[str, str]], size: tuple[int, int] = (24, 8),
    sort_by: str = "",
) -> JSON:  # fmt: skip
    """Rows from instant queries merged on their labels; `order` names the columns."""
    names = [name for name, _ in order]
    renames = {name: shown for name, shown in order if shown != name}
    hidden = {
        name: True
        for name in ("Time", "job", "instance", "incident")
        if name not in names
    }
    transformations = [
        {"id": "merge", "options": {}},
        {
            "id": "organize",
            "options": {
                "excludeByName": hidden,
                "indexByName": {name: index for index, name in enumerate(names)},
                "renameByName": renames,
            },
        },
    ]
    options: JSON = {"showHeader": True, "cellHeight": "sm"}
    if sort_by:
        options["sortBy"] = [{"displayName": sort_by, "desc": True}]
    return panel(
        "table", title, description, "none", queries, size,
        options=options, overrides=columns, transformations=transformations,
    )  # fmt: skip


def column(name: str, **properties: Any) -> JSON:
    """Settings of one table column, named as it is shown."""
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [
            {"id": key, "value": value} for key, value in properties.items()
        ],
    }


def link(title: str, url: str) -> list[JSON]:
    """A data link that opens in a new tab."""
    return [{"title": title, "url": url, "targetBlank": True}]


def row(title: str) -> JSON:
    """A full-width heading that groups the panels below it."""
    return {
        "type": "row",
        "title": title,
        "collapsed": False,
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0},
        "panels": [],
    }


def layout(panels: list[JSON]) -> list[JSON]:
    """Place panels left to right, wrapping at 24 columns, and number them."""
    x = y = line_height = 0
    for number, item in enumerate(panels, start=1):
        item["id"] = number
        grid = item["gridPos"]
        if item["type"] == "row" or x + grid["w"] > 24:
            x, y, line_height = 0, y + line_height, 0
        grid["x"], grid["y"] = x, y
        x += grid["w"]
        line_height = max(line_height, grid["h"])
        if item["type"] == "row":
            x, y, line_height = 0, y + 1, 0
    return panels


# -- variables and dashboards ------------------------------------------------------


def datasource_variable() -> JSON:
    """The Prometheus data source every panel reads."""
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
    }


def query_variable(
    name: str, label: str, query: str, *, multi: bool, all_value: str = ""
) -> JSON:
    """A variable whose values are label values found in Prometheus.

    Without `all_value`, "All" stands for the values found, joined into a regex.
    """
    variable: JSON = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": query,
        "current": {},
        "hide": 0,
        "includeAll": multi,
        "multi": multi,
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
    }
    if multi:
        variable["current"] = {"text": ["All"], "value": ["$__all"]}
    if all_value:
        variable["allValue"] = all_value
    return variable


JOB_VARIABLE = query_variable(
    "job", "Job", "label_values(statuspage_build_info, job)", multi=True
)


def dashboard(
    uid: str, title: str, description: str, variables: list[JSON], panels: list[JSON]
) -> JSON:
    """A whole dashboard with the project's links, tags and refresh."""
    links = [
        {
            "type": "dashboards",
            "title": "Status page dashboards",
            "tags": [TAG],
            "asDropdown": False,
            "includeVars": True,
            "keepTime": True,
            "targetBlank": False,
        }
    ]
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [TAG],
        "editable": True,
        "graphTooltip": 1,
        "links": links,
        "panels": layout(panels),
        "refresh": "1m",
        "schemaVersion": 39,
        "templating": {"list": [datasource_variable(), *variables]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "version": 1,
    }


# -- status overview -----------------------------------------------------------------


def overview() -> JSON:
    """Every provider at a glance."""
    q = scope('job=~"$job", provider=~"$provider"')
    provider = query_variable(
        "provider", "Provider",
        'label_values(statuspage_up{job=~"$job"}, provider)', multi=True,
        all_value=".+",
    )  # fmt: skip
    panels = [
        row("Now"),
        *overview_figures(q),
        open_incidents_table(q, "Age", [target(q(incident_age(STARTED)), table=True)]),
        row("Providers"),
        providers_table(q),
        unreadable_table(q),
        row("Incidents"),
        providers_timeline(q),
        incident_events_per_day(q),
        open_incidents_by_impact(q, "sum by (impact)"),
        row("Polling"),
        not_modified_share(q),
        poll_duration(q, width=8),
        failures_by_reason(q, width=8),
    ]
    return dashboard(
        OVERVIEW_UID, "Status pages: overview",
        "Open incidents and poll health of every provider the exporter watches.",
        [JOB_VARIABLE, provider], panels,
    )  # fmt: skip


def overview_figures(q: Scope) -> list[JSON]:
    """The six numbers at the top of the overview."""
    # Counted from the open incidents themselves: an increase() of the opened
    # events would miss those opened before Prometheus first saw the exporter.
    in_range = q(
        "count(max by (provider, incident) (\n"
        '  max_over_time(statuspage_incident_info{SEL, kind="incident"}[$__range])\n'
        ")) or vector(0)"
    )
    return [
        stat(
            "Providers", "Providers the exporter polls.", "short",
            target(q("count(max by (provider) (statuspage_up{SEL}))")),
            thresholds=NEUTRAL,
        ),
        stat(
            "Vendors we cannot read",
            "Providers whose last poll gave no usable feed.", "short",
            target(q(
                "count(max by (provider) (statuspage_up{SEL}) == 0) or vector(0)"
            )),
            thresholds=BAD_FROM_ONE,
        ),
        stat(
            "Open incidents", "Incidents open now (maintenances not counted).",
            "short",
            target(q(
                "sum(max by (provider, impact) (statuspage_incidents_open{SEL}))"
            )),
            thresholds=WARN_FROM_ONE,
        ),
        stat(
            "Maintenances in progress", "Maintenances going on right now.", "short",
            target(q("sum(max by (provider) (statuspage_maintenances_active{SEL}))")),
            thresholds=thresholds((None, "green"), (1, "blue")),
        ),
        stat(
            "Incidents in range", "Incidents open at any moment of the time range.",
            "short", target(in_range), thresholds=NEUTRAL, decimals=0,
        ),
        stat(
            "Not modified (304)",
            "Share of feed responses in the time range that were 304 Not Modified.",
            "percentunit",
            target(q(
                'sum(increase(statuspage_responses_total{SEL, code="304"}[$__range]))'
                "\n/\nsum(increase(statuspage_responses_total{SEL}[$__range]))"
            )),
            thresholds=NEUTRAL,
        ),
    ]  # fmt: skip


def open_incidents_table(q: Scope, age_title: str, queries: list[JSON]) -> JSON:
    """Open incidents and maintenances with a link to each on its status page."""
    ages = [age_title, "Since last update"][: len(queries)]
    age_columns = [(f"Value #{ref}", age) for ref, age in zip("AB", ages, strict=False)]
    order = [
        ("provider", "Provider"), ("title", "Title"), ("kind", "Kind"),
        ("status", "Status"), ("impact", "Impact"),
        *age_columns,
        ("Value", age_title), ("url", "Link"),
    ]  # fmt: skip
    impact_colours = {name: (name, colour) for name, colour in IMPACT_COLOURS.items()}
    columns = [
        column("Title", links=link("Open on the status page", "${__data.fields.url}")),
        column("Link", links=link("Open on the status page", "${__value.raw}")),
        column(
            "Impact", mappings=[value_mapping(impact_colours)],
            **{"custom.cellOptions": {"type": "color-text"}},
        ),
        *[
            column(age, unit="dtdurations", mappings=[nan_means("unknown")])
            for age in ages
        ],
    ]  # fmt: skip
    return table(
        "Open incidents and maintenances",
        "Incidents still open and maintenances not yet completed, from "
        "statuspage_incident_info. Titles link to the incident on its status page.",
        queries, columns, order=order, sort_by=age_title,
    )  # fmt: skip


def providers_table(q: Scope) -> JSON:
    """Every provider with its state, a link to its page and to its own dashboard."""
    queries = [
        target(q(with_status_page(
            "max by (provider) (statuspage_up{SEL})"
        )), table=True),
        target(q(with_status_page(
            "sum by (provider) (max by (provider, impact) "
            "(statuspage_incidents_open{SEL}))"
        )), table=True),
        target(q(with_status_page(
            "max by (provider) (statuspage_maintenances_active{SEL})"
        )), table=True),
        target(q(with_status_page(since(
            "statuspage_last_success_timestamp_seconds"
        ))), table=True),
        target(q(with_status_page(
            "max by (provider) (statuspage_poll_interval_seconds{SEL})"
        )), table=True),
    ]  # fmt: skip
    detail = (
        f"/d/{PROVIDER_UID}/provider-detail?${{datasource:queryparam}}"
        "&${job:queryparam}&var-provider=${__data.fields.provider}&${__url_time_range}"
    )
    columns = [
        column("Provider", links=[{"title": "Provider dashboard", "url": detail}]),
        column("Status page", links=link("Open the status page", "${__value.raw}")),
        column(
            "Feed",
            mappings=[READABLE],
            **{"custom.cellOptions": {"type": "color-text"}},
        ),
        column("Open incidents", unit="short", decimals=0),
        column("Maintenances", unit="short", decimals=0),
        column("Since last success", unit="dtdurations", mappings=[nan_means("never")]),
        column("Poll interval", unit="s"),
    ]
    order = [
        ("provider", "Provider"), ("name", "Name"), ("Value #A", "Feed"),
        ("Value #B", "Open incidents"), ("Value #C", "Maintenances"),
        ("Value #D", "Since last success"), ("Value #E", "Poll interval"),
        ("page", "Status page"),
    ]  # fmt: skip
    return table(
        "Providers",
        "Every provider, whether its feed can be read, and its open incidents. "
        "Provider names open the provider dashboard; pages open in a new tab.",
        queries, columns, order=order, size=(16, 10), sort_by="Open incidents",
    )  # fmt: skip


def unreadable_table(q: Scope) -> JSON:
    """Providers whose feed cannot be read now, with why."""
    query = q(
        "sum by (provider, reason) (\n"
        "  increase(statuspage_poll_failures_total{SEL}[$__range])\n"
        ") > 0\n"
        "and on (provider)\n"
        "max by (provider) (statuspage_up{SEL}) == 0"
    )
    order = [("provider", "Provider"), ("reason", "Reason"), ("Value", "Failures")]
    columns = [column("Failures", unit="short", decimals=0)]
    return table(
        "Vendors we cannot read",
        "Providers whose last poll failed, with the failures in the time range by "
        "reason.",
        [target(query, table=True)], columns, order=order, size=(8, 10),
        sort_by="Failures",
    )  # fmt: skip


def providers_timeline(q: Scope) -> JSON:
    """The worst open incident of each provider over time."""
    bands = [
        ('clamp_max(statuspage_incidents_open{SEL, impact="critical"}, 1) * 5'),
        ('clamp_max(statuspage_incidents_open{SEL, impact="major"}, 1) * 4'),
        ('clamp_max(statuspage_incidents_open{SEL, impact="minor"}, 1) * 3'),
        (
            "clamp_max(statuspage_incidents_open"
            '{SEL, impact=~"none|unknown|maintenance"}, 1) * 2'
        ),
        "clamp_max(statuspage_maintenances_active{SEL}, 1)",
    ]
    query = "max by (provider) (\n  " + "\n  or ".join(bands) + "\n)"
    return timeline(
        "Providers with incidents",
        "The worst open incident of each provider over time; blue is a maintenance "
        "in progress.",
        target(q(query), "{{provider}}"), value_mapping(SEVERITY), height=10,
    )  # fmt: skip


def incident_events_per_day(q: Scope) -> JSON:
    """Opened, updated and resolved incidents per day."""
    query = q(
        "sum by (event) (\n"
        "  increase(statuspage_incident_events_total{SEL}[$__interval])\n"
        ")"
    )
    chart = timeseries(
        "Incident events per day",
        "Incidents opened, updated and resolved per day, over the last 14 days.",
        "short", [target(query, "{{event}}", interval="1d")],
        bars=True, stacked=True,
    )  # fmt: skip
    chart["timeFrom"] = "14d"
    return chart


def open_incidents_by_impact(q: Scope, grouping: str) -> JSON:
    """Open incidents by impact, stacked."""
    query = q(
        f"{grouping} (max by (provider, impact) (\n"
        '  statuspage_incidents_open{SEL, impact!="maintenance"}\n'
        "))"
    )
    return timeseries(
        "Open incidents by impact",
        "Incidents open at each moment, stacked by impact.",
        "short", [target(query, "{{impact}}")], stacked=True,
    )  # fmt: skip


def not_modified_share(q: Scope, width: int = 8) -> JSON:
    """Share of responses that were 304 Not Modified."""
    query = q(
        'sum(rate(statuspage_responses_total{SEL, code="304"}[$__rate_interval]))\n'
        "/\n"
        "sum(rate(statuspage_responses_total{SEL}[$__rate_interval]))"
    )
    return timeseries(
        "Not modified (304) share",
        "Share of feed responses that were 304 Not Modified: polls that cost the "
        "vendor almost nothing.",
        "percentunit", [target(query, "304 share")], size=(width, 8),
    )  # fmt: skip


def poll_duration(q: Scope, width: int) -> JSON:
    """Median and 95th percentile of poll duration."""
    return timeseries(
        "Poll duration",
        "Time from the start of a poll to its end, parsing included.",
        "s", [target(q(quantile(0.5)), "p50"), target(q(quantile(0.95)), "p95")],
        size=(width, 8),
    )  # fmt: skip


def failures_by_reason(q: Scope, width: int) -> JSON:
    """Poll failures per second by reason."""
    query = q(
        "sum by (reason) (\n"
        "  rate(statuspage_poll_failures_total{SEL}[$__rate_interval])\n"
        ") > 0"
    )
    return timeseries(
        "Poll failures by reason",
        "Polls per second that gave no usable feed, by reason.",
        "reqps", [target(query, "{{reason}}")], size=(width, 8),
    )  # fmt: skip


# -- provider detail ------------------------------------------------------------------


def provider_detail() -> JSON:
    """One provider: its incidents, maintenances, update times and poll health."""
    q = scope('job=~"$job", provider="$provider"')
    provider = query_variable(
        "provider", "Provider",
        'label_values(statuspage_up{job=~"$job"}, provider)', multi=False,
    )  # fmt: skip
    incidents = [
        target(q(incident_age(STARTED)), table=True),
        target(q(incident_age(UPDATED)), table=True),
    ]
    panels = [
        row("$provider"),
        *provider_figures(q),
        open_incidents_table(q, "Open for", incidents),
        incidents_timeline(q),
        row("Incidents over time"),
        open_incidents_by_impact(q, "max by (impact)"),
        incident_events(q),
        row("Polling"),
        polls_and_failures(q),
        poll_duration(q, width=12),
        feed_freshness(q),
        responses_by_code(q),
    ]
    return dashboard(
        PROVIDER_UID, "Status pages: provider detail",
        "One provider's incidents, maintenances, update times and poll health.",
        [JOB_VARIABLE, provider], panels,
    )  # fmt: skip


def provider_figures(q: Scope) -> list[JSON]:
    """The provider's name and state at the top of its dashboard."""
    page = target(q(STATUS_PAGE), "{{name}}")
    return [
        stat(
            "Status page", "The provider's name; click it to open its status page.",
            "none", page, thresholds=NEUTRAL,
            links=link("Open the status page", "${__field.labels.page}"),
        ),
        stat(
            "Feed", "Whether the last poll of the provider's feed succeeded.",
            "none", target(q("max(statuspage_up{SEL})")), mappings=[READABLE],
        ),
        stat(
            "Open incidents", "Incidents open now (maintenances not counted).",
            "short", target(q("sum(max by (impact) (statuspage_incidents_open{SEL}))")),
            thresholds=WARN_FROM_ONE,
        ),
        stat(
            "Maintenances in progress", "Maintenances going on right now.", "short",
            target(q("max(statuspage_maintenances_active{SEL})")),
            thresholds=thresholds((None, "green"), (1, "blue")),
        ),
        stat(
            "Since last success", "Time since a poll of the feed last succeeded.",
            "dtdurations",
            target(q(
                "time() - max(statuspage_last_success_timestamp_seconds{SEL} > 0)"
            )),
            noValue="never", thresholds=NEUTRAL,
        ),
        stat(
            "Feed last changed", "Time since the feed's content last changed.",
            "dtdurations",
            target(q(
                "time() - max(statuspage_last_change_timestamp_seconds{SEL} > 0)"
            )),
            noValue="never", thresholds=NEUTRAL,
        ),
    ]  # fmt: skip


def incidents_timeline(q: Scope) -> JSON:
    """Each incident and maintenance as a band while it is open, coloured by impact."""
    bands = [
        'statuspage_incident_info{SEL, kind="incident", impact="critical"} * 5',
        'statuspage_incident_info{SEL, kind="incident", impact="major"} * 4',
        'statuspage_incident_info{SEL, kind="incident", impact="minor"} * 3',
        'statuspage_incident_info{SEL, kind="incident", impact!~"critical|major|minor"}'
        " * 2",
        'statuspage_incident_info{SEL, kind="maintenance"}',
    ]
    query = "max by (incident, title) (\n  " + "\n  or ".join(bands) + "\n)"
    return timeline(
        "Incidents and maintenances",
        "Each incident while it is open and each maintenance until it completes, "
        "coloured by impact.",
        target(q(query), "{{title}}"), value_mapping(SEVERITY),
    )  # fmt: skip


def incident_events(q: Scope) -> JSON:
    """Incident events of the provider per hour."""
    query = q(
        "sum by (event) (\n"
        "  increase(statuspage_incident_events_total{SEL}[$__interval])\n"
        ")"
    )
    return timeseries(
        "Incident events", "Incidents opened, updated and resolved per hour.",
        "short", [target(query, "{{event}}", interval="1h")], bars=True, stacked=True,
    )  # fmt: skip


def polls_and_failures(q: Scope) -> JSON:
    """Polls per second, and failures per second by reason."""
    polls = q("sum(rate(statuspage_polls_total{SEL}[$__rate_interval]))")
    failures = q(
        "sum by (reason) (\n"
        "  rate(statuspage_poll_failures_total{SEL}[$__rate_interval])\n"
        ") > 0"
    )
    return timeseries(
        "Polls and failures",
        "Polls of the feed per second, and those that failed, by reason.",
        "reqps", [target(polls, "polls"), target(failures, "failed: {{reason}}")],
    )  # fmt: skip


def feed_freshness(q: Scope) -> JSON:
    """How long ago the feed was polled, read and changed, against the interval."""
    queries = [
        target(q(f"time() - max({name}{{SEL}} > 0)"), legend)
        for name, legend in (
            ("statuspage_last_poll_timestamp_seconds", "since last poll"),
            ("statuspage_last_success_timestamp_seconds", "since last success"),
            ("statuspage_last_change_timestamp_seconds", "since last change"),
        )
    ]
    queries.append(
        target(q("max(statuspage_poll_interval_seconds{SEL})"), "poll interval")
    )
    return timeseries(
        "Update times",
        "Time since the feed was last polled, read and changed; the time since "
        "the last poll stays near the poll interval while polling works.",
        "s", queries,
    )  # fmt: skip


def responses_by_code(q: Scope) -> JSON:
    """Feed responses per second by HTTP status code, and content changes."""
    responses = q(
        "sum by (code) (rate(statuspage_responses_total{SEL}[$__rate_interval]))"
    )
    changes = q("sum(rate(statuspage_content_changes_total{SEL}[$__rate_interval]))")
    return timeseries(
        "Responses and content changes",
        "Feed responses per second by HTTP status code, and responses whose "
        "content changed.",
        "reqps", [target(responses, "HTTP {{code}}"), target(changes, "changed")],
    )  # fmt: skip


# -- exporter health ------------------------------------------------------------------


def exporter_health() -> JSON:
    """The exporter's own health: polls, failures, reloads and process resources."""
    q = scope('job=~"$job", instance=~"$instance"')
    # The per-provider series also follow the provider variable.
    qp = scope('job=~"$job", instance=~"$instance", provider=~"$provider"')
    instance = query_variable(
        "instance", "Instance",
        'label_values(statuspage_build_info{job=~"$job"}, instance)', multi=True,
    )  # fmt: skip
    provider = query_variable(
        "provider", "Provider",
        'label_values(statuspage_up{job=~"$job", instance=~"$instance"}, provider)',
        multi=True, all_value=".+",
    )  # fmt: skip
    panels = [
        row("Exporter"),
        *exporter_figures(q, qp),
        row("Polling"),
        timeseries(
            "Polls per second",
            "Polls of the selected providers' feeds per second, by instance.",
            "reqps", [target(qp(
                "sum by (instance) "
                "(rate(statuspage_polls_total{SEL}[$__rate_interval]))"
            ), "{{instance}}")],
        ),
        failures_by_reason(qp, width=12),
        timeline(
            "Configuration reloads",
            "Whether the last configuration load or reload succeeded.",
            target(q(
                "min by (instance) (statuspage_config_last_reload_successful{SEL})"
            ), "{{instance}}"),
            RELOAD, height=5,
        ),
        row("Process"),
        *process_panels(q),
    ]  # fmt: skip
    return dashboard(
        EXPORTER_UID, "Status pages: exporter health",
        "Whether the exporter itself works: scrapes, polls, reloads and resources.",
        [JOB_VARIABLE, instance, provider], panels,
    )  # fmt: skip


def exporter_figures(q: Scope, qp: Scope) -> list[JSON]:
    """The exporter's state in six numbers; `qp` scopes the per-provider ones."""
    return [
        stat(
            "Scrape", "Whether Prometheus could scrape every selected instance.",
            "none", target(q("min(up{SEL})")), mappings=[UP],
        ),
        stat(
            "Version", "Version of the running exporter.", "none",
            target(q("max by (version) (statuspage_build_info{SEL})"), "{{version}}"),
            thresholds=NEUTRAL,
        ),
        stat(
            "Configuration reload",
            "Whether the last configuration load or reload succeeded everywhere.",
            "none", target(q("min(statuspage_config_last_reload_successful{SEL})")),
            mappings=[RELOAD],
        ),
        stat(
            "Since last good reload",
            "Time since the configuration was last loaded successfully.",
            "dtdurations",
            target(q(
                "time() - "
                "max(statuspage_config_last_reload_success_timestamp_seconds{SEL})"
            )),
            thresholds=NEUTRAL,
        ),
        stat(
            "Uptime", "Time since the exporter process started.", "dtdurations",
            target(q("time() - min(process_start_time_seconds{SEL})")),
            thresholds=NEUTRAL,
        ),
        stat(
            "Providers", "Providers configured, of those selected.", "short",
            target(qp("count(statuspage_provider_info{SEL})")), thresholds=NEUTRAL,
        ),
    ]  # fmt: skip


def process_panels(q: Scope) -> list[JSON]:
    """CPU, memory, file descriptors, garbage collection and scrape cost."""
    return [
        timeseries(
            "CPU", "CPU time used per second (1 = one core).", "percentunit",
            [target(q("rate(process_cpu_seconds_total{SEL}[$__rate_interval])"),
                    "{{instance}}")],
            size=(8, 8),
        ),
        timeseries(
            "Memory", "Resident memory of the exporter process.", "bytes",
            [target(q("process_resident_memory_bytes{SEL}"), "{{instance}}")],
            size=(8, 8),
        ),
        timeseries(
            "Open file descriptors", "File descriptors the process holds open.",
            "short", [target(q("process_open_fds{SEL}"), "{{instance}}")],
            size=(8, 8),
        ),
        timeseries(
            "Garbage collections", "Python garbage collections per second.", "ops",
            [target(q(
                "sum by (generation) "
                "(rate(python_gc_collections_total{SEL}[$__rate_interval]))"
            ), "generation {{generation}}")],
            size=(8, 8),
        ),
        timeseries(
            "Scrape duration", "Time Prometheus took to scrape the exporter.", "s",
            [target(q("scrape_duration_seconds{SEL}"), "{{instance}}")], size=(8, 8),
        ),
        timeseries(
            "Samples per scrape",
            "Samples in one scrape; grows with providers and open incidents.",
            "short", [target(q("scrape_samples_scraped{SEL}"), "{{instance}}")],
            size=(8, 8),
        ),
    ]  # fmt: skip


# -- writing ---------------------------------------------------------------------------

DASHBOARDS = {
    "status-overview.json": overview,
    "provider-detail.json": provider_detail,
    "exporter-health.json": exporter_health,
}


def render(build: Callable[[], JSON]) -> str:
    """Return a dashboard as the JSON text written to its file."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) every dashboard file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args(argv)
    stale = []
    for name, build in DASHBOARDS.items():
        path, text = OUTPUT / name, render(build)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date, run python grafana/generate.py: {', '.join(stale)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
