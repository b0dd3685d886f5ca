"""`hailuo-bot doctor`: check every configured part and say in plain words what is wrong and how to fix it.

Only the platform-neutral checks live here. Each chat platform supplies its own check, and the command
layer passes the ones for the configured platforms to `diagnose`: this core module knows no platform.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.delivery import folder_problem
from bot.providers.base import Fault, ProviderError
from bot.providers.factory import in_use, make_provider
from bot.providers.render import render_video
from bot.tasks import TaskSupervisor


@dataclass(frozen=True)
class Finding:
    """One check's verdict."""

    part: str
    ok: bool
    message: str


PlatformCheck = Callable[[Settings], Awaitable[Finding]]
"""A check that belongs to another part (the storage, a platform adapter), supplied by the caller of `diagnose`."""


async def diagnose(
    settings: Settings, database_check: PlatformCheck, platform_checks: Sequence[PlatformCheck] = ()
) -> list[Finding]:
    """Run the storage's check and the neutral ones, then each given platform check, in order."""
    findings = [await database_check(settings), await _media(settings), await _encoder()]
    findings += [await _provider(settings, name) for name in in_use(settings)]
    for check in platform_checks:
        findings.append(await check(settings))
    return findings


def provider_problem(settings: Settings, exc: ProviderError, name: str | None = None) -> str:
    """A provider failure as advice for the operator."""
    name = name or settings.hailuo_provider
    if exc.fault is Fault.OPERATOR:
        fix = {"minimax": "check MINIMAX_API_KEY, that it belongs to MINIMAX_BASE_URL's region, and the balance",
               "cloudflare": "check CLOUDFLARE_API_TOKEN (AI Gateway permission) and CLOUDFLARE_ACCOUNT_ID",
               "replicate": "check REPLICATE_API_TOKEN and the account's billing",
               "fal": "check FAL_KEY and the account's balance"}
        return f"The {name} provider refused the credentials ({exc}): {fix.get(name, 'check the settings')}."
    return f"Could not get a good answer from the {name} provider ({exc}); check the base URL and the network."


async def _media(settings: Settings) -> Finding:
    media = Path(settings.media_dir)
    problem = await asyncio.to_thread(folder_problem, media)  # the same check `generate` makes before it starts
    if problem is not None:
        return Finding("media", False, f"cannot write videos to {media} ({problem}). Fix its permissions, free "
                                       "some space, or set MEDIA_DIR.")
    return Finding("media", True, f"{media} is writable")


async def _encoder() -> Finding:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "check.mp4"
        try:
            await asyncio.to_thread(render_video, out, prompt="check", duration=6, resolution="768P", fps=1)
        except Exception as exc:
            return Finding("encoder", False, f"PyAV cannot encode H.264 ({exc}); reinstall the `av` package.")
    return Finding("encoder", True, "PyAV encodes H.264")


async def _provider(settings: Settings, name: str) -> Finding:
    part = "provider" if name == settings.hailuo_provider else "fallback provider"
    supervisor = TaskSupervisor()
    try:
        provider = make_provider(settings, supervisor=supervisor, state_dir=Path(tempfile.gettempdir()), name=name)
    except ValueError as exc:
        return Finding(part, False, f"{exc}.")
    try:
        check = getattr(provider, "check", None)
        if check is None:
            return Finding(part, True, "local (renders on this machine; not an AI model)")
        return Finding(part, True, await check())
    except ProviderError as exc:
        return Finding(part, False, provider_problem(settings, exc, name))
    finally:
        await provider.aclose()
        await supervisor.aclose()
