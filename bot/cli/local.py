"""The jobs that run as the local user on this machine: one video (`generate`) and a terminal chat (`console`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import shutil
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from adapters.console.app import TerminalStatus, chat
from adapters.console.port import ConsolePort
from adapters.console.translate import PLATFORM, WORKSPACE, render_status
from bot import camera, messages
from bot.cli.runtime import Runtime, open_runtime
from bot.commands import CommandRequest
from bot.config import Settings
from bot.delivery import folder_problem
from bot.i18n import from_environment, render
from bot.jobs import IllegalTransition, Job, JobStatus
from bot.messages.chains import EXTEND_NO_IMAGE
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
    """Make one video through the core; exit 0 done, 2 invalid input or local disk, 1 failure, 130 interrupted."""
    out = Path(args.out) if args.out else None
    # This machine's own trouble is said at once, before a credit is held or the provider is paid.
    problem = await asyncio.to_thread(_media_problem, settings) or await asyncio.to_thread(_out_problem, out)
    image_size, image_problem = await asyncio.to_thread(_image_size, args.image)
    locale = from_environment()  # the command line follows LANG
    if problem or image_problem:
        print(render(problem or image_problem or "", locale), file=sys.stderr)
        return 2
    port = ConsolePort(sys.stderr, show_status=False)
    attachment = AttachmentRef(url=args.image, filename=Path(args.image).name, size=image_size) if args.image else None
    extend = getattr(args, "extend", None)  # `--extend JOB`: the next clip of that video's chain
    if extend and args.image:
        print(render(EXTEND_NO_IMAGE, locale), file=sys.stderr)
        return 2
    req = CommandRequest(
        platform=PLATFORM, workspace_id=WORKSPACE, channel_id="generate", user_id=local_user(),
        user_name=local_user(), command="extend" if extend else "video", job_id=extend,
        prompt=(args.prompt or None) if extend else args.prompt, duration=args.duration,
        resolution=args.resolution, prompt_optimizer=False if args.no_prompt_optimizer else None,
        fast_pretreatment=True if args.fast_pretreatment else None, model=getattr(args, "model", None),
        camera=tuple(camera.split(getattr(args, "camera", ""))),
        attachments=(attachment,) if attachment else (), locale=locale,
    )
    async with open_runtime(settings, {PLATFORM: port}) as rt:
        reply = await rt.core.handle(req, TerminalStatus("generate"))
        if not reply.ok or reply.job_id is None:
            print(reply.text, file=sys.stderr)
            return 2
        progress = _Progress(sys.stderr, rt.poller.clock, rt.poller.history.time_left)
        with _cancelled_on_sigterm():
            try:
                (job,) = await wait_until_done(rt, [reply.job_id], on_tick=progress.update)
            except asyncio.CancelledError:
                # Ctrl-C or SIGTERM: the job is called off, so it never holds its user's credits or slots.
                await _call_off(rt, reply.job_id)
                raise
        progress.finish()
        if job.status is not JobStatus.DELIVERED:
            print(render(job.error or messages.PROVIDER_FAILED, locale), file=sys.stderr)
            return 1
        # Another process may have delivered this job: the file is the job's own, wherever it was posted.
        video = Path(job.video_path or "")
        if out is not None:
            failed = await asyncio.to_thread(_copy_out, video, out)
            if failed is not None:
                # The video was paid for: it stays in MEDIA_DIR, and the user learns where.
                print(render(messages.LOCAL_OUT_FAILED.format(path=out, reason=failed, kept=video.resolve()), locale),
                      file=sys.stderr)
                return 1
            video = out
        print(video.resolve())
        return 0


def _media_problem(settings: Settings) -> str | None:
    """MEDIA_DIR must take files: otherwise the finished video would have nowhere to go."""
    media = Path(settings.media_dir)
    reason = folder_problem(media)
    return None if reason is None else messages.LOCAL_MEDIA_UNWRITABLE.format(path=media, reason=reason)


def _out_problem(out: Path | None) -> str | None:
    """--out must name a file in an existing, writable folder, checked before anything is paid for."""
    if out is None:
        return None
    if out.is_dir():
        return messages.LOCAL_OUT_IS_DIR.format(path=out)
    parent = out.parent
    if not parent.is_dir():
        return messages.LOCAL_OUT_NO_FOLDER.format(path=out, parent=parent)
    reason = folder_problem(parent, create=False)
    return None if reason is None else messages.LOCAL_OUT_UNWRITABLE.format(path=out, parent=parent, reason=reason)


def _image_size(image: str | None) -> tuple[int | None, str | None]:
    """The --image file's size, or why it cannot be used: only a regular file, since opening a FIFO blocks."""
    if not image:
        return None, None
    try:
        info = os.stat(image)  # stat never opens, so it cannot hang on a FIFO or a device
    except (FileNotFoundError, NotADirectoryError):
        return None, messages.LOCAL_IMAGE_MISSING.format(path=image)
    except OSError:
        return None, None  # e.g. no permission: reading it fails and the core says so in its own words
    if not stat.S_ISREG(info.st_mode):
        return None, messages.LOCAL_IMAGE_NOT_FILE.format(path=image)
    return info.st_size, None  # the core refuses an image this large before reading it


def _copy_out(video: Path, out: Path) -> str | None:
    """Copy the video to --out through a temporary name, so a failed copy leaves no partial file; the error."""
    part = out.with_name(f".{out.name}.part")
    try:
        shutil.copyfile(video, part)
        os.replace(part, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
        return exc.strerror or str(exc)
    return None


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

    def __init__(self, stream: TextIO, clock: Callable[[], float],
                 time_left: Callable[[Job, float], float | None] | None = None) -> None:
        self.stream = stream
        self.clock = clock
        self.time_left = time_left  # the shared history's estimate (bot/job_history.py)
        self.tty = stream.isatty()
        self.last: tuple[str, int] | None = None

    def update(self, jobs: list[Job]) -> None:
        for job in jobs:
            now = self.clock()
            left = self.time_left(job, now) if self.time_left is not None else None
            line = render_status(status_view(job, now, time_left=left))
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
            locale = from_environment()
            print(render(messages.CONSOLE_WAITING.format(count=len(mine)), locale), flush=True)
            jobs = await wait_until_done(rt, mine)
            delivered = sum(j.status is JobStatus.DELIVERED for j in jobs)
            print(render(messages.CONSOLE_DONE.format(delivered=delivered, failed=len(jobs) - delivered), locale),
                  flush=True)
    return 0
