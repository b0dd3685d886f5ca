"""Admin commands in the chat: quotas, the workspace budget, blocked users, channel allow-list, usage, the audit log."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot import i18n, messages
from bot.commands import CommandRequest, Reply
from bot.config import Settings
from bot.days import utc_day
from bot.messages import channel_ref, user_ref
from bot.safe_text import shown
from bot.store import Store

# A workspace's own daily dollar cap can be set up to this; past it a typo (an extra zero or two) is likelier.
MAX_BUDGET_USD = 1_000_000


class _Refused(Exception):
    """An admin's value the bot will not take; its words go back to the admin as a refusal, nothing changed."""


@dataclass(frozen=True)
class AdminScope:
    """What an admin command works on: the settings, the store and the clock."""

    settings: Settings
    store: Store
    clock: Callable[[], float]


async def handle_admin(scope: AdminScope, req: CommandRequest) -> Reply:
    """Carry out one admin action; the platform's own admin check arrives as `req.is_admin`."""
    if not req.is_admin:
        return Reply(messages.ADMIN_ONLY, ok=False, ephemeral=True)
    action, *rest = req.args or ("help",)
    handler = {"quota": _quota, "block": _block, "unblock": _block, "channels": _channels, "usage": _usage,
               "log": _log, "language": _language, "budget": _budget}.get(action.lower())
    if handler is None:
        return Reply(messages.ADMIN_HELP, ephemeral=True)
    try:
        return Reply(await handler(scope, req, action.lower(), rest), ephemeral=True)
    except _Refused as refused:
        return Reply(i18n.said(refused), ok=False, ephemeral=True)
    except (IndexError, ValueError):
        return Reply(messages.ADMIN_BAD.format(help=messages.ADMIN_HELP), ok=False, ephemeral=True)


def _actor(req: CommandRequest) -> str:
    return f"{req.platform}:{req.user_id}"


async def _quota(core: AdminScope, req: CommandRequest, action: str, rest: list[str]) -> str:
    s = core.settings
    if rest and rest[0] == "set":
        credits = int(rest[1])
        if credits < 0:
            raise ValueError("negative credits")
        user = rest[2] if len(rest) > 2 else ""
        await core.store.set_limit(req.platform, req.workspace_id, user, credits, set_by=_actor(req))
        who = user_ref(user) if user else messages.THIS_WORKSPACE
        return messages.ADMIN_LIMIT_SET.format(who=who, credits=credits)
    user = rest[0] if rest else "-"
    u = await core.store.usage(req.platform, req.workspace_id, user, day=utc_day(core.clock()),
                               user_limit=s.quota_user_daily_credits, workspace_limit=s.quota_workspace_daily_credits)
    text = messages.ADMIN_QUOTA_WORKSPACE.format(used=u.workspace_used, left=u.workspace_left,
                                                 limit=u.workspace_limit)
    if rest:
        user_text = messages.ADMIN_QUOTA_USER.format(user=user_ref(user), used=u.user_used - u.user_held,
                                                     held=u.user_held, left=u.user_left, limit=u.user_limit)
        return i18n.join(" ", [user_text, text])
    return text


async def _block(core: AdminScope, req: CommandRequest, action: str, rest: list[str]) -> str:
    user = rest[0]
    await core.store.set_blocked(req.platform, req.workspace_id, user, action == "block", set_by=_actor(req))
    return (messages.ADMIN_BLOCKED if action == "block" else messages.ADMIN_UNBLOCKED).format(user=user_ref(user))


async def _channels(core: AdminScope, req: CommandRequest, action: str, rest: list[str]) -> str:
    if rest:
        verb, channel = rest[0].lower(), rest[1]
        if verb not in ("allow", "remove"):
            raise ValueError(verb)
        await core.store.set_channel_allowed(req.platform, req.workspace_id, channel, verb == "allow",
                                             set_by=_actor(req))
        said = messages.ADMIN_CHANNEL_ALLOWED if verb == "allow" else messages.ADMIN_CHANNEL_REMOVED
        return said.format(channel=channel_ref(channel))
    allowed = await core.store.allowed_channels(req.platform, req.workspace_id)
    if not allowed:
        return messages.ADMIN_CHANNELS_NONE
    return messages.ADMIN_CHANNELS.format(channels=", ".join(channel_ref(c) for c in allowed))


