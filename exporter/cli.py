"""Command line: `serve`, `check` and `once`, with Prometheus-style flags."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import click
from prometheus_client import CollectorRegistry, write_to_textfile

from exporter import __version__
from exporter.config import Config, bundled_config_path, load_config, parse_duration
from exporter.errors import ConfigError, ExporterError
from exporter.events import EventsFile
from exporter.fetch import new_session
from exporter.logs import FORMATS, LEVELS, configure
from exporter.metrics import Snapshot, SnapshotCollector
from exporter.parse.text import UNPRINTABLE
from exporter.poller import Poller, Settings
from exporter.serve import ServeOptions, serve, split_listen_address
from exporter.store import StateStore

log = logging.getLogger(__name__)
ENV_PREFIX = "STATUS_PAGE_EXPORTER_"
F = TypeVar("F", bound=Callable[..., Any])


def _env(flag: str) -> str:
    return ENV_PREFIX + flag.replace(".", "_").replace("-", "_").upper()


def _flag(flag: str, **kwargs: Any) -> Callable[[F], F]:
    """Declare `--flag.name`, also read from STATUS_PAGE_EXPORTER_FLAG_NAME."""
    name = flag.replace(".", "_").replace("-", "_")
    return click.option(
        f"--{flag}",
        name,
        envvar=_env(flag),
        show_envvar=True,
        show_default=True,
        **kwargs,
    )


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    """Read a duration flag such as 500ms, 30s, 2m, 1h or 7d as seconds."""
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx, param) from None


def _config_option(function: F) -> F:
    return _flag(
        "config.file",
        default=None,
        metavar="PATH",
        help="Providers file (YAML). Default: the catalogue shipped with the package.",
    )(function)


def _logging_options(function: F) -> F:
    function = _flag(
        "log.level",
        type=click.Choice(LEVELS),
        default="info",
        help="Lowest level of log lines written to standard error.",
    )(function)
    return _flag(
        "log.format",
        type=click.Choice(FORMATS),
        default="logfmt",
        help="Format of log lines.",
    )(function)


def _concurrency_option(function: F) -> F:
    return _flag(
        "poll.concurrency", type=click.IntRange(1, 1000), default=20,
        help="Most polls in flight at once.",
    )(function)  # fmt: skip


def _version_option(function: F) -> F:
    return click.version_option(
        __version__, "--version", prog_name="status-page-exporter"
    )(function)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@_version_option
def main() -> None:
    """Export vendors' status pages (Atom and RSS feeds) as Prometheus metrics."""


@main.command(name="serve")
@_version_option
@_config_option
@_flag("web.listen-address", default=":9747", help="Address to serve HTTP on.")
@_flag(
    "web.enable-lifecycle", is_flag=True, default=False, help="Enable POST /-/reload."
)
@_flag(
    "state.path",
    default="./status-page-exporter.db",
    metavar="PATH",
    help="SQLite file that keeps state across restarts.",
)
@_flag(
    "events.file",
    default="-",
    metavar="PATH",
    help="Events log, one JSON line per event: '-' for stdout, or a file to append to.",
)
@_concurrency_option
@_flag(
    "poll.min-interval",
    callback=_duration,
    default="15s",
    help="No provider is polled more often than this, whatever its config says.",
)
@_flag(
    "incident.expire-after",
    callback=_duration,
    default="7d",
    help="Resolve an open incident gone from its feed (or without any status) "
    "after this long without an update.",
)
@_logging_options
@click.help_option("-h", "--help")
def serve_command(**flags: Any) -> None:
    """Poll every provider on its schedule and serve /metrics."""
    # Start-up signals are held off by exporter.launch until serve() has its own.
    configure(flags["log_level"], flags["log_format"])
    config_file = flags["config_file"] or bundled_config_path()
    config = _load_or_exit(config_file)
    options = _serve_options(config_file, flags)
    _require_writable_events_file(options.events_file)
    try:
        asyncio.run(serve(options, config))
    except (OSError, ExporterError) as error:
        log.error("cannot serve err=%r", str(error))
        sys.exit(1)
    _exit_now()


def _exit_now() -> None:
    """Exit 0 without waiting for a parse thread still busy with a large feed.

    Everything that matters (state, events) is flushed by then; a thread that
    cannot be cancelled must not hold the process past its shutdown deadline.
    """
    sys.stdout.flush()
    logging.shutdown()
    os._exit(0)


