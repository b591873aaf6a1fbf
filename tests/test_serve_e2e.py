"""`status-page-exporter serve` as a real process against the loopback feed server."""

from __future__ import annotations

import json
import random
import select
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.exporterproc import ExporterProcess, write_config
from tests.feeds import ScriptedIncident, statuspage_atom, utc
from tests.feedserver import Failure, FeedServer, wait_until


@pytest.fixture
def exporters() -> Iterator[list[ExporterProcess]]:
    started: list[ExporterProcess] = []
    yield started
    for process in started:
        if process.process is not None and process.process.poll() is None:
            process.kill()


def start(
    exporters: list[ExporterProcess], workdir: Path, config: Path, *flags: str
) -> ExporterProcess:
    process = ExporterProcess(workdir, config, *flags)
    exporters.append(process)
    return process.start()


def read_events(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def one_vendor(tmp_path: Path, server: FeedServer, interval: str = "200ms") -> Path:
    return write_config(
        tmp_path / "providers.yaml",
        {"vendor": {"url": server.url("vendor.atom"), "interval": interval}},
    )


def test_serve_exports_incidents_and_endpoints(tmp_path, server, exporters) -> None:
    incident = ScriptedIncident("inc1", "Checkout errors").post(
        "Investigating", "Payments are unavailable.", utc("2026-03-01T10:00:00")
    )
    server.publish("vendor.atom", statuspage_atom([incident]))
    exporter = start(exporters, tmp_path, one_vendor(tmp_path, server))

    assert (
        exporter.value("statuspage_incidents_open", provider="vendor", impact="major")
        == 1
    )
    assert exporter.value("statuspage_build_info") == 1
    listed = json.loads(exporter.get("/api/v1/incidents"))["incidents"]
    assert [(i["provider"], i["id"], i["status"]) for i in listed] == [
        ("vendor", "inc1", "investigating")
    ]
    events = json.loads(exporter.get("/api/v1/events"))["events"]
    assert [(e["event"], e["incident"]["id"]) for e in events] == [("opened", "inc1")]
    assert b"Status Page Exporter" in exporter.get("/")
    assert exporter.stop() == 0


def test_sigterm_stops_quickly_and_cleanly(tmp_path, server, exporters) -> None:
    server.publish("vendor.atom", statuspage_atom([]))
    server.delay("vendor.atom", 30)  # a poll is in flight when the signal comes
    config = one_vendor(tmp_path, server)
    exporter = ExporterProcess(tmp_path, config)
    exporters.append(exporter)
    exporter.start(wait_ready=False)
    wait_until(lambda: server.arrived("vendor.atom") > 0, 10, "a poll in flight")
    began = time.monotonic()
    assert exporter.stop(timeout=10) == 0
    assert time.monotonic() - began < 5


def test_restart_after_sigkill_delivers_every_event_exactly_once(
    tmp_path, server, exporters
) -> None:
    config = one_vendor(tmp_path, server, interval="100ms")
    script = _Timeline(server)
    exporter = start(exporters, tmp_path, config)
    rng = random.Random(11)
    for _ in range(4):
        for _ in range(rng.randint(4, 8)):
            script.step()
            time.sleep(rng.uniform(0.02, 0.12))  # drive the feed while it polls
        exporter.kill()
        script.step()  # a change while the exporter is down
        exporter = ExporterProcess(tmp_path, config)
        exporters.append(exporter)
        exporter.start()
    script.finish()
    wait_until(lambda: script.all_resolved_in(read_events(exporter.events)), 30,
               "every scripted incident resolved in the events file")  # fmt: skip
    events = read_events(exporter.events)
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids)), "duplicate or out-of-order event ids"
    for code in script.codes:
        kinds = [e["event"] for e in events if e["incident"]["id"] == code]  # type: ignore[index]
        assert kinds.count("opened") == 1, (code, kinds)
        assert kinds.count("resolved") == 1, (code, kinds)
    stored = json.loads(exporter.get(f"/api/v1/events?after={ids[0] - 1}&limit=1000"))
    assert [e["id"] for e in stored["events"]] == ids
    assert exporter.stop() == 0


