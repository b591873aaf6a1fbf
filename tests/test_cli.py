"""The `check` and `once` commands, run as a user runs them: as processes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from exporter import __version__
from exporter.cli import _table_report
from exporter.metrics import Health, Snapshot, SnapshotCollector, view_of
from exporter.model import Incident
from tests.exporterproc import write_config
from tests.feeds import ScriptedIncident, statuspage_atom, utc
from tests.feedserver import Failure, FeedServer
from tests.harness import provider_for


def run(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_version_is_printed() -> None:
    assert __version__ in run("--version").stdout


def test_check_accepts_the_shipped_catalogue() -> None:
    result = run("check")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_counts_providers_in_words(tmp_path: Path) -> None:
    config = tmp_path / "providers.yaml"
    config.write_text("providers:\n  acme:\n    url: https://status.acme.test/x\n")
    assert run("check", f"--config.file={config}").stdout.endswith(": OK, 1 provider\n")


def test_check_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "providers.yaml"
    config.write_text(
        "providers:\n"
        "  good:\n    url: https://status.example.com/history.atom\n"
        "  bad:\n    url: ftp://example.com/feed\n    interval: soon\n"
        "  Bad Name:\n    url: https://example.com/feed\n    colour: blue\n"
    )
    result = run("check", f"--config.file={config}")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{config}:5: provider 'bad': key 'url'" in result.stderr
    assert f"{config}:6: provider 'bad': key 'interval'" in result.stderr
    assert "colour" in result.stderr


def test_check_reads_the_config_path_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "providers.yaml"
    config.write_text("providers: {}\n")
    env = {"STATUS_PAGE_EXPORTER_CONFIG_FILE": str(config), "PATH": "/usr/bin:/bin"}
    result = run("check", env=env)
    assert result.returncode == 2
    assert str(config) in result.stderr


def test_check_of_a_missing_file_is_one_clear_problem(tmp_path: Path) -> None:
    result = run("check", f"--config.file={tmp_path / 'absent.yaml'}")
    assert result.returncode == 2
    assert "absent.yaml" in result.stderr and "Traceback" not in result.stderr


def scripted_feeds(server: FeedServer, tmp_path: Path) -> Path:
    incident = ScriptedIncident("inc42", "Login failures").post(
        "Identified", "Logins are unavailable in the EU.", utc("2026-03-01T10:00:00")
    )
    server.publish("vendor.atom", statuspage_atom([incident]))
    server.fail_always("down.atom", Failure(503))
    return write_config(tmp_path / "providers.yaml", {
        "vendor": {"url": server.url("vendor.atom")},
        "down": {"url": server.url("down.atom")},
    })  # fmt: skip


def test_once_prints_open_incidents_and_fails_when_a_provider_fails(
    server: FeedServer, tmp_path: Path
) -> None:
    config = scripted_feeds(server, tmp_path)
    result = run("once", f"--config.file={config}")
    assert result.returncode == 1
    assert "inc42" in result.stdout and "identified" in result.stdout
    assert "down: poll failed (http_status)" in result.stdout


def test_once_json_and_textfile(server: FeedServer, tmp_path: Path) -> None:
    config = scripted_feeds(server, tmp_path)
    textfile = tmp_path / "statuspage.prom"
    result = run("once", f"--config.file={config}", "--output=json",
                 f"--textfile={textfile}")  # fmt: skip
    report = json.loads(result.stdout)["providers"]
    assert report["vendor"]["up"] is True
    assert report["vendor"]["incidents"][0]["id"] == "inc42"
    assert report["down"] == {
        "up": False, "failures": {"http_status": 1}, "incidents": [],
    }  # fmt: skip
    samples = {
        (s.name, s.labels.get("provider"), s.labels.get("impact")): s.value
        for family in text_string_to_metric_families(textfile.read_text())
        for s in family.samples
    }
    assert samples[("statuspage_up", "down", None)] == 0
    assert samples[("statuspage_incidents_open", "vendor", "major")] == 1


def test_once_exits_0_when_every_provider_answers(
    server: FeedServer, tmp_path: Path
) -> None:
    server.publish("vendor.atom", statuspage_atom([]))
    config = write_config(
        tmp_path / "p.yaml", {"vendor": {"url": server.url("vendor.atom")}}
    )
    result = run("once", f"--config.file={config}")
    assert result.returncode == 0, result.stderr
    assert "(no open incidents)" in result.stdout


def test_serve_refuses_a_bad_listen_address(tmp_path: Path) -> None:
    result = run(
        "serve", "--web.listen-address=nonsense", f"--state.path={tmp_path / 's.db'}"
    )
    assert result.returncode == 2
    assert "listen address" in result.stderr


def test_serve_refuses_a_bad_duration_flag() -> None:
    result = run("serve", "--poll.min-interval=often")
    assert result.returncode == 2
    assert "not a duration" in result.stderr


def test_once_refuses_a_textfile_in_a_missing_folder(tmp_path: Path) -> None:
    result = run("once", f"--textfile={tmp_path / 'missing' / 'x.prom'}")
    assert result.returncode == 2
    assert "--textfile" in result.stderr and "Traceback" not in result.stderr


def test_once_table_keeps_control_characters_of_titles_off_the_terminal(
    server: FeedServer, tmp_path: Path
) -> None:
    title = "Login \x1b]0;pwned\x07 failures \u202eslirat\u202c"
    incident = ScriptedIncident("inc42", title).post(
        "Identified", "Logins are unavailable.", utc("2026-03-01T10:00:00")
    )
    server.publish("vendor.atom", statuspage_atom([incident]))
    config = write_config(
        tmp_path / "p.yaml", {"vendor": {"url": server.url("vendor.atom")}}
    )
    result = run("once", f"--config.file={config}")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "inc42" in line)
    assert "pwned" in row and "slirat" in row  # shown, without what acted on it
    assert not any(c in result.stdout for c in "\x1b\x07\u202e\u202c")


def test_table_replaces_control_characters_in_every_cell() -> None:
    moment = datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
    incident = Incident(
        "inc\x1b[2J42", "incident", "Login \x1b]0;pwned\x07 failures\r\nfake line",
        "investigating", "major", "https://status.example.test/inc42",
        moment, moment, None,
    )  # fmt: skip
    view = view_of(provider_for("https://status.example.test/feed"), 60.0,
                   Health(up=1), [incident])  # fmt: skip
    table = _table_report(SnapshotCollector(Snapshot("test", {"vendor": view})))
    header, row = table.splitlines()
    assert header.split()[0] == "PROVIDER"
    assert row.split() == [
        "vendor", "inc\ufffd[2J42", "incident", "investigating", "major", "Login",
        "\ufffd]0;pwned\ufffd", "failures\ufffd\ufffdfake", "line",
    ]  # fmt: skip


def test_the_command_catches_signals_before_the_heavy_imports() -> None:
    script = (
        "import sys\n"
        "import exporter.launch\n"
        "print(sorted(m for m in ('aiohttp', 'feedparser', 'prometheus_client')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert done.stdout.strip() == "[]", done.stderr