def _require_writable_events_file(target: str) -> None:
    """Fail at start-up, not at the first event, when the events file is unusable."""
    if target == "-":
        return
    try:
        with open(target, "ab"):
            pass
    except OSError as error:
        raise click.BadParameter(
            f"cannot append to {target!r}: {error.strerror}",
            param_hint="--events.file",
        ) from None


def _require_writable_folder(path: str, flag: str) -> None:
    """Fail before polling when a file cannot be written into its folder."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise click.BadParameter(f"cannot write into {folder!r}", param_hint=flag)


def _serve_options(config_file: str, flags: dict[str, Any]) -> ServeOptions:
    try:
        split_listen_address(flags["web_listen_address"])
    except ValueError as error:
        raise click.BadParameter(
            str(error), param_hint="--web.listen-address"
        ) from None
    settings = Settings(
        min_interval=flags["poll_min_interval"],
        concurrency=flags["poll_concurrency"],
        expire_after=timedelta(seconds=flags["incident_expire_after"]),
    )
    return ServeOptions(
        config_file=config_file,
        listen_address=flags["web_listen_address"],
        state_path=flags["state_path"],
        events_file=flags["events_file"],
        lifecycle=flags["web_enable_lifecycle"],
        settings=settings,
    )


def _load_or_exit(path: str) -> Config:
    try:
        config = load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        sys.exit(2)
    log.info("config loaded path=%r providers=%d", path, len(config.providers))
    return config


@main.command()
@_version_option
@_config_option
def check(config_file: str | None) -> None:
    """Validate the providers file: exit 0, or 2 with every problem."""
    path = config_file or bundled_config_path()
    config = _load_or_exit(path)
    count = len(config.providers)
    click.echo(f"{path}: OK, {count} provider{'' if count == 1 else 's'}")


@main.command()
@_version_option
@_config_option
@_flag(
    "output",
    type=click.Choice(["table", "json"]),
    default="table",
    help="How to print open incidents.",
)
@_flag(
    "textfile",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the metrics here, in node_exporter textfile format.",
)
@_concurrency_option
@_logging_options
def once(**flags: Any) -> None:
    """Poll every provider once, print open incidents; exit 1 if any failed."""
    configure(flags["log_level"], flags["log_format"])
    config = _load_or_exit(flags["config_file"] or bundled_config_path())
    if flags["textfile"]:
        _require_writable_folder(flags["textfile"], "--textfile")
    collector = SnapshotCollector(
        Snapshot(__version__, reload_success_time=time.time())
    )
    settings = Settings(min_interval=0, concurrency=flags["poll_concurrency"])
    asyncio.run(_poll_once(config, collector, settings))
    views = collector.snapshot.providers
    if flags["output"] == "json":
        click.echo(json.dumps(_json_report(collector), indent=2, ensure_ascii=False))
    else:
        click.echo(_table_report(collector))
    if flags["textfile"]:
        registry = CollectorRegistry()
        registry.register(collector)
        write_to_textfile(flags["textfile"], registry)
    sys.exit(0 if all(view.health.up for view in views.values()) else 1)


async def _poll_once(
    config: Config, collector: SnapshotCollector, settings: Settings
) -> None:
    store = StateStore(":memory:")
    poller = Poller(store, EventsFile(os.devnull, store), collector, settings)
    async with new_session() as session:
        await poller.poll_all_once(config, session)
    await poller.stop()


def _json_report(collector: SnapshotCollector) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for name, view in collector.snapshot.providers.items():
        report[name] = {
            "up": bool(view.health.up),
            "failures": {k: v for k, v in view.health.failures.items() if v},
            "incidents": [incident.to_json() for incident in view.incidents],
        }
    return {"providers": report}


def _table_report(collector: SnapshotCollector) -> str:
    rows: list[tuple[str, ...]] = [
        ("PROVIDER", "INCIDENT", "KIND", "STATUS", "IMPACT", "TITLE")
    ]
    failed = []
    for name, view in sorted(collector.snapshot.providers.items()):
        if not view.health.up:
            failed.append(f"{name}: poll failed ({', '.join(view.health.failures)})")
        for incident in view.incidents:
            cells = (name, incident.id, incident.kind, incident.status,
                     incident.impact, incident.title[:80])  # fmt: skip
            rows.append(tuple(_printable(cell) for cell in cells))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)),
             row[5]]
        )
        for row in rows
    ]  # fmt: skip
    if len(rows) == 1:
        lines.append("(no open incidents)")
    return "\n".join(lines + failed)


def _printable(text: str) -> str:
    """Replace every character that would act on the terminal with U+FFFD."""
    return UNPRINTABLE.sub("\ufffd", text)
