"""Run `status-page-exporter serve` as a real subprocess for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.feedserver import wait_until


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(path: Path, providers: dict[str, dict[str, object]]) -> Path:
    """Write a providers.yaml for the given providers and return its path."""
    lines = ["providers:"]
    for name, settings in providers.items():
        lines.append(f"  {name}:")
        for key, value in settings.items():
            if isinstance(value, dict):
                lines.append(f"    {key}:")
                lines.extend(f"      {k}: {v!r}" for k, v in value.items())
            else:
                lines.append(f"    {key}: {value}")
    path.write_text("\n".join(lines) + "\n")
    return path


class ExporterProcess:
    """A running exporter with its own state file, events file and port."""

    def __init__(self, workdir: Path, config: Path, *extra_flags: str) -> None:
        self.workdir = workdir
        self.config = config
        self.port = free_port()
        self.state = workdir / "state.db"
        self.events = workdir / "events.jsonl"
        self.stderr_path = workdir / "exporter.stderr"
        self.extra_flags = list(extra_flags)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Return the exporter's HTTP root."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """Return the command line that starts the exporter."""
        return [
            sys.executable, "-m", "exporter", "serve",
            f"--config.file={self.config}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--state.path={self.state}",
            f"--events.file={self.events}",
            "--poll.min-interval=100ms",
            "--log.level=debug",
            *self.extra_flags,
        ]  # fmt: skip

    def start(self, wait_ready: bool = True) -> ExporterProcess:
        """Start the exporter and wait until it reports ready."""
        stderr = self.stderr_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), stderr=stderr, stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        stderr.close()
        probe = "/-/ready" if wait_ready else "/-/healthy"
        wait_until(lambda: self._answers(probe), 30, f"exporter {probe}")
        return self

    def _answers(self, path: str) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"exporter exited early:\n{self.stderr()}")
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stderr(self) -> str:
        """Return what the exporter logged so far."""
        return self.stderr_path.read_text(errors="replace")

    def get(self, path: str) -> bytes:
        """GET a path of the exporter and return the body."""
        with urllib.request.urlopen(self.base_url + path, timeout=10) as answer:
            return bytes(answer.read())

    def samples(self) -> list[Sample]:
        """Scrape /metrics and return every sample."""
        text = self.get("/metrics").decode()
        return [
            sample
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float | None:
        """Return the value of the one sample matching name and labels, or None."""
        for sample in self.samples():
            if sample.name == name and all(
                sample.labels.get(k) == v for k, v in labels.items()
            ):
                return float(sample.value)
        return None

    def kill(self) -> None:
        """Kill the exporter with SIGKILL, as a crash would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self, timeout: float = 10.0) -> int:
        """Send SIGTERM and return the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return int(self.process.returncode)
