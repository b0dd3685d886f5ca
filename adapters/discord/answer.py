"""How one Discord interaction is answered: publicly at once when the core is quick, privately when it waits."""

from __future__ import annotations

import asyncio
import logging

import discord

from adapters.discord.cancel import with_buttons
from adapters.discord.port import status_ref
from adapters.discord.translate import render_text, status_embed
from bot import messages
from bot.i18n import render
from bot.ports import StatusPlace, StatusView

log = logging.getLogger(__name__)

DEFER_AFTER = 2.0  # seconds without an answer before deferring: Discord waits 3 s for the first one


class InteractionAnswer:
    """The core's StatusOpener for one interaction, and the one place its first answer is chosen.

    Discord fixes a deferred answer's visibility at the defer: the first follow-up resolves the
    "thinking" message and keeps it. So the bot defers only privately (before slow work, or when the
    core is slow), where a refusal may still follow; a job accepted after that gets its public status
    message as a second, public follow-up.
    """

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction
        self._lock = asyncio.Lock()

    async def busy(self) -> None:
        """Defer privately, unless the interaction is already answered."""
        async with self._lock:
            if not self.interaction.response.is_done():
                await self.interaction.response.defer(ephemeral=True, thinking=True)

    async def open(self, text: str, view: StatusView) -> StatusPlace | None:
        """Post the public status message and open the job's thread from it."""
        interaction = self.interaction
        async with self._lock:
            try:
                if not interaction.response.is_done():
                    await interaction.response.send_message(embed=status_embed(view), **with_buttons(view))
                    message: discord.Message = await interaction.original_response()
                else:
                    await interaction.edit_original_response(content=render_text(text))
                    message = await interaction.followup.send(embed=status_embed(view), wait=True, **with_buttons(view))
            except discord.HTTPException as exc:
                # The job is accepted and will be delivered in the channel all the same.
                log.warning("job %s: could not show the status (%s)", view.job_id, exc.code)
                return None
        thread_id = None
        channel = interaction.channel
        if channel is not None and not isinstance(channel, discord.Thread):
            try:
                # Through the channel: a follow-up's message object carries no guild to make a thread with.
                anchor = channel.get_partial_message(message.id)  # type: ignore[union-attr]
                name = view.prompt or render(messages.ANIMATED_IMAGE, view.locale).strip("()（）")
                thread = await anchor.create_thread(name=name[:90],
                                                    auto_archive_duration=1440)
                thread_id = str(thread.id)
            except discord.HTTPException as exc:
                log.warning("job %s: no thread (%s); the result goes to the channel", view.job_id, exc.code)
        return StatusPlace(status_ref(str(interaction.channel_id), str(message.id)), thread_id)

    async def refuse(self, text: str) -> None:
        """Tell only the member who asked: a private message, or the private "thinking" resolved with it."""
        async with self._lock:
            if not self.interaction.response.is_done():
                await self.interaction.response.send_message(render_text(text)[:2000], ephemeral=True)
            else:
                await self.interaction.edit_original_response(content=render_text(text)[:2000])
