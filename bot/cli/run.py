"""`hailuo-bot run`: the configured adapters, the poller and the HTTP endpoints, until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import logging
import signal
from collections.abc import Iterator
from contextlib import AsyncExitStack

from bot import messages
from bot.cli.health import health_app, serve, serve_app
from bot.cli.runtime import Runtime, StartupFailed, open_runtime
from bot.cli.workers import parse_worker, supervise
from bot.config import Settings
from bot.providers.callbacks import callback_app
from bot.providers.factory import PUSHING, callback_secret, callback_url, webhook_readers

log = logging.getLogger(__name__)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the configured adapters and the poller until SIGINT or SIGTERM (or N such processes: --workers)."""
    if getattr(args, "workers", 1) > 1:
        return await supervise(args, args.workers)
    worker = parse_worker(getattr(args, "worker_of", None))
    if worker is not None and settings.discord_shard_count is None:
        # Each worker holds one shard of Discord's gateway, so no event reaches two of them.
        settings = settings.model_copy(update={"discord_shard_count": worker[1], "discord_shard_ids": str(worker[0])})
    if getattr(args, "slack_http", False):
        settings = settings.model_copy(update={"slack_app_token": None})
    if getattr(args, "port", None):
        settings = settings.model_copy(update={"slack_port": args.port})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings) as rt, AsyncExitStack() as adapters:
        if settings.metrics_port is not None and settings.metrics_port != settings.web_port:
            with _port_named("METRICS_PORT", settings.metrics_port):
                runner = await serve(rt, settings.metrics_port)
            adapters.push_async_callback(runner.cleanup)
        pushing = [name for name in PUSHING if callback_url(settings, name)]
        callbacks = callback_app(callback_secret(settings), rt.poller.on_push, webhook_readers(settings))
        if settings.web_port is not None:
            # One app on one port: the page, /healthz, /metrics and (when pushes are asked for) /callbacks/...
            from web.app import web_app

            app = web_app(settings, rt.store, merge=[health_app(rt), *([callbacks] if pushing else [])])
            with _port_named("WEB_PORT", settings.web_port):
                runner = await serve_app(app, settings.web_port)
            adapters.push_async_callback(runner.cleanup)
            log.info("web page, health and metrics%s on port %d", " and callbacks" if pushing else "",
                     settings.web_port)
        elif pushing:
            with _port_named("CALLBACK_PORT", settings.callback_port):
                runner = await serve_app(callbacks, settings.callback_port)
            adapters.push_async_callback(runner.cleanup)
        if pushing:
            rt.poller.pushes = True
            log.info("taking status pushes from %s on port %d", " and ".join(pushing),
                     settings.web_port or settings.callback_port)
        try:
            with _port_named("SLACK_PORT (or --port)", settings.slack_port):
                started = await _start_adapters(settings, rt, adapters, shared_port=worker is not None)
        except ValueError as exc:
            raise StartupFailed(str(exc)) from None
        if not started:
            log.warning(messages.RUN_POLLER_ONLY)
        else:
            log.info("running: %s", ", ".join(started))
        # Everything made at start-up lives as long as the process: keep it out of the garbage
        # collector's scans, which otherwise pause a burst of requests for tens of milliseconds.
        gc.freeze()
        await stop.wait()
        log.info("stopping: finishing uploads under way, then closing connections")
        # Before the adapters close: an upload under way needs its platform connection.
        await rt.poller.stop(settings.shutdown_grace_seconds)
    return 0


@contextlib.contextmanager
def _port_named(setting: str, port: int) -> Iterator[None]:
    """A port already in use, said in one line naming the setting that chose it."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupFailed(f"{setting}: port {port} is already in use; stop what uses it or choose "
                                "another port") from None
        raise


async def _start_adapters(settings: Settings, rt: Runtime, stack: AsyncExitStack, *, shared_port: bool) -> list[str]:
    """Start each adapter whose token is set (closed in reverse by `stack`); return their names."""
    started = []
    if settings.discord_token is not None:
        from adapters.discord.app import DiscordAdapter

        discord_adapter = DiscordAdapter(settings, rt.context)
        await discord_adapter.start()
        stack.push_async_callback(discord_adapter.aclose)
        started.append("discord")
    if settings.slack_bot_token is not None:
        from adapters.slack.app import SlackAdapter

        slack_adapter = SlackAdapter(settings, rt.context, shared_port=shared_port)
        await slack_adapter.start()
        stack.push_async_callback(slack_adapter.aclose)
        started.append("slack")
    return started
