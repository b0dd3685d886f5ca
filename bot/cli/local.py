"""The jobs that run as the local user on this machine: one video (`generate`) and a terminal chat (`console`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from adapters.console.app import TerminalStatus, chat
from adapters.console.port import ConsolePort
from adapters.console.translate import PLATFORM, WORKSPACE, render_status
from bot import messages
from bot.cli.runtime import Runtime, open_runtime
from bot.commands import CommandRequest
from bot.config import Settings
from bot.jobs import IllegalTransition, Job, JobStatus
from bot.ports import AttachmentRef
from bot.views import status_view


def load_settings() -> Settings:
    """Read settings from the environment, turning validation errors into plain words."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None


def local_user() -> str:
    """The OS user name: `generate` and `console` act as this user in the workspace `local`."""
    try:
        return getpass.getuser()
    except Exception:
        return "local"


async def wait_until_done(
    rt: Runtime, job_ids: list[str], on_tick: Callable[[list[Job]], None] | None = None, every: float = 0.25
) -> list[Job]:
    """Wait until every job is delivered, failed or expired."""
    while True:
        jobs = [await rt.store.get_job(j) for j in job_ids]
        done = [j for j in jobs if j is not None]
        if on_tick is not None:
            on_tick(done)
        if all(j.status.terminal for j in done):
            return done
        await asyncio.sleep(every)


async def generate(settings: Settings, args: argparse.Namespace) -> int:
    """Make one video through the core; exit 0 done, 2 invalid input, 1 provider failure, 130 interrupted."""
    out = Path(args.out) if args.out else None
    port = ConsolePort(sys.stderr, show_status=False)
    req = CommandRequest(
        platform=PLATFORM, workspace_id=WORKSPACE, channel_id="generate", user_id=local_user(),
        user_name=local_user(), command="video", prompt=args.prompt, duration=args.duration,
        resolution=args.resolution, prompt_optimizer=False if args.no_prompt_optimizer else None,
        fast_pretreatment=True if args.fast_pretreatment else None,
        attachments=(AttachmentRef(url=args.image, filename=Path(args.image).name),) if args.image else (),
    )
    async with open_runtime(settings, {PLATFORM: port}) as rt:
        reply = await rt.core.handle(req, TerminalStatus("generate"))
        if not reply.ok or reply.job_id is None:
            print(reply.text, file=sys.stderr)
            return 2
        progress = _Progress(sys.stderr, rt.poller.clock)
        with _cancelled_on_sigterm():
            try:
                (job,) = await wait_until_done(rt, [reply.job_id], on_tick=progress.update)
            except asyncio.CancelledError:
                # Ctrl-C or SIGTERM: the job is called off, so it never holds its user's credits or slots.
                await _call_off(rt, reply.job_id)
                raise
        progress.finish()
        if job.status is not JobStatus.DELIVERED:
            print(job.error or messages.PROVIDER_FAILED, file=sys.stderr)
            return 1
        # Another process may have delivered this job: the file is the job's own, wherever it was posted.
        video = Path(job.video_path or "")
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(shutil.copyfile, video, out)
            video = out
        print(video.resolve())
        return 0


async def _call_off(rt: Runtime, job_id: str) -> None:
    """Withdraw a job that never left the line; fail (and refund) one that did."""
    job = await rt.store.get_job(job_id)
    if job is None or job.status.terminal or await rt.store.withdraw(job):
        return
    try:
        await rt.store.transition(job, JobStatus.FAILED, detail="generate was interrupted",
                                  error=messages.GENERATE_INTERRUPTED)
    except IllegalTransition:
        pass  # it ended meanwhile


@contextlib.contextmanager
def _cancelled_on_sigterm() -> Iterator[None]:
    """SIGTERM cancels the waiting, as Ctrl-C does, so the clean-up runs."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is None:
        yield
        return
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


class _Progress:
    """A progress line on stderr: rewritten in place on a terminal, one line per change otherwise."""

    def __init__(self, stream: TextIO, clock: Callable[[], float]) -> None:
        self.stream = stream
        self.clock = clock
        self.tty = stream.isatty()
        self.last: tuple[str, int] | None = None

    def update(self, jobs: list[Job]) -> None:
        for job in jobs:
            line = render_status(status_view(job, self.clock()))
            key = (job.status.value, int(time.monotonic() // 30))
            if self.tty:
                print(f"\r\033[K{line}", end="", file=self.stream, flush=True)
            elif key != self.last:
                print(line, file=self.stream, flush=True)
            self.last = key

    def finish(self) -> None:
        if self.tty:
            print(file=self.stream, flush=True)


async def console(settings: Settings, args: argparse.Namespace) -> int:
    """A chat in the terminal; at end of input wait for this session's jobs, then exit."""
    port = ConsolePort(sys.stdout)
    async with open_runtime(settings, {PLATFORM: port}) as rt:
        mine = await chat(rt.core, sys.stdin, sys.stdout, user=local_user(), prompt=sys.stdin.isatty())
        if mine:
            print(f"Waiting for {len(mine)} video(s) to finish...", flush=True)
            jobs = await wait_until_done(rt, mine)
            delivered = sum(j.status is JobStatus.DELIVERED for j in jobs)
            print(f"Done: {delivered} delivered, {len(jobs) - delivered} not.", flush=True)
    return 0
