"""Cancel on Discord: the button on a job's status message, and `/video-cancel job`, both answered privately."""

from __future__ import annotations

from typing import Any, Protocol

import discord
from discord import app_commands

from bot import messages
from bot.i18n import render
from bot.ports import StatusView


class DiscordAdapter(Protocol):
    """What Cancel needs of adapters.discord.app.DiscordAdapter (not imported: app imports this module)."""

    def request(self, interaction: discord.Interaction, command: str, **extra: Any) -> Any: ...
    async def _private(self, interaction: discord.Interaction, req: Any) -> None: ...


CANCEL_ID = "hailuo:cancel:{job}"


class CancelButton(discord.ui.DynamicItem[discord.ui.Button], template=r"hailuo:cancel:(?P<job>[0-9a-f]{6,32})"):
    """A Cancel button that still works after a restart: the job id rides in its custom_id."""

    def __init__(self, job_id: str, locale: str | None = None) -> None:
        label = render(messages.CANCEL_BUTTON, locale)
        super().__init__(discord.ui.Button(label=label, style=discord.ButtonStyle.danger,
                                           custom_id=CANCEL_ID.format(job=job_id)))
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> CancelButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await cancel(interaction.client.adapter, interaction, self.job_id)  # type: ignore[attr-defined]


def status_buttons(view: StatusView) -> discord.ui.View | None:
    """The status message's components: Cancel while the job can still be called off, none once it cannot."""
    if not view.cancellable:
        return None  # an edit with no view takes the button away
    buttons = discord.ui.View(timeout=None)
    buttons.add_item(CancelButton(view.job_id, view.locale))
    return buttons


def with_buttons(view: StatusView) -> dict[str, Any]:
    """Keyword arguments for the first post of a status message (where `view=None` is not accepted)."""
    buttons = status_buttons(view)
    return {} if buttons is None else {"view": buttons}


async def cancel(adapter: DiscordAdapter, interaction: discord.Interaction, job_id: str) -> None:
    """Ask the core to cancel a job for whoever is behind the interaction; the answer is private.

    Admin rights are the platform's own (Manage Server or Administrator), as for Regenerate.
    """
    await adapter._private(interaction, adapter.request(interaction, "cancel", job_id=job_id.strip()))


def register_cancel(adapter: DiscordAdapter, tree: app_commands.CommandTree) -> None:
    """Add `/video-cancel` to the tree (from the adapter's `register`)."""

    @tree.command(name="video-cancel", description="Cancel one of your videos (admins: anyone's)")
    @app_commands.describe(job="The job id, from the video's status message")
    async def video_cancel(interaction: discord.Interaction, job: app_commands.Range[str, 1, 32]) -> None:
        await cancel(adapter, interaction, job)
