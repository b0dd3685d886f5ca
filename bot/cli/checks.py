"""The checking commands: `doctor`, `check-provider`, `discord-invite`.

Wiring: `doctor` picks the platform checks of the configured adapters and hands them to the neutral
`bot.doctor.diagnose`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx

from bot.config import Settings, header_problem
from bot.doctor import Finding, PlatformCheck, diagnose, provider_problem
from bot.providers.base import ProviderError
from bot.providers.factory import in_use, make_provider
from bot.tasks import TaskSupervisor
from storage.check import check as database_check

__all__ = ["check_provider", "diagnose_configured", "discord_invite", "doctor", "platform_checks", "unsendable_key"]


def platform_checks(settings: Settings) -> list[PlatformCheck]:
    """The doctor checks of the adapters these settings configure: Discord, then Slack."""
    checks: list[PlatformCheck] = []
    if settings.discord_token is not None:
        from adapters.discord.doctor import check as discord_check

        checks.append(discord_check)
    if settings.slack_bot_token is not None:
        from adapters.slack.doctor import check as slack_check

        checks.append(slack_check)
    return checks


async def diagnose_configured(settings: Settings) -> list[Finding]:
    """Every check that applies to these settings: the neutral ones, then the configured platforms'."""
    return await diagnose(settings, database_check, platform_checks(settings))


async def doctor(settings: Settings, args: argparse.Namespace) -> int:
    """Check every configured part; exit 0 only when all is well."""
    findings = await diagnose_configured(settings)
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


KEY_SETTINGS = {"minimax": "MINIMAX_API_KEY", "cloudflare": "CLOUDFLARE_API_TOKEN",
                "replicate": "REPLICATE_API_TOKEN", "fal": "FAL_KEY"}


def unsendable_key(settings: Settings) -> str:
    """The advice when the provider's key cannot go into an HTTP header at all (never quoting it)."""
    setting = KEY_SETTINGS.get(settings.hailuo_provider, "the API key")
    return (f"The API key contains characters an HTTP header cannot carry (a line break, a control character or a "
            f"non-ASCII letter), so nothing was sent: set {setting} again as one line; the network is not at fault.")


async def check_provider(settings: Settings, args: argparse.Namespace) -> int:
    """Tell the operator, in plain words, whether the configured provider (and the fallback) works."""
    worst = 0
    for name in in_use(settings):
        if name != settings.hailuo_provider:
            print(f"Fallback ({name}):")
        worst = max(worst, await _check_one(settings, name))
    return worst


async def _check_one(settings: Settings, name: str) -> int:
    supervisor = TaskSupervisor()
    try:
        state_dir = Path(settings.media_dir) / ".local-provider"
        provider = make_provider(settings, supervisor=supervisor, state_dir=state_dir, name=name)
    except ValueError as exc:
        # httpx encodes the key into the client's headers here, and its UnicodeError would quote it.
        key = settings.cloudflare_api_token if settings.hailuo_provider == "cloudflare" else settings.minimax_api_key
        if isinstance(exc, UnicodeError) and key is not None and header_problem(key.get_secret_value()):
            print(unsendable_key(settings), file=sys.stderr)
        else:
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
            # httpx refusing to send a header is reported like a dropped connection; it is the key.
            refused = isinstance(exc.__cause__, (httpx.LocalProtocolError, UnicodeError))
            print(unsendable_key(settings) if refused else provider_problem(settings, exc, name), file=sys.stderr)
            return 1
    finally:
        await provider.aclose()
        await supervisor.aclose()