class _Timeline:
    """Incidents that open, get updates and resolve, one step at a time."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.incidents: list[ScriptedIncident] = []
        self.clock = utc("2026-03-01T00:00:00")
        self.steps = 0
        self.publish()

    @property
    def codes(self) -> list[str]:
        return [incident.code for incident in self.incidents]

    def publish(self) -> None:
        self.server.publish("vendor.atom", statuspage_atom(self.incidents))

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=1)
        return self.clock

    def step(self) -> None:
        self.steps += 1
        open_ones = [i for i in self.incidents if i.updates[-1].label != "Resolved"]
        if not open_ones or self.steps % 3 == 0:
            code = f"i{self.steps:03d}"
            self.incidents.append(
                ScriptedIncident(code, f"Incident {code}", number=self.steps).post(
                    "Investigating", "Errors are elevated.", self.tick()
                )
            )
        elif self.steps % 3 == 1:
            open_ones[0].post("Resolved", "Resolved.", self.tick())
        else:
            open_ones[-1].post("Update", f"Still working ({self.steps}).", self.tick())
        self.publish()

    def finish(self) -> None:
        for incident in self.incidents:
            if incident.updates[-1].label != "Resolved":
                incident.post("Resolved", "Resolved.", self.tick())
        self.publish()

    def all_resolved_in(self, events: list[dict[str, object]]) -> bool:
        resolved = {e["incident"]["id"] for e in events if e["event"] == "resolved"}  # type: ignore[index]
        return resolved >= set(self.codes)


def test_reload_keeps_unchanged_providers_and_rejects_bad_config(
    tmp_path, server, exporters
) -> None:
    server.publish("vendor.atom", statuspage_atom([]))
    server.publish("other.atom", statuspage_atom([]))
    config = one_vendor(tmp_path, server, interval="1s")
    exporter = start(exporters, tmp_path, config, "--web.enable-lifecycle")

    write_config(config, {
        "vendor": {"url": server.url("vendor.atom"), "interval": "1s"},
        "other": {"url": server.url("other.atom"), "interval": "1s"},
    })  # fmt: skip
    _post(exporter.base_url + "/-/reload")
    wait_until(lambda: exporter.value("statuspage_up", provider="other") == 1, 20,
               "the added provider polled")  # fmt: skip
    # The unchanged provider kept its schedule: it was scheduled once only.
    assert exporter.stderr().count('msg="provider scheduled" provider=vendor') == 1

    config.write_text("providers:\n  vendor:\n    url: not a url\n")
    with pytest.raises(urllib.error.HTTPError) as refused:
        _post(exporter.base_url + "/-/reload")
    assert refused.value.code == 500
    assert exporter.value("statuspage_config_last_reload_successful") == 0
    assert exporter.value("statuspage_up", provider="other") == 1

    write_config(
        config, {"vendor": {"url": server.url("vendor.atom"), "interval": "1s"}}
    )
    assert exporter.process is not None
    exporter.process.send_signal(signal.SIGHUP)
    wait_until(lambda: exporter.value("statuspage_up", provider="other") is None, 20,
               "the removed provider gone after SIGHUP")  # fmt: skip
    assert exporter.value("statuspage_config_last_reload_successful") == 1


def test_reload_endpoint_needs_the_lifecycle_flag(tmp_path, server, exporters) -> None:
    server.publish("vendor.atom", statuspage_atom([]))
    exporter = start(exporters, tmp_path, one_vendor(tmp_path, server))
    with pytest.raises(urllib.error.HTTPError) as refused:
        _post(exporter.base_url + "/-/reload")
    assert refused.value.code == 403


def test_corrupt_state_file_is_moved_aside(tmp_path, server, exporters) -> None:
    server.publish("vendor.atom", statuspage_atom([]))
    (tmp_path / "state.db").write_bytes(b"this is not a database" * 100)
    exporter = start(exporters, tmp_path, one_vendor(tmp_path, server))
    assert exporter.value("statuspage_up", provider="vendor") == 1
    assert list(tmp_path.glob("state.db.corrupt-*"))
    assert "moved aside" in exporter.stderr()


def test_failing_provider_does_not_fail_the_scrape_or_others(
    tmp_path, server, exporters
) -> None:
    server.publish("good.atom", statuspage_atom([]))
    server.fail_always("bad.atom", Failure(500))
    config = write_config(tmp_path / "providers.yaml", {
        "good": {"url": server.url("good.atom"), "interval": "200ms"},
        "bad": {"url": server.url("bad.atom"), "interval": "200ms"},
    })  # fmt: skip
    exporter = start(exporters, tmp_path, config)
    assert exporter.value("statuspage_up", provider="good") == 1
    assert exporter.value("statuspage_up", provider="bad") == 0
    assert 'msg="poll failed" provider=bad reason=http_status' in exporter.stderr()


def _post(url: str) -> bytes:
    request = urllib.request.Request(url, method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return bytes(answer.read())


def test_events_api_pages_and_validates(tmp_path, server, exporters) -> None:
    incidents = [
        ScriptedIncident(f"inc{n}", f"Incident {n}").post(
            "Investigating", "Errors.", utc(f"2026-03-01T1{n}:00:00")
        )
        for n in range(3)
    ]
    server.publish("vendor.atom", statuspage_atom(incidents))
    exporter = start(exporters, tmp_path, one_vendor(tmp_path, server),
                     "--log.format=json")  # fmt: skip
    first = json.loads(exporter.get("/api/v1/events?after=0&limit=2"))
    assert len(first["events"]) == 2
    rest = json.loads(exporter.get(f"/api/v1/events?after={first['next_after']}"))
    assert len(rest["events"]) == 1
    assert rest["events"][0]["id"] > first["next_after"]
    everything = json.loads(exporter.get("/api/v1/events?after=0&limit=1"))
    assert everything["events"][0]["id"] == min(e["id"] for e in first["events"])
    beyond = json.loads(exporter.get(f"/api/v1/events?after={2**63 - 1}"))
    assert beyond == {"events": [], "next_after": 2**63 - 1}
    for bad in ("after=x", "limit=0", "after=-1", "limit=ten", "after=%D9%A3",
                "after=", f"after={2**63}", f"after={'9' * 26}",
                f"after={'9' * 5000}"):  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as refused:
            exporter.get(f"/api/v1/events?{bad}")
        assert refused.value.code == 400
        if bad.startswith("after="):
            error = json.loads(refused.value.read())["error"]
            assert error.startswith("after must be an event id")
            assert str(2**63 - 1) in error
    log_lines = [json.loads(line) for line in exporter.stderr().splitlines()]
    assert any(line["msg"].startswith("incident opened") for line in log_lines)


def test_events_go_to_stdout_by_default(tmp_path, server) -> None:
    server.publish("vendor.atom", statuspage_atom([
        ScriptedIncident("inc1", "Outage").post(
            "Investigating", "Down.", utc("2026-03-01T10:00:00")
        )
    ]))  # fmt: skip
    exporter = ExporterProcess(tmp_path, one_vendor(tmp_path, server))
    command = [flag for flag in exporter.command() if "events.file" not in flag]
    process = subprocess.Popen(command, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], 20)
        assert readable, "no event on stdout within 20 s"
        line = json.loads(process.stdout.readline())
        assert (line["event"], line["incident"]["id"]) == ("opened", "inc1")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0


def test_second_exporter_on_the_same_state_file_exits_with_a_clear_error(
    tmp_path, server, exporters
) -> None:
    server.publish("vendor.atom", statuspage_atom([]))
    config = one_vendor(tmp_path, server)
    start(exporters, tmp_path, config)
    second = ExporterProcess(tmp_path, config)
    result = subprocess.run(second.command(), capture_output=True, text=True,
                            timeout=30)  # fmt: skip
    assert result.returncode == 1
    assert "in use by another process" in result.stderr
    assert not list(tmp_path.glob("state.db.corrupt-*"))


def test_sighup_during_start_up_does_not_kill(tmp_path, server, exporters) -> None:
    server.publish("vendor.atom", statuspage_atom([]))
    exporter = ExporterProcess(tmp_path, one_vendor(tmp_path, server))
    exporters.append(exporter)
    exporter.process = subprocess.Popen(exporter.command(), stderr=subprocess.DEVNULL)
    wait_until(lambda: _ignores_sighup(exporter.process.pid), 20, "the CLI running")
    exporter.process.send_signal(signal.SIGHUP)
    wait_until(lambda: exporter._answers("/-/ready"), 30, "ready after SIGHUP")
    assert exporter.stop() == 0


def test_sigterm_during_start_up_exits_0(tmp_path, server, exporters) -> None:
    providers = {
        f"vendor{n}": {"url": server.url(f"v{n}.atom"), "interval": "1h"}
        for n in range(300)
    }
    config = write_config(tmp_path / "providers.yaml", providers)
    exporter = ExporterProcess(tmp_path, config)
    exporters.append(exporter)
    exporter.process = subprocess.Popen(exporter.command(), stderr=subprocess.DEVNULL)
    wait_until(lambda: _ignores_sighup(exporter.process.pid), 20, "the CLI running")
    exporter.process.send_signal(signal.SIGTERM)  # while the config is read
    assert exporter.process.wait(10) == 0


def _ignores_sighup(pid: int) -> bool:
    """Tell whether the process has set SIGHUP to be ignored (or handled)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    masks = dict(line.split(":\t") for line in status.splitlines() if ":\t" in line)
    hup = 1 << (signal.SIGHUP - 1)
    return bool((int(masks["SigIgn"], 16) | int(masks["SigCgt"], 16)) & hup)
