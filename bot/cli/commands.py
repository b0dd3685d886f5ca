"""The command-line jobs: one video (`generate`), a terminal chat (`console`), the bot (`run`)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import signal
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

from pydantic import ValidationError

from adapters.console.port import ConsolePort
from adapters.console.translate import PLATFORM, WORKSPACE, render_reply, render_status, to_request
from bot import messages
from bot.cli.logs import setup_logging
from bot.cli.runtime import Runtime, open_runtime
from bot.commands import CommandRequest
from bot.config import Settings
from bot.jobs import Job, JobStatus
from bot.metrics import serve, serve_app
from bot.ports import AttachmentRef, MessageRef
from bot.providers.base import Fault, ProviderError
from bot.providers.callbacks import callback_app
from bot.providers.factory import callback_secret, callback_url, make_provider
from bot.tasks import TaskSupervisor
from bot.views import status_view

log = logging.getLogger(__name__)

__all__ = ["console", "generate", "load_settings", "run", "setup_logging"]


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


async def wait_until_done(rt: Runtime, job_ids: list[str], on_tick=None, every: float = 0.25) -> list[Job]:
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
    """Make one video through the core; exit 0 done, 2 invalid input, 1 provider failure."""
    out = Path(args.out) if args.out else None
    port = ConsolePort(sys.stderr, copy_to=(lambda _job: out), show_status=False)
    req = CommandRequest(
        platform=PLATFORM, workspace_id=WORKSPACE, channel_id="generate", user_id=local_user(),
        user_name=local_user(), command="video", prompt=args.prompt, duration=args.duration,
        resolution=args.resolution, prompt_optimizer=False if args.no_prompt_optimizer else None,
        fast_pretreatment=True if args.fast_pretreatment else None,
        attachments=(AttachmentRef(url=args.image, filename=Path(args.image).name),) if args.image else (),
    )
    async with open_runtime(settings, {PLATFORM: port}) as rt:
        reply = await rt.core.handle(req)
        if not reply.ok or reply.job_id is None:
            print(reply.text, file=sys.stderr)
            return 2
        await rt.core.bind(reply.job_id, status_message=MessageRef("generate", reply.job_id))
        progress = _Progress(sys.stderr, rt)
        (job,) = await wait_until_done(rt, [reply.job_id], on_tick=progress.update)
        progress.finish()
        if job.status is JobStatus.DELIVERED:
            print(Path(port.delivered.get(job.id) or job.video_path or "").resolve())
            return 0
        print(job.error or messages.PROVIDER_FAILED, file=sys.stderr)
        return 1


class _Progress:
    """A progress line on stderr: rewritten in place on a terminal, one line per change otherwise."""

    def __init__(self, stream, rt: Runtime) -> None:
        self.stream = stream
        self.rt = rt
        self.tty = stream.isatty()
        self.last: tuple[str, int] | None = None

    def update(self, jobs: list[Job]) -> None:
        for job in jobs:
            line = render_status(status_view(job, self.rt.poller.clock()))
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
    user = local_user()
    interactive = sys.stdin.isatty()
    mine: list[str] = []
    async with open_runtime(settings, {PLATFORM: port}) as rt:
        print(rt.core.help_text())
        while True:
            if interactive:
                print("> ", end="", flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            req = to_request(line, user_id=user)
            if req is None:
                continue
            reply = await rt.core.handle(req)
            print(render_reply(reply), flush=True)
            if reply.job_id:
                mine.append(reply.job_id)
                await rt.core.bind(reply.job_id, status_message=MessageRef("terminal", reply.job_id))
        if mine:
            print(f"Waiting for {len(mine)} video(s) to finish...", flush=True)
            jobs = await wait_until_done(rt, mine)
            delivered = sum(j.status is JobStatus.DELIVERED for j in jobs)
            print(f"Done: {delivered} delivered, {len(jobs) - delivered} not.", flush=True)
    return 0


async def doctor(settings: Settings, args: argparse.Namespace) -> int:
    """Check every configured part; exit 0 only when all is well."""
    from bot.doctor import diagnose

    findings = await diagnose(settings)
    for f in findings:
        print(f"{'ok ' if f.ok else 'FIX'}  {f.part}: {f.message}")
    bad = [f for f in findings if not f.ok]
    print("All is well." if not bad else f"{len(bad)} thing(s) to fix.")
    return 0 if not bad else 1


async def discord_invite(settings: Settings, args: argparse.Namespace) -> int:
    """Print the invite URL with the scopes and permissions the bot needs."""
    from adapters.discord.invite import application_id_from_token, invite_url, permission_names

    client_id = args.client_id
    if client_id is None and settings.discord_token is not None:
        client_id = application_id_from_token(settings.discord_token.get_secret_value())
    if not client_id:
        print("Set DISCORD_TOKEN, or pass --client-id (Developer Portal -> General Information -> "
              "Application ID).", file=sys.stderr)
        return 2
    print(invite_url(client_id))
    print("Scopes: bot, applications.commands. Permissions: " + ", ".join(permission_names()) + ".",
          file=sys.stderr)
    return 0


async def check_provider(settings: Settings, args: argparse.Namespace) -> int:
    """Tell the operator, in plain words, whether the configured provider works."""
    supervisor = TaskSupervisor()
    try:
        state_dir = Path(settings.media_dir) / ".local-provider"
        provider = make_provider(settings, supervisor=supervisor, state_dir=state_dir)
    except ValueError as exc:
        print(f"Not configured: {exc}.", file=sys.stderr)
        return 1
    try:
        check = getattr(provider, "check", None)
        if check is None:
            print("The local provider renders videos on this machine; it needs no key and no network.")
            return 0
        try:
            print(await check())
            return 0
        except ProviderError as exc:
            print(provider_problem(settings, exc), file=sys.stderr)
            return 1
    finally:
        await provider.aclose()
        await supervisor.aclose()


def provider_problem(settings: Settings, exc: ProviderError) -> str:
    """A provider failure as advice for the operator."""
    name = settings.hailuo_provider
    if exc.fault is Fault.OPERATOR:
        fix = {"minimax": "check MINIMAX_API_KEY, that it belongs to MINIMAX_BASE_URL's region, and the balance",
               "cloudflare": "check CLOUDFLARE_API_TOKEN (AI Gateway permission) and CLOUDFLARE_ACCOUNT_ID"}
        return f"The {name} provider refused the credentials ({exc}): {fix.get(name, 'check the settings')}."
    return f"Could not get a good answer from the {name} provider ({exc}); check the base URL and the network."


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the configured adapters and the poller until SIGINT or SIGTERM."""
    if getattr(args, "slack_http", False):
        settings = settings.model_copy(update={"slack_app_token": None})
    if getattr(args, "port", None):
        settings = settings.model_copy(update={"slack_port": args.port})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings) as rt, AsyncExitStack() as adapters:
        if settings.metrics_port is not None:
            runner = await serve(rt, settings.metrics_port)
            adapters.push_async_callback(runner.cleanup)
        if callback_url(settings):
            runner = await serve_app(callback_app(callback_secret(settings), rt.poller.on_push), settings.callback_port)
            adapters.push_async_callback(runner.cleanup)
            rt.poller.pushes = True
            log.info("taking MiniMax status pushes on port %d", settings.callback_port)
        started = await _start_adapters(settings, rt, adapters)
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


async def _start_adapters(settings: Settings, rt: Runtime, stack: AsyncExitStack) -> list[str]:
    """Start each adapter whose token is set (closed in reverse by `stack`); return their names."""
    started = []
    if settings.discord_token is not None:
        from adapters.discord.app import DiscordAdapter

        discord_adapter = DiscordAdapter(settings, rt)
        await discord_adapter.start()
        stack.push_async_callback(discord_adapter.aclose)
        started.append("discord")
    if settings.slack_bot_token is not None:
        from adapters.slack.app import SlackAdapter

        slack_adapter = SlackAdapter(settings, rt)
        await slack_adapter.start()
        stack.push_async_callback(slack_adapter.aclose)
        started.append("slack")
    return started
