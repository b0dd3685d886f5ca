"""The `preset` command: save, list, use (as a default) and delete presets, answered in plain words.

A request's `args` are the action and its operands: `("save", NAME)` or `("save", NAME, "workspace")` with
the text in `prompt` and the settings in the request's own fields; `("list",)`; `("use", NAME)` (a
default; `use NAME PROMPT` is a video request, built by the adapter, with `preset=NAME`);
`("delete", NAME)` or `("delete", NAME, "workspace")`. Workspace presets are for admins, by the
platform's own check (`req.is_admin`, as for admin commands).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot import i18n, messages
from bot.commands import CommandRequest, Reply
from bot.config import Settings
from bot.contract import InvalidRequest, VideoRequest
from bot.messages import SECONDS, WORD_FAST, WORD_OPTIMIZER_OFF
from bot.messages import presets as say
from bot.policy import blocked_term
from bot.presets import MAX_PER_SCOPE, OFF, PLACEHOLDER, WORKSPACE, Preset, check_name
from bot.safe_text import shown
from bot.store import Store

SHARED_WORDS = ("workspace", "shared", "--workspace", "--shared", "server")
PREVIEW = 80  # characters of each preset's text in `list`


class CoreParts(Protocol):
    """What the preset command needs of the core (bot.core.Core has it)."""

    settings: Settings
    store: Store
    clock: Callable[[], float]


async def preset_command(core: CoreParts, req: CommandRequest) -> Reply:
    """Carry out one preset action for the member behind `req`."""
    action, *rest = req.args or ("help",)
    handler = {"save": _save, "list": _list, "use": _use, "delete": _delete}.get(action.lower())
    if handler is None:
        return Reply(say.PRESET_HELP.format(placeholder=PLACEHOLDER), ephemeral=True)
    shared = any(word.lower() in SHARED_WORDS for word in rest[1:])
    try:
        return Reply(await handler(core, req, rest[0] if rest else None, shared), ephemeral=True)
    except InvalidRequest as exc:
        return Reply(i18n.said(exc), ok=False, ephemeral=True)


async def _save(core: CoreParts, req: CommandRequest, name: str | None, shared: bool) -> str:
    name = check_name(name)
    text = (req.prompt or "").strip()
    if not text:
        raise InvalidRequest(say.PRESET_TEXT_MISSING)
    if shared and not req.is_admin:
        raise InvalidRequest(say.PRESET_ADMINS_ONLY)
    # The text and the settings are checked as a prompt would be: the limit, the characters, 1080P at 6 s only.
    checked = VideoRequest.build(text, duration=req.duration, resolution=req.resolution)
    if term := blocked_term(text, core.settings.blocked_term_list):
        raise InvalidRequest(messages.BLOCKED_TERM.format(term=term))
    preset = Preset(
        req.platform, req.workspace_id, WORKSPACE if shared else req.user_id, name, text,
        duration=checked.duration if req.duration not in (None, "") else None,
        resolution=checked.resolution if req.resolution not in (None, "") else None,
        prompt_optimizer=req.prompt_optimizer, fast_pretreatment=req.fast_pretreatment,
        created_by=f"{req.platform}:{req.user_id}", created_at=core.clock(),
    )
    if not await core.store.save_preset(preset, max_per_scope=MAX_PER_SCOPE):
        full = say.PRESET_FULL_WORKSPACE if shared else say.PRESET_FULL_OWN
        raise InvalidRequest(full.format(limit=MAX_PER_SCOPE))
    return (say.PRESET_SAVED_WORKSPACE if shared else say.PRESET_SAVED_OWN).format(name=shown(name))


async def _list(core: CoreParts, req: CommandRequest, name: str | None, shared: bool) -> str:
    presets = await core.store.presets(req.platform, req.workspace_id, req.user_id)
    if not presets:
        return say.PRESET_LIST_NONE
    default = await core.store.default_preset(req.platform, req.workspace_id, req.user_id)
    own = {p.name for p in presets if not p.shared}
    lines = [say.PRESET_LIST_HEAD]
    for p in presets:
        mine = default == p.name and (not p.shared or p.name not in own)
        if p.shared:
            who = say.PRESET_SHADOWED if p.name in own else (say.PRESET_SHARED_DEFAULT if mine else say.PRESET_SHARED)
        else:
            who = say.PRESET_YOURS_DEFAULT if mine else say.PRESET_YOURS
        # A list that fits a message; the text is a member's, shown as typed (never a link or a ping).
        text = shown(p.text if len(p.text) <= PREVIEW else p.text[:PREVIEW - 1] + "…")
        words = settings_of(p)
        name = shown(p.name)
        line = say.PRESET_LINE_SETTINGS.format(name=name, who=who, text=text, settings=i18n.join(", ", words)) \
            if words else say.PRESET_LINE.format(name=name, who=who, text=text)
        lines.append(line)
    lines.append(say.PRESET_LIST_FOOT.format(placeholder=PLACEHOLDER))
    return i18n.join("\n", lines)


def settings_of(preset: Preset) -> list[str]:
    """The settings a preset gives, as the status message says them (only those it gives)."""
    words: list[str] = []
    if preset.duration is not None:
        words.append(SECONDS.format(n=preset.duration))
    if preset.resolution is not None:
        words.append(preset.resolution)
    if preset.prompt_optimizer is False:
        words.append(WORD_OPTIMIZER_OFF)
    if preset.fast_pretreatment:
        words.append(WORD_FAST)
    return words


async def _use(core: CoreParts, req: CommandRequest, name: str | None, shared: bool) -> str:
    if name is not None and name.lower() == OFF:
        await core.store.set_default_preset(req.platform, req.workspace_id, req.user_id, None)
        return say.PRESET_DEFAULT_OFF
    name = check_name(name)
    if await core.store.find_preset(req.platform, req.workspace_id, req.user_id, name) is None:
        raise InvalidRequest(say.PRESET_UNKNOWN.format(name=shown(name)))
    await core.store.set_default_preset(req.platform, req.workspace_id, req.user_id, name)
    return say.PRESET_DEFAULT_SET.format(name=shown(name))


async def _delete(core: CoreParts, req: CommandRequest, name: str | None, shared: bool) -> str:
    name = check_name(name)
    by = f"{req.platform}:{req.user_id}"
    if not shared and await core.store.delete_preset(req.platform, req.workspace_id, req.user_id, name, by=by):
        return say.PRESET_DELETED_OWN.format(name=shown(name))
    found = await core.store.find_preset(req.platform, req.workspace_id, WORKSPACE, name)
    if found is None or not found.shared:
        raise InvalidRequest(say.PRESET_UNKNOWN.format(name=shown(name)))
    if not req.is_admin:
        raise InvalidRequest(say.PRESET_ADMINS_ONLY)
    await core.store.delete_preset(req.platform, req.workspace_id, WORKSPACE, name, by=by)
    return say.PRESET_DELETED_WORKSPACE.format(name=shown(name))
