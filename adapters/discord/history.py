"""History on Discord: `/video-history` with a link to each post and a "Post again" button, and `/video-repost`."""

from __future__ import annotations

from typing import Any, Protocol

import discord
from discord import app_commands

from adapters.discord.translate import render_text
from bot.commands import Reply
from bot.i18n import render
from bot.messages import history as words

REPOST_ID = "hailuo:repost:{job}"
LIMIT = 2000  # characters of message content


class DiscordAdapter(Protocol):
    """What history needs of adapters.discord.app.DiscordAdapter (not imported: app imports this module)."""

    ctx: Any

    def request(self, interaction: discord.Interaction, command: str, **extra: Any) -> Any: ...
    async def _private(self, interaction: discord.Interaction, req: Any) -> None: ...


class RepostButton(discord.ui.DynamicItem[discord.ui.Button], template=r"hailuo:repost:(?P<job>[0-9a-f]{6,32})"):
    """"Post again" under a history answer; it works after a restart too: the job id rides in its custom_id."""

    def __init__(self, job_id: str, locale: str | None = None) -> None:
        super().__init__(discord.ui.Button(label=render(words.REPOST_BUTTON.format(job=job_id), locale),
                                           style=discord.ButtonStyle.secondary, custom_id=REPOST_ID.format(job=job_id)))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> RepostButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await repost(interaction.client.adapter, interaction, self.job_id)  # type: ignore[attr-defined]


def history_buttons(reply: Reply, locale: str | None) -> dict[str, Any]:
    """Keyword arguments adding one "Post again" button per delivered video still kept (none: no view)."""
    if not reply.reposts:
        return {}
    buttons = discord.ui.View(timeout=None)
    for job_id in reply.reposts[:25]:  # 5 rows of 5 buttons at most
        buttons.add_item(RepostButton(job_id, locale))
    return {"view": buttons}


def fit(text: str) -> str:
    """Message content within Discord's 2000 characters, cut at a line's end rather than inside a link."""
    if len(text) <= LIMIT:
        return text
    cut = text.rfind("\n", 0, LIMIT)
    return text[:cut] if cut > 0 else text[:LIMIT]


async def repost(adapter: DiscordAdapter, interaction: discord.Interaction, job_id: str) -> None:
    """Post a delivered video again in the channel asked from, uncharged; the answer is private."""
    await adapter._private(interaction, adapter.request(interaction, "repost", job_id=job_id.strip()))


def register_history(adapter: DiscordAdapter, tree: app_commands.CommandTree) -> None:
    """Add `/video-history` and `/video-repost` to the tree (from the adapter's `register`)."""

    @tree.command(name="video-history", description="Your recent videos")
    async def video_history(interaction: discord.Interaction) -> None:
        req = adapter.request(interaction, "history")
        await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await adapter.ctx.core.handle(req)
        await interaction.edit_original_response(content=fit(render_text(reply.text)),
                                                  **history_buttons(reply, req.locale or req.server_locale))

    @tree.command(name="video-repost", description="Post one of your videos again in this channel (admins: anyone's)")
    @app_commands.describe(job="The job id, from /video-history")
    async def video_repost(interaction: discord.Interaction, job: app_commands.Range[str, 1, 32]) -> None:
        await repost(adapter, interaction, job)
