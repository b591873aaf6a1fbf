"""The long-running process: wire config, poller and web server; reload; stop."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import time
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)

from exporter import __version__
from exporter.config import Config, load_config
from exporter.errors import ConfigError
from exporter.events import EventsFile
from exporter.fetch import new_session
from exporter.metrics import Snapshot, SnapshotCollector
from exporter.poller import Poller, Settings
from exporter.store import StateStore
from exporter.web import build_app

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 5.0


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    """The `serve` command's flags."""

    config_file: str
    listen_address: str
    state_path: str
    events_file: str
    lifecycle: bool
    settings: Settings


class Exporter:
    """One running exporter process."""

    def __init__(self, options: ServeOptions, config: Config) -> None:
        self.options = options
        self.config = config
        self.collector = SnapshotCollector(
            Snapshot(__version__, reload_success_time=time.time())
        )
        self.registry = CollectorRegistry()
        self.registry.register(self.collector)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        store = StateStore(options.state_path)
        self.poller = Poller(
            store, EventsFile(options.events_file, store), self.collector,
            options.settings,
        )  # fmt: skip
        self._reload_lock = asyncio.Lock()
        self.session: aiohttp.ClientSession | None = None

    async def reload(self) -> list[str]:
        """Load the config file again; keep the old one if it is bad."""
        async with self._reload_lock:
            try:
                # A large file takes a while to check; scrapes go on meanwhile.
                config = await asyncio.to_thread(load_config, self.options.config_file)
            except ConfigError as error:
                log.error("config reload failed, keeping the previous one")
                for problem in error.problems:
                    log.error("config problem: %s", problem)
                self._set_reload_status(0)
                return error.problems
            await self.poller.apply(config)
            self.config = config
            self._set_reload_status(1)
            log.info("config reloaded providers=%d", len(config.providers))
            return []

    def _set_reload_status(self, successful: int) -> None:
        snapshot = self.collector.snapshot
        moment = time.time() if successful else snapshot.reload_success_time
        self.collector.snapshot = dataclasses.replace(
            snapshot, reload_successful=successful, reload_success_time=moment
        )

    async def _client_session(self, app: web.Application) -> AsyncIterator[None]:
        self.session = new_session()
        yield
        await self.poller.stop(SHUTDOWN_GRACE_SECONDS)
        await self.session.close()

    async def start_polling(self) -> None:
        """Recover state and start every provider's schedule."""
        assert self.session is not None
        await self.poller.start(self.config, self.session)

    def web_app(self) -> web.Application:
        """Return the web application; its life bounds the HTTP client's."""
        app = build_app(
            self.poller, self.registry, self.reload,
            lifecycle=self.options.lifecycle, version=__version__,
        )  # fmt: skip
        app.cleanup_ctx.append(self._client_session)
        return app


def split_listen_address(address: str) -> tuple[str | None, int]:
    """Split `host:port`, `:port` or `[v6]:port`; an empty host means all."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"invalid listen address {address!r}: needs host:port, port 1-65535"
        )
    host = host.strip("[]")
    return (host or None), int(port)


async def serve(options: ServeOptions, config: Config) -> None:
    """Run until SIGTERM or SIGINT; reload on SIGHUP."""
    # Signals are caught before anything starts: a SIGTERM or SIGHUP that comes
    # while state is recovered must neither kill the process nor be lost.
    stop, reload_asked = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload_asked.set)
    exporter = Exporter(options, config)
    runner = web.AppRunner(
        exporter.web_app(), access_log=None, handle_signals=False, shutdown_timeout=2.0
    )
    await runner.setup()
    host, port = split_listen_address(options.listen_address)
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:
        await runner.cleanup()
        raise
    await exporter.start_polling()
    loop.add_signal_handler(
        signal.SIGHUP, lambda: asyncio.ensure_future(exporter.reload())
    )
    if reload_asked.is_set():
        await exporter.reload()
    log.info(
        "listening address=%r providers=%d version=%s",
        options.listen_address, len(config.providers), __version__,
    )  # fmt: skip
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
    log.info("stopped")
