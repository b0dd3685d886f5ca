"""Pure translation between Discord interaction data and the core's neutral values, and embeds out."""

from __future__ import annotations

from typing import Any

import discord

from adapters.discord.safe import discord_text, member
from bot import camera, messages
from bot.commands import CommandRequest
from bot.days import human_duration
from bot.i18n import first_locale, render
from bot.messages.eta import LABEL_TIME_LEFT
from bot.ports import AttachmentRef, StatusView

PLATFORM = "discord"
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
REGENERATE_ID = "hailuo:regen:{job}"
ANIMATE_MODAL_ID = "hailuo:animate:{channel}:{message}"
# The permissions the bot asks for in its invite, and why (see the README).
PERMISSIONS = {
    "view_channel": 1 << 10,  # see the channel a command came from
    "send_messages": 1 << 11,  # status messages and results
    "embed_links": 1 << 14,  # the status embed
    "attach_files": 1 << 15,  # the MP4
    "read_message_history": 1 << 16,  # find an earlier post after a restart; Animate image
    "create_public_threads": 1 << 35,  # one thread per job
    "send_messages_in_threads": 1 << 38,  # post the result into it
}
PERMISSIONS_INTEGER = sum(PERMISSIONS.values())


def options(data: dict[str, Any]) -> dict[str, Any]:
    """A slash command's options by name; an attachment option is replaced by its resolved object."""
    resolved = (data.get("resolved") or {}).get("attachments") or {}
    values: dict[str, Any] = {}
    for option in data.get("options") or []:
        value = option.get("value")
        values[option["name"]] = resolved.get(str(value), value) if option.get("type") == 11 else value
    return values


def attachment(raw: dict[str, Any]) -> AttachmentRef:
    """A Discord attachment object as a neutral reference."""
    return AttachmentRef(url=raw.get("url") or raw.get("proxy_url") or "", filename=raw.get("filename", ""),
                         content_type=raw.get("content_type") or "", size=raw.get("size"), file_id=str(raw.get("id")))


def is_admin(permissions: int) -> bool:
    """Manage Server or Administrator: who may regenerate anyone's video."""
    return bool(permissions & (MANAGE_GUILD | ADMINISTRATOR))


def locale_of(payload: dict[str, Any]) -> str | None:
    """The member's language (the interaction's `locale`), if the bot speaks it."""
    return first_locale(payload.get("locale"))


def server_locale_of(payload: dict[str, Any]) -> str | None:
    """The server's language (`guild_locale`), if the bot speaks it: used after the admins' default."""
    return first_locale(payload.get("guild_locale"))


def video_request(data: dict[str, Any], *, guild_id: str, channel_id: str, user_id: str, user_name: str,
                  upload_limit: int | None, permissions: int = 0, locale: str | None = None,
                  server_locale: str | None = None) -> CommandRequest:
    """`/video` as a request."""
    opts = options(data)
    image = opts.get("image")
    return CommandRequest(
        platform=PLATFORM, workspace_id=guild_id, channel_id=channel_id, user_id=user_id, user_name=user_name,
        command="video", prompt=opts.get("prompt"), duration=opts.get("duration"), resolution=opts.get("resolution"),
        prompt_optimizer=opts.get("prompt_optimizer"), fast_pretreatment=opts.get("fast_pretreatment"),
        model=opts.get("model"), camera=tuple(camera.split(opts.get("camera") or "")),
        attachments=(attachment(image),) if isinstance(image, dict) else (), upload_limit=upload_limit,
        is_admin=is_admin(permissions), locale=locale, server_locale=server_locale, preset=opts.get("preset"),
    )


def simple_request(command: str, *, guild_id: str, channel_id: str, user_id: str, **extra: Any) -> CommandRequest:
    """Quota, history, regenerate and the like."""
    return CommandRequest(platform=PLATFORM, workspace_id=guild_id, channel_id=channel_id, user_id=user_id,
                          command=command, **extra)


ADMIN_ACTIONS = {
    "quota-show": "Show quota (a user's, or the server's)",
    "quota-set": "Set daily credits (a user's, or the server's)",
    "block": "Block a user",
    "unblock": "Unblock a user",
    "channels": "List the channels where videos are allowed",
    "channel-allow": "Allow videos in a channel",
    "channel-remove": "Remove a channel from the allow-list",
    "usage": "Usage and spend",
    "log": "Recent admin changes",
    "language": "Show or set the server's default language",
    "budget": "Show or set the server's daily spending limit (US dollars)",
    "budget-off": "Remove the server's own daily spending limit",
}


def admin_args(data: dict[str, Any]) -> tuple[str, ...]:
    """`/video-admin` options as the core's admin arguments."""
    o = options(data)
    action, user, channel = o.get("action", ""), o.get("user"), o.get("channel")
    with_user = (str(user),) if user else ()
    if action == "quota-show":
        return ("quota", *with_user)
    if action == "quota-set":
        return ("quota", "set", str(o.get("credits", "")), *with_user)
    if action in ("block", "unblock"):
        return (action, *with_user)
    if action in ("channel-allow", "channel-remove"):
        return ("channels", action.split("-")[1], *((str(channel),) if channel else ()))
    if action == "usage":
        return ("usage", *((str(o["days"]),) if o.get("days") else ()))
    if action == "language":
        return ("language", *((str(o["language"]),) if o.get("language") else ()))
    if action == "budget":  # a number Discord checked (0 or more); `off` has an action of its own
        return ("budget", *((str(o["dollars"]),) if o.get("dollars") is not None else ()))
    if action == "budget-off":
        return ("budget", "off")
    return (action,)


def render_text(text: str) -> str:
    """The core's words in Discord's syntax: its mentions real, a member's text escaped (adapters.discord.safe)."""
    return discord_text(text)


def status_embed(view: StatusView) -> discord.Embed:
    """A job's status as an embed, in the requester's language (the prompt as they wrote it)."""
    def say(text: str) -> str:
        return render(text, view.locale)

    colour = {"delivered": 0x2ECC71, "failed": 0xE74C3C, "expired": 0xE67E22,
              "cancelled": 0x95A5A6}.get(view.status, 0x5865F2)
    # The prompt is the member's own text: its markdown escaped, so a masked link in it shows as typed.
    prompt = member(view.prompt[:3900]) if view.prompt else f"*{say(messages.ANIMATE_THE_IMAGE)}*"
    embed = discord.Embed(title=view.status_label, description=prompt[:4000], colour=colour)
    embed.add_field(name=say(messages.LABEL_SETTINGS), value=view.settings)
    embed.add_field(name=say(messages.LABEL_ELAPSED), value=say(human_duration(view.elapsed_seconds)))
    if view.queue_position:
        embed.add_field(name=say(messages.LABEL_PLACE), value=f"#{view.queue_position}")
    if view.time_left:
        embed.add_field(name=say(LABEL_TIME_LEFT), value=view.time_left)
    credits = f"{view.cost}" + (f" ({say(messages.LEFT_TODAY.format(n=view.credits_left))})"
                                if view.credits_left is not None else "")
    embed.add_field(name=say(messages.LABEL_CREDITS), value=credits)
    if view.error:
        embed.add_field(name=say(messages.LABEL_WHY), value=view.error[:1000], inline=False)
    embed.set_footer(text=say(messages.JOB_FOOTER.format(job=view.job_id)))
    return embed
