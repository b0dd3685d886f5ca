"""`hailuo-bot run --workers N`: N bot processes on this machine, started, watched and stopped together.

They share the database like any other processes; Slack's HTTP port is shared through SO_REUSEPORT
(the kernel spreads connections across them), and Discord's gateway is split into one shard each
unless DISCORD_SHARD_COUNT says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time

log = logging.getLogger(__name__)

EARLY_EXIT_SECONDS = 10.0  # a worker that dies this soon failed to start: stop them all, with its code


def worker_argv(args: argparse.Namespace, index: int, count: int) -> list[str]:
    """The command line of worker `index` of `count`."""
    argv = [sys.executable, "-m", "bot", "run", "--worker-of", f"{index}/{count}"]
    if args.slack_http:
        argv.append("--slack-http")
    if args.port:
        argv += ["--port", str(args.port)]
    return argv


def parse_worker(value: str | None) -> tuple[int, int] | None:
    """`2/4` -> (2, 4): this process is worker 2 of 4."""
    if not value:
        return None
    index, _, count = value.partition("/")
    return int(index), int(count)


async def supervise(args: argparse.Namespace, count: int) -> int:
    """Start `count` workers; forward SIGINT/SIGTERM; restart one that dies later; return the exit code."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    procs: dict[int, asyncio.subprocess.Process] = {}
    started: dict[int, float] = {}

    async def spawn(index: int) -> None:
        procs[index] = await asyncio.create_subprocess_exec(*worker_argv(args, index, count))
        started[index] = time.monotonic()
        log.info("worker %d of %d started (pid %d)", index, count, procs[index].pid)

    for index in range(count):
        await spawn(index)
    code = 0
    stop_wait = asyncio.ensure_future(stopping.wait())
    while not stopping.is_set():
        waits = {asyncio.ensure_future(p.wait()): i for i, p in procs.items()}
        done, _ = await asyncio.wait([*waits, stop_wait], return_when=asyncio.FIRST_COMPLETED)
        for fut in waits:
            if fut not in done:
                fut.cancel()
        for fut in done:
            if fut is stop_wait:
                continue
            index = waits[fut]
            returned = fut.result()
            if time.monotonic() - started[index] < EARLY_EXIT_SECONDS and returned != 0:
                log.error("worker %d failed to start (exit %d); stopping the others", index, returned)
                code = returned
                stopping.set()
            elif not stopping.is_set():
                log.warning("worker %d stopped (exit %d); starting it again", index, returned)
                await spawn(index)
    for proc in procs.values():
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    results = await asyncio.gather(*(p.wait() for p in procs.values()))
    return code or max(results, default=0)