async def _usage(core: AdminScope, req: CommandRequest, action: str, rest: list[str]) -> str:
    days = max(1, int(rest[0])) if rest else 7
    since = (datetime.fromtimestamp(core.clock(), UTC) - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    rows = await core.store.usage_report(since, req.platform, req.workspace_id)
    lines = [messages.ADMIN_USAGE.format(days=days, jobs=sum(r.jobs for r in rows),
                                         delivered=sum(r.delivered for r in rows), failed=sum(r.failed for r in rows),
                                         credits=sum(r.credits_captured for r in rows), usd=sum(r.usd for r in rows))]
    per_provider: dict[str, list[float]] = {}
    for r in rows:
        spent = per_provider.setdefault(r.provider or "?", [0, 0.0])
        spent[0] += r.delivered
        spent[1] += r.usd
    if len(per_provider) > 1:
        lines.append(messages.ADMIN_USAGE_PROVIDERS.format(providers=i18n.join(", ", (
            messages.ADMIN_USAGE_PROVIDER.format(name=name, usd=usd, count=int(n))
            for name, (n, usd) in sorted(per_provider.items())))))
    per_user: dict[str, list[float]] = {}
    for r in rows:
        total = per_user.setdefault(r.user_id, [0, 0, 0.0])
        total[0] += r.delivered
        total[1] += r.credits_captured
        total[2] += r.usd
    for user, (delivered, credits, usd) in sorted(per_user.items(), key=lambda kv: -kv[1][2])[:10]:
        lines.append(messages.ADMIN_USAGE_USER.format(user=user_ref(user), delivered=int(delivered),
                                                      credits=int(credits), usd=usd))
    return i18n.join("\n", lines)


async def _language(core: AdminScope, req: CommandRequest, action: str, rest: list[str]) -> str:
    if rest:
        code = i18n.normalize(rest[0])
        if code is None:
            return messages.ADMIN_LANGUAGE_UNKNOWN.format(code=rest[0], languages=", ".join(i18n.available()))
        await core.store.set_workspace_locale(req.platform, req.workspace_id, code, set_by=_actor(req))
        return messages.ADMIN_LANGUAGE_SET.format(language=i18n.language_name(code), code=code)
    code = await core.store.workspace_locale(req.platform, req.workspace_id) or i18n.SOURCE
    return messages.ADMIN_LANGUAGE.format(language=i18n.language_name(code), code=code)


async def _budget(core: AdminScope, req: CommandRequest, action: str, rest: list[str]) -> str:
    """The workspace's own daily dollar cap: shown, set, or removed with `off` (BUDGET_DAILY_USD is the operator's)."""
    usd = _dollars(" ".join(rest)) if rest else None
    if rest:
        await core.store.set_workspace_budget(req.platform, req.workspace_id, usd, set_by=_actor(req))
    now = await core.store.workspace_budget(req.platform, req.workspace_id, day=utc_day(core.clock()))
    if not rest:
        said = messages.ADMIN_BUDGET_NONE if now.usd is None else messages.ADMIN_BUDGET
    else:
        said = messages.ADMIN_BUDGET_OFF if usd is None else messages.ADMIN_BUDGET_SET
    ceiling = core.settings.budget_daily_usd
    return i18n.join(" ", [said.format(budget=now.usd or 0.0, spent=now.spent_usd),
                           messages.ADMIN_BUDGET_NO_CEILING if ceiling is None
                           else messages.ADMIN_BUDGET_CEILING.format(ceiling=ceiling)])


def _dollars(word: str) -> float | None:
    """`25`, `7.50` or `$25` as dollars (to the cent), `off` as None; anything else is refused in plain words."""
    if word.lower() == "off":
        return None
    try:
        usd = float(word.removeprefix("$"))
    except ValueError:
        usd = math.nan
    if not 0 <= usd <= MAX_BUDGET_USD:  # NaN fails this too
        raise _Refused(messages.ADMIN_BUDGET_BAD.format(value=shown(word), max=MAX_BUDGET_USD))
    return round(usd, 2)


async def _log(core: AdminScope, req: CommandRequest, action: str, rest: list[str]) -> str:
    entries = await core.store.admin_log(req.platform, req.workspace_id, limit=15)
    if not entries:
        return messages.ADMIN_LOG_EMPTY
    return "\n".join(f"{datetime.fromtimestamp(at, UTC):%Y-%m-%d %H:%M} {actor.split(':', 1)[-1]} {act} {detail}"
                     for at, actor, act, detail in entries)
