"""`hailuo-bot` / `python -m bot`: generate, console, run."""

from __future__ import annotations

import argparse
import asyncio
import sys

from pydantic import ValidationError

from bot.cli import admin as admin_cli
from bot.cli import checks as checks_cli
from bot.cli import local, run
from bot.cli import ops as ops_cli
from bot.cli.logs import setup_logging
from bot.cli.runtime import StartupFailed
from bot.config import Settings
from bot.store import StoreUnavailable
from web import login as web_login


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="hailuo-bot", description="Make short videos with MiniMax Hailuo 2.3.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="make one video; the MP4 path goes to stdout")
    gen.add_argument("prompt", nargs="?", default="", help="what the video should show (up to 2000 characters)")
    gen.add_argument("--image", help="a PNG, JPEG or WebP file to use as the first frame")
    gen.add_argument("--duration", default=None, help="6 or 10 seconds (default 6)")
    gen.add_argument("--resolution", default=None, help="768P or 1080P (default 768P; 1080P only with 6 s)")
    gen.add_argument("--no-prompt-optimizer", action="store_true", help="send the prompt exactly as written")
    gen.add_argument("--fast-pretreatment", action="store_true", help="shorten the prompt optimisation step")
    # `--fast` once reached --fast-pretreatment as an abbreviation; it now names the Fast model (README).
    gen.add_argument("--fast", dest="model", action="store_const", const="fast",
                     help="use the Fast model: cheaper and quicker, with --image only")
    gen.add_argument("--model", dest="model", choices=("standard", "fast"),
                     help="standard (default) or fast (with --image only)")
    gen.add_argument("--camera", default="", help="camera moves added to the prompt, up to three: "
                                                  "'Pan left,Pedestal up'")
    gen.add_argument("--out", help="copy the finished MP4 here")
    gen.add_argument("--extend", metavar="JOB", help="continue a delivered video from its last frame (PROMPT: what "
                     "happens next; default the video's own prompt)")

    sub.add_parser("console", help="chat with the bot in the terminal (/video, /quota, /status, /history, /help)")
    run = sub.add_parser("run", help="run the configured Discord/Slack adapters and the poller")
    run.add_argument("--slack-http", action="store_true",
                     help="serve Slack over HTTP (POST /slack/events) even when SLACK_APP_TOKEN is set")
    run.add_argument("--port", type=int, help="the HTTP port for --slack-http (default SLACK_PORT; Heroku: $PORT)")
    run.add_argument("--workers", type=int, default=1,
                     help="run N bot processes on this machine, sharing the database and the Slack port")
    run.add_argument("--worker-of", help=argparse.SUPPRESS)  # set by --workers for each of its processes
    invite = sub.add_parser("discord-invite", help="print the URL that adds the bot to a Discord server")
    invite.add_argument("--client-id", help="the application id (default: read from DISCORD_TOKEN)")
    sub.add_parser("doctor", help="check every configured part; say what is wrong and how to fix it")
    sub.add_parser("check-provider", help="one cheap call: do the provider key, base URL and model work?")
    admin_cli.add_parsers(sub)
    ops_cli.add_parsers(sub)
    web_login.add_parser(sub)
    return parser


def config_problem(exc: ValueError) -> str:
    """A configuration error as one plain line naming the settings at fault, never their values."""
    if isinstance(exc, ValidationError):
        text = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                         for e in exc.errors(include_input=False, include_url=False))
    else:
        text = str(exc)
    return " ".join(text.replace("Value error, ", "").split())


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = local.load_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError too
        print(f"configuration error: {config_problem(exc)}", file=sys.stderr)
        return 2
    quiet = args.command != "run" and not args.verbose
    setup_logging(settings, quiet=quiet)
    runner = {
        "generate": local.generate,
        "console": local.console,
        "run": run.run,
        "check-provider": checks_cli.check_provider,
        "doctor": checks_cli.doctor,
        "discord-invite": checks_cli.discord_invite,
        "quota": admin_cli.quota,
        "usage": admin_cli.usage,
        "db": ops_cli.db,
        "prune": ops_cli.prune,
        "web-login": _web_login,
    }[args.command]
    try:
        return asyncio.run(runner(settings, args))
    except (StoreUnavailable, StartupFailed) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)  # one plain line: what to fix, no traceback
        return 2
    except KeyboardInterrupt:
        return 130


async def _web_login(settings: Settings, args: argparse.Namespace) -> int:
    """`hailuo-bot web-login`: print a one-time link that signs the operator in to the web page as an admin."""
    import time

    from storage import open_store

    store = await open_store(settings.database_url)
    try:
        print(await web_login.issue_link(store, settings, web_login.login_of(args), time.time()))
    finally:
        await store.close()
    print(f"The link works once, for {settings.web_login_minutes:g} minutes.", file=sys.stderr)
    if settings.web_port is None:
        print("WEB_PORT is not set, so `hailuo-bot run` serves no web page: set it first.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
